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
# # 01 · The variational autoencoder, on MNIST
#
# A variational autoencoder (VAE) learns two networks at once: an **encoder** that turns an image into a
# small cloud of latent codes, and a **decoder** that turns a code back into an image. Trained together,
# they give a generator: decode codes drawn from $\mathcal N(0, I)$ and you get new digits.
#
# **Learning objectives.** In this notebook you will
#
# 1. read the model and the loss that really train (gencore's own code, shown below, never a copy),
# 2. write the two pieces that make a VAE work, the **reparameterisation** and the **KL term**, and have
#    them checked against closed forms,
# 3. train a small model with *your* functions, then the full model (or load the shipped one),
# 4. read the loss curves, the reconstructions and the 2-D latent map, and
# 5. see what the seed study found when it compared latent sizes 2 and 64 and 20 against 100 epochs.
#
# **Time.** With the default parameters the whole notebook runs in a few minutes on a laptop CPU: without a GPU,
# the full training it describes comes from the shipped reference (every figure says so), and you train the same
# model yourself for `own_minutes` at the cpu-fast settings; on a GPU it trains the full run.
# `use_reference = False` trains the full run anywhere: the full training (20 epochs of 60,000 images) takes about
# 2 to 4 minutes on a 2-core laptop CPU.

# %% tags=["parameters"]
from typing import Optional

dataset: str = "mnist"  # mnist or cifar10 (02 is this notebook's lesson on colour images)
latent_dim: int = 2  # size of the latent code z; the seed study compares 2 and 64 on MNIST
epochs: int = 20  # passes over the training split; the seed study compares 20 and 100
batch_size: Optional[int] = None  # None: the seed study's 128
lr: Optional[float] = None  # Adam learning rate; None: the seed study's 1e-4
seed: int = 0  # the same seed gives the same numbers
subset: Optional[int] = None  # None: all 60,000 training images; 4096 for a quick run
data_root: Optional[str] = None  # folder holding the datasets; None: $GENCORE_DATA, else a download cache
device: str = "auto"  # auto (CUDA, then MPS, then CPU), cpu, cuda or mps
width: int = 64  # hidden layers of 8, 4 and 2 times this: 512, 256 and 128 units
vae_network: str = "mlp"  # mlp (the seed's) or conv: DCGAN's generator as the decoder, width its channel count (02 compares them)
precision: str = "fp32"  # the VAE trains in fp32 (bf16 is for the GAN steps)
time_budget: Optional[float] = None  # minutes; training stops cleanly, saved, when they are spent
runs_dir: str = "runs"  # finished runs are kept here and loaded, never trained twice
use_reference: Optional[bool] = None  # None: the shipped reference without a GPU, training on one; True or False to choose
own_minutes: float = 2.0  # beside the shipped reference: minutes of your own training at the cpu-fast settings (0: none)
exercise_epochs: int = 1  # epochs of the small run that trains with your own functions
exercise_subset: int = 4096  # training images of that run
variance_epochs: int = 5  # epochs of the two short runs that compare decoder variances (0: skip them)
variance_subset: int = 10000  # training images of those runs
measure: bool = True  # measure sample quality (fd) with the shipped classifier
eval_samples: int = 10000  # generated images per quality measurement
result_json: Optional[str] = None  # a file for this run's numbers (python -m gencore sweep sets it)

# %%
# %matplotlib inline
import torch
from IPython.display import display

from gencore import course
from gencore.engine import losses
from gencore.engine.config import TrainConfig
from gencore.course.exercises import check

# Everything derived from the parameters lives here, after the parameters cell, so that values
# injected by papermill are the ones used.
config = TrainConfig(model="vae", dataset=dataset, latent_dim=latent_dim, epochs=epochs, batch_size=batch_size, lr=lr,
                     seed=seed, subset=subset, data_root=data_root, device=device, width=width, precision=precision,
                     time_budget=time_budget, vae_network=vae_network)
print(config)

