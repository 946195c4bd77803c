# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Ask for a digit: conditional generation, on MNIST and CIFAR-10
#
# Every model so far draws *some* image: you cannot ask the VAE of 01 for a 7 or the GAN of 04 for a ship. The
# data comes with its labels, and nothing stops us from telling the networks the class. A **conditional** model
# learns $p(x\mid y)$, one distribution per class, and draws from the one you name.
#
# **Learning objectives.** In this notebook you will
#
# 1. see what changes in the VAE's bound and in the GAN's game when both networks are told the class $y$,
# 2. write the function that gives the discriminator the class, **the class as image channels**, checked against
#    known cases, and train a conditional GAN with it,
# 3. read samples on a grid of class by noise, and walk from one class to another at fixed noise,
# 4. measure whether conditioning helps: fd, recognised share and classes against the unconditional model of the
#    same setting, and a new measure, the **class accuracy**, with its confusion matrix,
# 5. pick a class in a widget and see it drawn.
#
# **Time.** With the default parameters the notebook runs in a few minutes on a laptop CPU: the long trainings
# come from the shipped references (each figure says so), and you train your own conditional GAN for
# `own_minutes` beside them. `use_reference = False` trains the full run of `model` anywhere (an hour or more on a
# CPU).

# %% tags=["parameters"]
from typing import Optional

dataset: str = "mnist"  # mnist or cifar10: the dataset of the main sections (section 8 shows the other one)
model: str = "cgan"  # the conditional model you train: cgan (the class to both GAN networks) or cvae
latent_dim: int = 64  # size of z; the shipped cVAE on MNIST uses 2, the others 64
epochs: int = 20  # passes over the training split
batch_size: Optional[int] = None  # None: the seed study's (64 for the GAN, 128 for the VAE)
lr: Optional[float] = None  # Adam learning rate; None: the family paper's (DCGAN's 2e-4; 1e-3 for the VAE)
seed: int = 0  # the same seed gives the same numbers
subset: Optional[int] = None  # None: the whole training split; 4096 for a quick run
data_root: Optional[str] = None  # folder holding the datasets; None: $GENCORE_DATA, else a download cache
device: str = "auto"  # auto (CUDA, then MPS, then CPU), cpu, cuda or mps
width: int = 64  # base channel count (DCGAN's 64); the VAE's hidden sizes are 8, 4, 2 times it
precision: str = "fp32"  # fp32, bf16, or auto: bf16 only where the hardware has it and a probe measures it faster
time_budget: Optional[float] = None  # minutes; training stops cleanly, saved, when they are spent
runs_dir: str = "runs"  # finished runs are kept here and loaded, never trained twice
use_reference: Optional[bool] = None  # None: the shipped reference without a GPU, training on one; True or False to choose
own_minutes: float = 2.0  # beside the shipped reference: minutes of your own training at the cpu-fast settings (0: none)
exercise_epochs: int = 1  # epochs of the small conditional GAN run that uses your own function
exercise_subset: int = 4096  # training images of that run
measure: bool = True  # measure sample quality (fd, class accuracy) with the shipped classifier
eval_samples: int = 10000  # generated images per quality measurement
result_json: Optional[str] = None  # a file for this run's numbers (python -m gencore sweep sets it)

# %%
# %matplotlib inline
import torch
from IPython.display import display

from gencore import course
from gencore.course import conditional
from gencore.course.exercises import check
from gencore.engine.config import TrainConfig
from gencore.engine.datasets import get_dataset
from gencore.engine.families import get_family

family = get_family(model)
if model not in ("cgan", "cvae"):  # the two conditional families this notebook teaches (the DDPM has its own)
    raise ValueError(f"model must be cgan or cvae, not {model!r}")
config = TrainConfig(model=model, dataset=dataset, latent_dim=latent_dim, epochs=epochs, batch_size=batch_size,
                     lr=family.paper_settings.lr if lr is None else lr, seed=seed, subset=subset, data_root=data_root,
                     device=device, width=width, precision=precision, time_budget=time_budget)
classes = get_dataset(dataset).classes
print(config)
print("classes:", ", ".join(name if name == str(k) else f"{k} {name}" for k, name in enumerate(classes)))

# %% [markdown]
# ## 1. What changes when both sides see the class
#
# **The conditional VAE** (Sohn et al. 2015). The VAE of 01 bounds $\log p(x)$. Give the class to the encoder and
# to the decoder, and the same steps bound $\log p(x\mid y)$:
#
# $$\log p(x\mid y)\;\ge\;\mathbb E_{q(z\mid x,y)}\big[\log p(x\mid z,y)\big]-\mathrm{KL}\big(q(z\mid x,y)\,\|\,\mathcal N(0,I)\big).$$
#
# The prior stays $\mathcal N(0,I)$, as in Kingma et al.'s model M2 (Sohn et al. also learn a prior $p(z\mid y)$; the
# kit keeps the VAE's). The loss is the VAE's, term for term: summed squared error plus KL. What changes is what $z$
# has to carry. The
# decoder is told the class, so the KL term, which charges for every nat $z$ holds, leaves the class out of $z$:
# what remains for $z$ is what the label does not say, a digit's slant, thickness and size.
#
# The network is the seed's MLP with one-hot class vectors beside its inputs: the encoder reads
# $[x, \text{one\_hot}(y)]$, the decoder $[z, \text{one\_hot}(y)]$.

# %%
from gencore.engine.families.cvae import cvae_step
from gencore.engine.models.conditional import ConditionalGenerator, ConditionalVAE

display(course.show(ConditionalVAE.encode), course.show(ConditionalVAE.decode), course.show(cvae_step))

# %% [markdown]
# **The conditional GAN** (Mirza and Osindero 2014). Both players see the class. The generator draws $G(z,y)$ for
# the class it is given, and the discriminator judges **pairs**: is this image, *with this class*, a real one?
#
# $$\min_G\max_D\;\mathbb E_{(x,y)\sim p_\text{data}}\big[\log D(x,y)\big]+\mathbb E_{z,\,y}\big[\log\big(1-D(G(z,y),y)\big)\big].$$
#
# The generator is asked for the classes of each real batch, so the class mix of the fakes is the data's, $p(y)$.
# Then, class by class, the game is 03's game between $p_\text{data}(x\mid y)$ and $p_g(x\mid y)$, and its optimum is
# $p_g(x\mid y)=p_\text{data}(x\mid y)$ for every class. As in 03, the generator is trained on the non-saturating
# loss $-\log D(G(z,y),y)$, not on the game's $\log(1-D(G(z,y),y))$. A generator that draws a fine 3 when asked for an 8 makes a
# pair no real data holds, and the discriminator can learn to reject it: that is what pushes the generator to draw
# the class it is asked for, not just any digit.
#
# The generator reads $[z,\text{one\_hot}(y)]$: DCGAN's generator of 03, its first layer $K$ inputs wider. The
# discriminator is DCGAN's discriminator with $K$ more input channels, one per class, and it is your turn to build
# what it reads.

# %%
course.show(ConditionalGenerator)

# %% [markdown]
# ### Exercise: the class as image channels
#
# A convolution sees a neighbourhood of pixels, so the class has to be in every pixel for every filter to use it.
# Write `with_class_channels(images, labels, classes)`: images $(B, C, H, W)$ and labels $(B,)$ to a tensor
# $(B, C+K, H, W)$ whose first $C$ channels are the images and whose channel $C+y$ is all ones for an image of class
# $y$, the other $K-1$ class channels zeros. `torch.nn.functional.one_hot(labels, classes)` gives $(B, K)$;
# `[:, :, None, None]` and `.expand(B, K, H, W)` stretch it over the pixels; `torch.cat(..., dim=1)` joins channels.