# %% [markdown]
# ## 1. The model
#
# The encoder maps an image $x$ to the mean $\mu$ and log-variance $\log\sigma^2$ of a Gaussian over codes,
# $q_\phi(z\mid x)=\mathcal N\big(\mu_\phi(x),\operatorname{diag}\sigma^2_\phi(x)\big)$. The decoder maps a code to
# pixel intensities $\hat x = f_\theta(z)\in[0,1]$. Here is the class the kit trains. Read the shape comment at the
# end of each layer: the image is flattened into a vector of $C\cdot H\cdot W$ numbers (784 for MNIST), squeezed
# through three hidden layers down to the latent size, and grown back the same way.

# %%
from gencore.engine.models import VAE

course.show(VAE)

# %% [markdown]
# Three details matter for what follows:
#
# * `encode` returns **two** vectors per image, `to_mean(h)` and `to_log_var(h)`. The network predicts the
#   *log*-variance, which can be any real number, so no constraint is needed to keep $\sigma^2$ positive.
# * The decoder ends in a **sigmoid**: its outputs are pixel intensities in $[0, 1]$, like the data.
# * Every size follows from the image shape, `latent_dim` and `width`; nothing says 784. Run a batch of two
#   images through the networks of this configuration and look at what each layer outputs:

# %%
# NBVAL_CHECK_OUTPUT
print(course.layers(config))

# %% [markdown]
# ## 2. What the VAE optimises
#
# We would like to maximise the likelihood $\log p_\theta(x)$ of the data, but it is an integral over all codes.
# The VAE maximises a lower bound instead, the **evidence lower bound** (ELBO):
#
# $$\log p_\theta(x)\;\ge\;\underbrace{\mathbb E_{z\sim q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big]}_{\text{reconstruction}}
# \;-\;\underbrace{\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,\mathcal N(0,I)\big)}_{\text{stay close to the prior}} .$$
#
# * The **reconstruction** term asks that a code drawn for $x$ decodes back to $x$. With a Gaussian decoder of fixed
#   variance $\sigma^2$ on $D$ pixels, $-\log p_\theta(x\mid z)=\lVert x-\hat x\rVert^2/(2\sigma^2)+\tfrac D2\log(2\pi\sigma^2)$:
#   the squared error up to a **scale** $1/(2\sigma^2)$ and a constant. The seed study's summed squared error is the
#   case $\sigma^2=1/2$. The scale is not harmless: it sets how much reconstruction weighs against the KL term. The
#   shipped VAEs end with a squared error of 0.02 to 0.04 per pixel, and a decoder variance fitted to that would
#   weigh reconstruction 12 to 25 times more than $\sigma^2=1/2$ does. At $\sigma^2=1/2$ the KL term weighs that much
#   more against the reconstruction, so the codes carry less about each image (section 4 measures it).
# * The **KL** term pulls each image's cloud of codes towards the prior $\mathcal N(0, I)$, the distribution we will
#   sample from to generate. Without it, the encoder could put every image at its own isolated point, and codes
#   drawn from the prior would decode to nothing in particular.
#
# The loss to minimise is the negative ELBO: summed squared error plus KL.
#
# ### Exercise 1: the reparameterisation trick
#
# Training needs a code $z\sim q_\phi(z\mid x)$ for each image, and gradients of the loss with respect to $\mu$ and
# $\log\sigma^2$. Sampling is not differentiable, but this is: draw the noise first, then move and stretch it,
#
# $$z=\mu+\varepsilon\odot\exp\big(\tfrac12\log\sigma^2\big),\qquad \varepsilon\sim\mathcal N(0,I).$$
#
# $z$ has the right distribution, and it is a smooth function of $\mu$ and $\log\sigma^2$, so gradients flow
# through it into the encoder. Write it below. Use `torch.randn_like(mean)` for $\varepsilon$ (it draws from
# torch's seeded generator, so seeded runs repeat), and remember that $\exp(\frac12\log\sigma^2)=\sigma$.