# %% tags=["solution"]
def with_class_channels(images: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """(B, C, H, W) images and (B,) labels -> (B, C + K, H, W): the images, then channel C + y all ones."""
    b, _, h, w = images.shape
    maps = torch.nn.functional.one_hot(labels, classes).to(images.dtype)  # (B, K)
    maps = maps[:, :, None, None].expand(b, classes, h, w)  # (B, K, H, W): each class value over every pixel
    return torch.cat([images, maps], dim=1)


# %%
with_class_channels = check("with_class_channels", with_class_channels)

# %% [markdown]
# gencore's version, and the conditional GAN's step that calls it (compare with 03's `gan_step`: the class appears
# in three places, nothing else changes):

# %%
from gencore.engine.families.cgan import cgan_step
from gencore.engine.models.conditional import with_class_channels as gencores_with_class_channels

display(course.show(gencores_with_class_channels), course.show(cgan_step))

# %% [markdown]
# ## 2. Train a conditional GAN with your function
#
# A small run whose step pairs each image with its class through *your* `with_class_channels`: one epoch of
# `exercise_subset` images, 64 steps at the defaults. Expect the losses' tug of war of 03 and the first strokes, not
# digits yet (the shipped model below shows what minutes of training give); gencore's function, from the same
# seed, must give the same numbers. The samples are drawn for the classes in turn, 0, 1, ..., 9, 0, 1, ... in
# reading order.

# %%
exercise_config = TrainConfig(model="cgan", dataset=dataset, latent_dim=latent_dim, width=width, seed=seed,
                              data_root=data_root, device=device, precision=precision)  # the GAN's own optimiser settings
mine = course.train_with(exercise_config, {"with_class_channels": with_class_channels},
                         epochs=exercise_epochs, subset=exercise_subset)
course.own_run_figures(mine)

# %% [markdown]
# ## 3. The shipped conditional models, and yours
#
# Full trainings take longer than a notebook should, so the kit ships a conditional VAE and a conditional GAN per
# dataset, each trained **at the setting of the unconditional reference of 01-04** (the same width, latent size,
# learning rate and time), so that conditioning is the only difference. `run` below is the model of the
# parameters: the shipped reference on a CPU, or your full training.

# %%
cvae_run = course.reference_run("cvae", dataset, data_root)
cgan_run = course.reference_run("cgan", dataset, data_root)
run = course.train_or_reference(config, runs_dir, use_reference)

# %% [markdown]
# ### Samples on a grid of class by noise
#
# Each row is a class; each **column uses the same noise $z$** for every class. Read down a column to see what $z$
# holds once the class is told.

# %%
display(conditional.class_grid(cvae_run, course.label(cvae_run)), conditional.class_grid(cgan_run, course.label(cgan_run)))

# %% [markdown]
# **Question 08.1** (read a figure, 3 points). Read down one column of each grid. What does a column's $z$ keep
# across the classes in the conditional VAE, and in the conditional GAN? Use the ELBO above to explain why the
# VAE's $z$ should carry little that the label already says, and say whether anything in the GAN's loss asks the
# same of its $z$.

# %% [markdown] question="08.1" tags=["written"]
# *Your answer here: double-click this cell and write in it (a few sentences; numbers from your own run where the
# question asks for them).*

# %% [markdown]
# ### Between two classes, at fixed noise
#
# The class enters as a one-hot vector, and nothing stops us from giving a mix: $(1-t)\,\text{one\_hot}(a)+t\,
# \text{one\_hot}(b)$ for $t$ from 0 to 1, with one $z$ per row. The networks never saw such a vector in training;
# what they draw between the classes shows how they have laid them out.

# %%
# MNIST: digits that share strokes; CIFAR-10: a vehicle to an animal, where a change has most to show
pairs = [(1, 7), (3, 8), (4, 9), (0, 6)] if dataset == "mnist" else [(0, 6), (1, 7), (8, 4), (9, 3)]
display(conditional.class_walk(cvae_run, pairs, course.label(cvae_run)), conditional.class_walk(cgan_run, pairs, course.label(cgan_run)))

# %% [markdown]
# ## 4. Does conditioning help? Measured
#
# The rulers of 01-07 (fd in the shipped classifier's features, the recognised share, the classes covered), and
# one more for a model that is asked for a class: the **class accuracy**, the share of the samples drawn for
# class $c$ that the classifier assigns to $c$, over all the samples. Real test images score the classifier's own
# accuracy on them (the floor's row): a point of comparison, not a bound, since samples of easy, typical images can
# score above it. The conditional models are asked for the test split's own labels, in a seeded order, so their
# samples hold each class in the test split's proportions, as the real images fd compares them with.
#
# The shipped references, each with its unconditional twin of the same setting, as their manifest records them
# (10,000 samples each):

# %%
# NBVAL_CHECK_OUTPUT
print(conditional.conditioning_table(dataset))

# %% [markdown]
# **What it shows.** On MNIST, told the class, both models come far closer to the data than their unconditional
# twins: the cVAE reaches fd 6.88 against the VAE's 13.81 (the same 2-D latent space, width and 30 epochs), and the
# cGAN 0.96 against 5.29 for the GAN trained by the same command for the same 5 minutes on the same CPU (4 epochs
# each). The classifier recognises 0.920 of the cVAE's samples against 0.679 of the VAE's, and 0.914 of the cGAN's
# against 0.632. Asked for a digit, the cVAE draws it 0.974 of the time and the cGAN 0.926; real test images score
# 0.995. The blurred cVAE draws the digit asked for more often than the sharper cGAN: a clean average of a class is
# easy to classify, and it is fd, not the class accuracy, that says which samples look like the data. Each gap is
# many times fd's sampling noise (a standard deviation of at most 0.16 at 10,000 samples for these four models,
# `notebooks/reference/study/fd_noise.csv`); each model is one training seed, so the spread between seeds is not
# measured.
#
# The measurement of `run` (with `eval_samples` samples; fd grows as the count shrinks, so compare fd at equal
# counts) and where its samples land, class by class:

# %%
quality = course.quality(run, eval_samples, seed, data_root, measure)

# %% [markdown]
# **Question 08.2** (predict, 2 points). Before you run the next cell: which classes will the conditional model
# confuse most often, and in which direction (asked for which, drawn as which)? Say why, from what the classes look
# like.

# %% [markdown] question="08.2" tags=["written"]
# *Your answer here: double-click this cell and write in it (a few sentences; numbers from your own run where the
# question asks for them).*

# %%
if quality:
    display(conditional.confusion_figure(quality["confusion"], classes, course.label(run)))

# %% [markdown]
# ## 5. Ask for a class
#
# Choose a class (and a noise seed) and the model draws 32 samples of it.

# %%
from gencore.course.widgets import class_picker

class_picker(run)

# %% [markdown]
# ## 6. Your own run, in minutes
#
# When `run` is the shipped reference (the default on a machine without a GPU), this trains the same model yourself
# for `own_minutes` at the cpu-fast settings. Each Run All continues it for as long again.

# %%
course.short_run(config, runs_dir, own_minutes, run)

# %% [markdown]
# ## 7. The loss curves of a conditional model
#
# They read as the unconditional model's (01 for the VAE's, 03 for the GAN's): telling the class changes what the
# networks learn, not what the curves mean.

# %%
course.losses_figure(run)

# %% [markdown]
# ## 8. The other dataset
#
# The same two models, shipped for the other dataset, at the setting of its unconditional references.

# %%
other = "cifar10" if dataset == "mnist" else "mnist"
other_runs = [course.reference_run(name, other, data_root) for name in ("cvae", "cgan")]
display(*[conditional.class_grid(r, course.label(r)) for r in other_runs])

# %%
# NBVAL_CHECK_OUTPUT
print(conditional.conditioning_table(other))

# %% [markdown]
# **What it shows.** On CIFAR-10 the class helps the GAN a little and the VAE not at all. The cGAN's fd is 8.13
# against the twin GAN's 9.35 (12 and 13 epochs in the same 10 minutes), a gap well beyond fd's sampling noise
# (standard deviations 0.04 and 0.03) but from one training seed each; it draws the class asked for 0.299 of the
# time, three times chance, where real test images score 0.847. The cVAE's blurred samples stay where the VAE's are
# (fd 56.99 against 55.48): the classifier recognises 0.050 of them, and it draws the class asked for 0.159 of the
# time. A blur of a class's average colours says little of the class: a conditional model draws a class only as
# well as it draws images.

# %%
course.record(result_json, run, quality)

# %% [markdown]
# ## Key takeaways
#
# - A conditional model learns $p(x\mid y)$: the VAE's bound and the GAN's game are unchanged except that both
#   networks read the class, the decoder or generator beside $z$, the encoder or discriminator beside the image.
# - One way to give a convolutional network the class is in every pixel, $K$ constant channels; another is a vector
#   beside $z$ (the generator here), or a projection after the convolutions (Miyato and Koyama 2018).
# - The class accuracy measures what conditioning promises, that the sample is of the class asked for; real test
#   images score the classifier's own accuracy, and the confusion matrix says which classes are drawn as which.
# - Measured on the shipped models: on MNIST conditioning brought both models much closer to the data (the cGAN's fd
#   0.96 against its twin's 5.29 in the same 5 minutes); on CIFAR-10 it helped the GAN a little and the blurred VAE
#   not at all.

# %% [markdown]
# ## References
#
# The papers this notebook teaches:
#
# - Mirza, M. and Osindero, S. (2014). [Conditional Generative Adversarial Nets](https://arxiv.org/abs/1411.1784). arXiv:1411.1784.
# - Sohn, K., Lee, H. and Yan, X. (2015). [Learning Structured Output Representation using Deep Conditional Generative Models](https://papers.nips.cc/paper/2015/hash/8d55a249e6baa5c06772297520da2051-Abstract.html) (the conditional VAE). NeurIPS 2015.
# - Kingma, D. P., Rezende, D. J., Mohamed, S. and Welling, M. (2014). [Semi-Supervised Learning with Deep Generative Models](https://arxiv.org/abs/1406.5298) (the class given to a VAE's decoder, model M2). NeurIPS 2014.
# - Radford, A., Metz, L. and Chintala, S. (2016). [Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks](https://arxiv.org/abs/1511.06434) (DCGAN). ICLR 2016.
# - Miyato, T. and Koyama, M. (2018). [cGANs with Projection Discriminator](https://arxiv.org/abs/1802.05637) (a stronger way to give the discriminator the class than input channels). ICLR 2018.