# %% tags=["solution"]
def reparameterize(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """A draw z ~ N(mean, exp(log_var)) per row, differentiable in mean and log_var."""
    eps = torch.randn_like(mean)  # the randomness, drawn first: (B, latent) ~ N(0, I)
    return mean + eps * torch.exp(0.5 * log_var)  # exp(log_var / 2) is the standard deviation sigma


# %% [markdown]
# The check runs your function on cases whose answers are known in closed form and says which one fails,
# with the value it expected and the value it got. Until you have written your function it says so, and the
# rest of the notebook uses gencore's.

# %%
reparameterize = check("reparameterize", reparameterize)

# %% [markdown]
# ### Exercise 2: the KL term
#
# For a diagonal Gaussian against the standard normal the KL divergence has a closed form
# (Kingma & Welling 2014, Appendix B), a sum over the latent dimensions $j$:
#
# $$\mathrm{KL}\big(\mathcal N(\mu,\sigma^2)\,\|\,\mathcal N(0,1)\big)=-\tfrac12\sum_j\big(1+\log\sigma_j^2-\mu_j^2-\sigma_j^2\big).$$
#
# It is 0 exactly when $\mu=0$ and $\sigma=1$, and grows as the cloud of codes moves away from the origin
# ($\mu_j^2$) or shrinks or swells ($\sigma_j^2-1-\log\sigma_j^2\ge 0$). Write it, **summed** over the latent
# dimensions *and* over the batch, as the seed study's loss is a sum.

# %% tags=["solution"]
def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)), summed over latent dimensions and batch."""
    return -0.5 * torch.sum(1.0 + log_var - mean.pow(2) - log_var.exp())


# %%
kl_divergence = check("kl_divergence", kl_divergence)

# %% [markdown]
# ## 3. The loss and the training step
#
# gencore's own versions of your two functions are `VAE.reparameterize` and `losses.kl_divergence`. The loss adds
# the summed squared error:

# %%
display(course.show(losses.kl_divergence), course.show(losses.vae_loss))

# %% [markdown]
# And this is the step that trains, one batch at a time. Read it line by line:
#
# 1. `vae.encode(x)` gives the mean and log-variance of $q(z\mid x)$ for every image of the batch.
# 2. `parts["reparameterize"]` draws one code per image: your function, or gencore's.
# 3. `vae.decode(z)` turns the codes into reconstructions in $[0,1]$.
# 4. `losses.vae_loss` adds the summed squared error and `parts["kl_divergence"]`: the negative ELBO of the batch.
# 5. `zero_grad`, `backward`, `step`: one Adam update of encoder and decoder together.
# 6. The returned numbers are per image (the loss is a batch sum), for the history and the plots.
#
# `parts` is how a learner's function takes the place of gencore's: the trainer accepts
# `overrides={"reparameterize": ..., "kl_divergence": ...}` and the step calls whatever it was given.

# %%
from gencore.engine.families.vae import vae_step

course.show(vae_step)

# %% [markdown]
# ## 4. Train with your own functions
#
# A small run (`exercise_epochs` epochs on `exercise_subset` images, at Adam's usual learning rate 1e-3, ten times the
# seed's; Kingma and Welling trained with Adagrad) whose
# step calls *your* `reparameterize` and `kl_divergence`. If they are right, the squared error falls steeply within
# a few dozen steps, the samples turn from grey noise into blurred digit shapes, and gencore's own functions,
# trained from the same seed, give the same numbers. (The KL may jump and fall back early on: the encoder starts
# to use the latent space, then the KL term pulls it back. A longer run settles it.)

# %%
mine = course.train_with(config, {"reparameterize": reparameterize, "kl_divergence": kl_divergence},
                         epochs=exercise_epochs, subset=exercise_subset)
course.own_run_figures(mine)

# %% [markdown]
# **Question 01.1** (predict, 2 points). Answer before you read on or run the cells below. The next section trains
# the same small VAE twice: at the seed's decoder variance $\sigma^2=\frac12$, and at $\sigma^2=0.02$, where the
# squared error weighs 25 times more against the KL term. For the run at $\sigma^2=0.02$, predict whether each of
# these goes up or down, with a sentence each on why: the KL per image, the squared error per pixel, and how many of
# the 16 latent dimensions are in use.

# %% [markdown] question="01.1" tags=["written"]
# *Your answer here: double-click this cell and write in it (a few sentences; numbers from your own run where the
# question asks for them).*

# %% [markdown]
# ### The decoder variance is a knob
#
# Section 2 said the squared error is the Gaussian decoder's likelihood at a fixed variance $\sigma^2$, and that the
# seed's loss is the case $\sigma^2=\frac12$. `TrainConfig(decoder_variance=...)` turns that knob: the step then
# descends on $\lVert x-\hat x\rVert^2/(2\sigma^2)+\mathrm{KL}$. The cell below trains the same small VAE (latent 16,
# `variance_epochs` epochs on `variance_subset` images) twice: at the seed's $\sigma^2=\frac12$ and at
# $\sigma^2=0.02$, about the squared error per pixel that a trained MNIST VAE reaches, so about what fitting the
# variance to the errors would choose. It prints, for each, the test squared error per pixel, the KL per image
# (how much the codes say about the image) and how many of the 16 latent dimensions carry more than 0.01 nats.

# %%
from gencore.course import lessons

if variance_epochs > 0:
    variance_figure, variance_runs = lessons.decoder_variance_runs(config, (0.5, lessons.FITTED_VARIANCE), runs_dir,
                                                                   variance_epochs, variance_subset)
    for r in variance_runs:
        print(f"sigma^2 = {r['variance']:<5g} squared error {r['mse_per_pixel']:.4f} per pixel, KL {r['kl_nats']:5.1f} nats "
              f"per image, {r['active']} of {lessons.VARIANCE_LATENT} latent dimensions above {lessons.KL_ACTIVE_NATS} nats")
    display(variance_figure)

# %% [markdown]
# **Question 01.2** (trade-off, 3 points). Compare the two rows just printed with your prediction in 01.1. Then
# explain the trade-off: what a smaller decoder variance buys (in the reconstructions, and in what the codes carry
# about each image) and what it costs (in the samples drawn from the prior), and why. Which $\sigma^2$ would you
# choose for a model whose job is to generate new digits, and which for one whose job is to compress and reconstruct
# them?

# %% [markdown] question="01.2" tags=["written"]
# *Your answer here: double-click this cell and write in it (a few sentences; numbers from your own run where the
# question asks for them).*

# %% [markdown]
# **Reading it.** With the reconstruction weighed 25 times more, the encoder can afford to put information in the
# codes: the KL grows several-fold, the squared error falls, and the reconstructions keep more of each digit's
# shape. The price shows in the samples from the prior: codes that say more about each image no longer fill the
# prior evenly, and a short run's samples can be worse than its reconstructions suggest. That trade, the weight of
# the KL term against the reconstruction, is what $\sigma^2$ sets; 02 measures what the seed's $\sigma^2=\frac12$
# does to the CIFAR-10 VAE.

# %% [markdown]
# ## 5. The data
#
# The whole training split is held in memory as 8-bit images and scaled to $[0,1]$ batch by batch, the range of
# the decoder's sigmoid.

# %%
# NBVAL_CHECK_OUTPUT
train_data = course.training_data(config)

# %%
course.real_images(train_data)

# %% [markdown]
# ## 6. Train the full model, or load the shipped one
#
# `train_or_reference` trains into `runs/<run folder>` with a progress bar (images per second and time left),
# saving a checkpoint after every epoch. A finished run with the same settings is loaded, never trained
# twice; an unfinished one resumes. Interrupt the kernel to stop cleanly: the current step finishes and
# everything is saved. With `use_reference = True` (the default's choice on a machine without a GPU) it loads
# the model shipped with the kit instead, and every figure below says so in its title.

# %%
run = course.train_or_reference(config, runs_dir, use_reference)

# %% [markdown]
# **Your own run, in minutes.** When the run above is the shipped reference (the default on a machine without a
# GPU), this trains the same model yourself for `own_minutes` at the cpu-fast settings (narrower networks, faster
# learning rates): its loss curves, and its samples at the end. Each Run All continues it for as long again.

# %%
course.short_run(config, runs_dir, own_minutes, run)

# %% [markdown]
# ### Loss curves
#
# **What to look for.** The squared error falls fast, then slowly. The KL *rises* at first: an untrained encoder
# puts every image near the prior (KL near 0, and useless codes); as it learns to use the latent space, the codes
# of different digits move apart and the KL grows, paid for by much better reconstructions. Train and test curves
# close together mean the model is not overfitting. The total is the negative ELBO per image, up to the constant
# of the Gaussian likelihood.

# %%
course.losses_figure(run)

# %% [markdown]
# ### Generated images beside real ones
#
# The same fixed latent points are decoded every time, so runs can be compared image by image.

# %%
course.figure(run, "real_vs_generated")

# %% [markdown]
# ### Reconstructions
#
# Test images (odd rows) and the decoder's output for the mean of their posterior (even rows). Two latent
# dimensions cannot hold much: the reconstructions keep the digit's identity and slant but lose its details.

# %%
course.figure(run, "reconstructions")

# %% [markdown]
# ### The latent map
#
# With `latent_dim = 2` the whole latent space is a plane, and we can decode a grid of points on it. The map shows
# how the model arranges the digits: similar digits sit next to each other, and walking across the plane morphs one
# digit into another. Points far from the origin (beyond about 2.5) are rarely drawn from the prior.

# %%
if run.config.latent_dim == 2:
    display(course.figure(run, "latent_manifold"))
else:
    print(f"latent_dim is {run.config.latent_dim}: the map needs latent_dim = 2 (try it in the panel at the end).")

# %% [markdown]
# **Question 01.3** (read a figure, 2 points). In the latent map above, name two pairs of digits that sit next to
# each other, and a digit that is hard to find or squeezed into a small region. What does that layout predict about
# the digits the 2-D model's samples will confuse or miss? Check your prediction against `classes_covered` and the
# confidence in the quality measurement below, and say whether it held.

# %% [markdown] question="01.3" tags=["written"]
# *Your answer here: double-click this cell and write in it (a few sentences; numbers from your own run where the
# question asks for them).*

# %% [markdown]
# ### Walking through the latent space
#
# Rows are walks between two random latent points. We use spherical interpolation: in high dimensions Gaussian
# draws lie near a sphere, and a straight line between two of them passes well inside it (its midpoint at about
# $1/\sqrt2\approx0.71$ of the radius), where the prior rarely puts a code.

# %%
course.interpolation(run)

# %% [markdown]
# ### How good are the samples?
#
# Looking is not measuring. The kit ships a small classifier per dataset (99.5% test accuracy on MNIST) and
# compares 10,000 generated images with the real test split in that classifier's feature space:
#
# * **fd**, the Fréchet distance between Gaussians fitted to the two sets of features,
#   $\lVert\mu_r-\mu_g\rVert^2+\operatorname{tr}\big(\Sigma_r+\Sigma_g-2(\Sigma_r\Sigma_g)^{1/2}\big)$ (Heusel et al. 2017).
#   0 means the same mean and covariance; blur, noise and missing digits raise it. Compare it between runs of this
#   kit, not with published FIDs.
# * **classes_covered**: how many digits get at least 2% of the samples, counting only the samples the classifier
#   *recognises*: predicted with probability above $\frac12$, and with features inside the range that real test
#   images of that digit occupy (99% of them lie within it). A softmax is confident even far from any data: it calls
#   uniform noise a digit with probability 0.98. Without the range check noise would count as digits.
# * **confidence**: the mean top-class probability, a sample outside the real images' range counting 0; smudged,
#   ambiguous or unnatural samples lower it. **recognised**: the share of recognised samples.
#
# Each number is printed beside the **floor** `[real ...]`: 10,000 real training images (which the test split
# does not hold) measured in the same way. It is a reference, not a bound: real images are not at fd 0 against other
# real images (two finite samples differ), nor all recognised; a model can score below it (fd moves with the samples
# drawn, section 7 shows how much), and one that had memorised the training set would sit at it. Uniform noise
# scores fd 239, no class and confidence 0.
#
# For the VAE the likelihood is measured too. **bits_per_dim** bounds the test images' discrete likelihood:
# the decoder's Gaussian, with the variance that fits the test errors, integrated over each of the 256 intensity
# levels of every pixel, plus the KL, in bits per dimension (each pixel of each channel; MNIST has one channel). A
# model that spreads its probability evenly over the
# 256 levels scores 8; sharper, correct reconstructions score fewer. **neg_elbo_nats** is the bound as the seed's
# loss measures it, a continuous Gaussian of variance $\frac12$: $-\mathrm{ELBO}=\mathrm{MSE}+\mathrm{KL}+\frac D2\log\pi$.

# %%
quality = course.quality(run, eval_samples, seed, data_root, measure)

# %% [markdown]
# ## 7. What the seed study found
#
# The study this course grew from trained the VAE on the full data with latent sizes 2 and 64, for 20 and 100
# epochs, at its learning rate 1e-4 and batch 128. The kit ships that study, measured on a 2-core CPU
# (`notebooks/reference/study/`): the table, the samples of each run from the same latent points, and the loss
# curves of each latent size (the dashed line marks epoch 20, whose state is the 20-epoch row).

# %%
course.show_study("vae", "mnist")

# %% [markdown]
# **What it shows.** Three findings, each computed from the table, with the spread over seeds and fd's noise from
# sampling alone printed under it (the detail is in `docs/study.md`):
#
# * **Latent size.** With three seeds each, latent 64 beats latent 2 after 20 epochs by far more than the
#   seed-to-seed spread, which is large for the 2-D model (its three runs end between 26.61 and 32.36); the
#   likelihood agrees (6.831 ± 0.012 against 7.035 ± 0.014 bits per dimension). Two dimensions squeeze neighbouring digits into each other: the 2-D models'
#   recognised samples cover 5 or 6 of the 10 digits, the 64-D models' 8 or 9. Only the 2-D model can be drawn as a map.
# * **Epochs.** At the seed's learning rate 20 epochs are far from done: the test loss is still falling at epoch 20,
#   and each 100-epoch run ends at a quarter to a half of the fd its own seed had after 20.
# * **One seed at 100 epochs.** There is one run of each size (fd 5.00 against 14.24): the same direction as at 20
#   epochs, though one seed cannot say how far another would land.
#
# To reproduce the seed-0 rows (the two 100-epoch runs took 10 and 11 minutes, each on one core of the 2-core CPU
# that made them), and the 20-epoch rows of seeds 1 and 2:
#
#     python -m gencore study --models vae --datasets mnist --data-root ../shared/data --out results/study
#     python -m gencore study --models vae --datasets mnist --epochs 20 --seeds 1 2 --data-root ../shared/data --out results/seeds
#
# ## 8. Try it yourself
#
# Pick another latent size (2, 64, 512 or any number) and a number of epochs, then press **Train**. The loss curves
# and the samples update after every epoch; **Stop** ends cleanly after the current step and keeps what was
# learnt. Runs are listed below the plots: select several and press **Compare selected**. Under papermill or
# nbval the panel only renders: nothing trains until you click.

# %%
course.panel(config, runs_dir)

# %% [markdown]
# The last cell records this run for a sweep (`python -m gencore sweep`); it does nothing when `result_json` is None.

# %%
course.record(result_json, run, quality)

# %% [markdown]
# ## Key takeaways
#
# - The VAE maximises the ELBO: a reconstruction term minus the KL divergence of each image's codes from the prior.
#   The seed's summed squared error is a Gaussian decoder's likelihood with its variance fixed at 1/2.
# - The reparameterisation $z=\mu+\epsilon\,e^{\log\sigma^2/2}$ moves the randomness into $\epsilon$, so the
#   gradients reach the encoder's mean and log-variance.
# - The decoder variance weighs reconstruction against the KL: a smaller one lets the codes carry more about each
#   image and sharpens the reconstructions, at a price in the samples drawn from the prior.
# - A 2-D latent space can be drawn as a map, but it crowds the digits: in the shipped study latent 64 beats latent
#   2 by more than the spread between seeds.
# - Samples are measured, not judged by eye: fd, classes and confidence, each beside the floor of real images.

# %% [markdown]
# ## References
#
# The papers this notebook teaches:
#
# - Kingma, D. P. and Welling, M. (2014). [Auto-Encoding Variational Bayes](https://arxiv.org/abs/1312.6114). ICLR 2014.
# - Heusel, M. et al. (2017). [GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium](https://arxiv.org/abs/1706.08500) (the Fréchet Inception Distance). NeurIPS 2017.
