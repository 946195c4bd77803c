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
# # 04 · The GAN on colour images: instability, checkerboards and colour
#
# Notebook 03 built DCGAN, had you write its two losses and trained it on MNIST, where it works almost too well.
# CIFAR-10 is where GANs show their character. **Learning objectives:** three things, each seen and measured:
#
# 1. **Instability.** Sample quality does not improve steadily with training: it rises, falls and rises again,
#    and the losses do not tell you when. (The GAN on MNIST wavers too, 03, but its best epochs come late, 85 and 95
#    of 100; here both latent sizes are at their best at epoch 35.)
# 2. **Checkerboard artefacts.** Transposed convolutions can print a faint grid on every image; we look for it in
#    the images' frequency spectrum, and you write a number for it (**exercise**): the power at the Nyquist
#    frequency.
# 3. **Colour statistics.** A generator can get shapes roughly right and colours wrong; histograms of the three
#    channels show whether it learnt the data's palette.
#
# **Time.** With the default parameters the whole notebook runs in a few minutes on a laptop CPU: without a GPU,
# the full training it describes comes from the shipped reference (every figure says so), and you train the same
# model yourself for `own_minutes` at the cpu-fast settings; on a GPU it trains the full run.
# `use_reference = False` trains the full run anywhere: one epoch of the full CIFAR-10 takes 2 to 5 minutes on a
# 2-core laptop CPU.

# %% tags=["parameters"]
from typing import Optional

dataset: str = "cifar10"  # cifar10 or mnist
latent_dim: int = 64  # size of the noise vector z; the seed study compares 64 and 512 on CIFAR-10
epochs: int = 20  # passes over the training split; the seed study compares 20 and 100
batch_size: Optional[int] = None  # None: the seed study's 64
lr: Optional[float] = None  # Adam learning rate; None: DCGAN's 2e-4 (the seed study used 1e-4)
seed: int = 0  # the same seed gives the same numbers
subset: Optional[int] = None  # None: all 50,000 training images; 4096 for a quick run
data_root: Optional[str] = None  # folder holding the datasets; None: $GENCORE_DATA, else a download cache
device: str = "auto"  # auto (CUDA, then MPS, then CPU), cpu, cuda or mps
width: int = 64  # DCGAN's base channel count: the generator has 256, 128, 64 channels
precision: str = "fp32"  # fp32, bf16, or auto: bf16 only where the hardware has it and a probe measures it faster
time_budget: Optional[float] = None  # minutes; training stops cleanly, saved, when they are spent
runs_dir: str = "runs"  # finished runs are kept here and loaded, never trained twice
use_reference: Optional[bool] = None  # None: the shipped reference without a GPU, training on one; True or False to choose
own_minutes: float = 2.0  # beside the shipped reference: minutes of your own training at the cpu-fast settings (0: none)
measure: bool = True  # measure sample quality (fd) with the shipped classifier
eval_samples: int = 10000  # generated images per quality measurement
result_json: Optional[str] = None  # a file for this run's numbers (python -m gencore sweep sets it)

# %%
# %matplotlib inline
import torch
from IPython.display import Markdown, display

from gencore import course
from gencore.course import lessons
from gencore.course.exercises import check
from gencore.course.study_view import noise_text
from gencore.engine.config import TrainConfig
from gencore.engine.data import load_dataset, to_float
from gencore.engine.families import get_family

family = get_family("gan")
config = TrainConfig(model="gan", dataset=dataset, latent_dim=latent_dim, epochs=epochs, batch_size=batch_size,
                     lr=family.paper_settings.lr if lr is None else lr, seed=seed, subset=subset, data_root=data_root,
                     device=device, width=width, precision=precision, time_budget=time_budget)
print(config)

# %% [markdown]
# ## 1. The same networks, three channels
#
# The generator and the discriminator are 03's (read them there). For $32\times32$ images the generator starts
# from $4\times4$ feature maps and doubles them three times; its last layer outputs three channels.

# %%
# NBVAL_CHECK_OUTPUT
print(course.layers(config))

# %%
# NBVAL_CHECK_OUTPUT
train_data = course.training_data(config)

# %%
course.real_images(train_data)

# %% [markdown]
# ## 2. Train, or load the shipped model

# %%
run = course.train_or_reference(config, runs_dir, use_reference)

# %% [markdown]
# **Your own run, in minutes.** When the run above is the shipped reference (the default on a machine without a
# GPU), this trains the same model yourself for `own_minutes` at the cpu-fast settings (narrower networks, faster
# learning rates): its loss curves, and its samples at the end. Each Run All continues it for as long again.

# %%
course.short_run(config, runs_dir, own_minutes, run)

# %%
course.losses_figure(run)

# %%
course.figure(run, "real_vs_generated")

# %% [markdown]
# ## 3. Instability: quality goes up and down
#
# The kit measures sample quality every 5 epochs during training (fd on 2,000 samples). Here is that measurement
# for the shipped study's GAN runs on CIFAR-10, 100 epochs each, next to its WGAN-GP runs (notebooks 05 and 06):
# the GAN's fd does not fall steadily. Its best epochs and its worst come and go, while its losses look much
# the same throughout, and the swings are many times what sampling alone moves fd on 2,000 samples (printed under
# the table in section 7). Stopping at the last epoch is not stopping at the best one: that is why the kit keeps a
# quality curve, and why GAN papers report their best checkpoint.

# %%
histories = {}
for model_name in ("gan", "wgan-gp"):
    for latent in (64, 512):
        history = course.study_history(model_name, "cifar10", latent)
        if history:
            histories[f"{model_name.upper()}, latent {latent} (shipped study)"] = history
if run.history and any("fd" in row for row in run.history):
    histories[course.label(run)] = run.history
display(lessons.quality_over_epochs(histories, "fd every 5 epochs during training (lower is better)"))
display(Markdown(noise_text("gan", "cifar10")))  # how far fd moves from sampling alone, for scale

# %% [markdown]
# **Question 04.1** (trade-off, 3 points). From the figure, at which epoch would you have stopped the GAN at latent
# 64, and what would stopping at the last epoch have cost in fd? Keeping the best checkpoint sounds free: name what
# it costs (what must be measured during training, and how often) and one way the choice can fool you (each point is
# measured on 2,000 samples).

# %% [markdown] question="04.1" tags=["written"]
# *Your answer here: double-click this cell and write in it (a few sentences; numbers from your own run where the
# question asks for them).*

# %% [markdown]
# ## 4. Checkerboard artefacts
#
# Each of the generator's three upsampling transposed convolutions (kernel 4, stride 2) computes every output pixel
# from one of
# four sub-kernels, depending on whether its row and column are even or odd. Unless the four learn to agree, the
# output carries a pattern that repeats every 2 pixels: a checkerboard (Odena et al. 2016, "Deconvolution and
# checkerboard artifacts"). It is often too faint to see in a 32×32 image, but the frequency spectrum finds it:
# a pattern of period 2 puts power at the highest frequency an image can hold, the border of the spectrum
# (marked $-N/2$). Below: the mean power spectrum of real images and of the generator's, and a few samples
# enlarged pixel for pixel.

# %%
from gencore.engine.sampling import sample_images

real_images = load_dataset(run.config.dataset, "test", data_root, subset=2000, seed=0).images
generated = sample_images(run.models, run.config, 2000, seed=0, device=run.device)
display(lessons.spectrum_2d({"real test images": real_images, f"generated ({course.label(run)})": generated}))
lessons.zoom(generated, count=4)

# %% [markdown]
# **Reading it.** Real photographs have a smooth spectrum: power falls from the centre outwards in every
# direction. Bright points or lines on the generated spectrum's border, absent from the real one, are the
# generator's grid. Their strength can vary from run to run and epoch to epoch; the usual cure (Odena et al. 2016)
# is architectural: resize-then-convolve instead of transposed convolutions.
#
# ### Exercise: a number for the checkerboard
#
# A picture of a spectrum is a judgement; a number can be compared across runs and epochs. A pattern that repeats
# every 2 pixels sits at the **Nyquist frequency** $N/2$, the highest an $N\times N$ image can hold: in the 2-D
# discrete Fourier transform `torch.fft.fft2`, that is row $N/2$ (vertical frequency $N/2$, any horizontal one)
# and column $N/2$. Write `nyquist_share(images)`: remove each image's (and channel's) mean, take the power
# $|F|^2$ of its transform, sum it over images and channels, and return the share of the total that lies in that
# row and column. A checkerboard gives 1, a smooth image about 0, and white noise, with its power spread evenly
# over all $N^2-1$ frequencies, $(2N-1)/(N^2-1)$. (Images come as floats in $[0,1]$.)

# %% tags=["solution"]
def nyquist_share(images: torch.Tensor) -> float:
    """Share of the images' power (means removed; images and channels summed) at row or column frequency N/2."""
    x = images.float() - images.float().mean(dim=(2, 3), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).sum(dim=(0, 1))  # (H, W)
    h, w = power.shape
    at_nyquist = power[h // 2, :].sum() + power[:, w // 2].sum() - power[h // 2, w // 2]  # the corner once
    total = power.sum()
    return float(at_nyquist / total) if total > 0 else 0.0


# %%
nyquist_share = check("nyquist_share", nyquist_share)

# %% [markdown]
# Your measure on the real test images, on the generator's samples, and on white noise of the same size:

# %% [markdown]
# **Question 04.2** (predict, 2 points). Before you run the next cell: put the three shares (real test images,
# generated, white noise) in order, and give the value for white noise on $32\times32$ images from the formula in
# the exercise. Say why real photographs should sit where you put them.

# %% [markdown] question="04.2" tags=["written"]
# *Your answer here: double-click this cell and write in it (a few sentences; numbers from your own run where the
# question asks for them).*

# %%
side = real_images.shape[-1]
print(f"The share of the power at the Nyquist frequency (generated: {course.label(run)})")
for name, images in (("real test images", real_images), ("generated", generated),
                     ("white noise", torch.rand(500, 3, side, side))):
    share = nyquist_share(to_float(images, "unit") if images.dtype == torch.uint8 else images)
    print(f"{name:>26}: {100 * share:5.2f}%")
print(f"{'white noise, in theory':>26}: {100 * (2 * side - 1) / (side * side - 1):5.2f}%")

# %% [markdown]
# **Reading it.** White noise sets the scale, and real photographs sit far below it: they hold almost no power at
# the finest scale (the course's copy of CIFAR-10 is a JPEG re-encoding, which quantises away fine detail, so its
# share is likely lower than the original images' would be). A generator whose share is several times the real images' prints its grid, even where the eye
# misses it; one close to the real share has learnt to hide it. Being a number, it can follow a run epoch by
# epoch or compare two architectures.
#
# ## 5. Colour statistics
#
# Does the generator paint with the data's colours? Histograms of the red, green and blue values, and of the
# saturation (how far a pixel is from grey), for real and generated images:

# %%
lessons.colour_histograms({"real": real_images, "generated": generated})

# %% [markdown]
# **Reading it.** A generator that has learnt the palette has channel histograms that follow the real ones: the
# discriminator sees colour directly, and any mismatch is an easy way to tell fakes from real images. Look for
# differences in the tails (the darkest and the brightest values) and in the saturation: the figure prints each
# set's mean saturation.
#
# ## 6. How good are the samples?

# %%
quality = course.quality(run, eval_samples, seed, data_root, measure)

# %%
if quality:
    display(lessons.plot_class_shares(quality["class_shares"], load_dataset(run.config.dataset, "test", data_root, subset=10).classes,
                                      f"{course.label(run)}: what the classifier sees in the samples"))

# %% [markdown]
# On CIFAR-10 the class shares say less than on MNIST: the classifier is 85% accurate on real images and
# guesses on ambiguous ones. A few classes far above 10% still point to a generator that favours some kinds of
# picture.
#
# ## 7. What the seed study found

# %%
course.show_study("gan", "cifar10")

# %% [markdown]
# **What it shows.** One run per setting (seed 0, width 16): observations, not a ranking (the detail is in
# `docs/study.md`).
#
# * **More epochs are not better for a GAN.** At latent 64 fd is 11.94 after 20 epochs and 13.11 after 100. Its
#   history (section 3) has the best point at epoch 35 (11.00 on 2,000 samples); after that the discriminator pulls
#   ahead (the Jensen-Shannon estimate climbs back from 0.14 to 0.25 at epoch 100) and some of the 100-epoch samples
#   are flat grey squares. Latent 512 shows the same pattern (10.90 after 20 epochs, 12.91 after 100). Keep the best
#   checkpoint, not the last.
# * **Latent size: not resolved.** Latent 512 is within about 1 of latent 64 at both lengths. That is several times
#   fd's sampling noise, but no seed-to-seed spread was measured for the GAN on CIFAR-10 (the only one measured on
#   CIFAR-10, the VAE's, reached 1.15), so these runs cannot say which latent size is better.
#
# These runs trained with bf16 autocast (the `precision` column), which learnt as well as fp32 at equal steps in the
# kit's test on MNIST (three seeds each, `docs/speed.md`); the two 100-epoch runs took 31 and 41 minutes, each on one
# core of the 2-core CPU. To reproduce them (`--gan-width 64`, the default, is DCGAN's width, for a GPU):
#
#     python -m gencore study --models gan --datasets cifar10 --gan-width 16 --precision bf16 --data-root ../shared/data --out results/study
#
# ## 8. Try it yourself

# %%
course.panel(config, runs_dir)

# %%
course.record(result_json, run, quality)

# %% [markdown]
# ## Key takeaways
#
# - A GAN's sample quality rises and falls during training while its losses look the same: keep the best checkpoint
#   by a measurement, not the last one.
# - Transposed convolutions can print a pattern of period 2; the share of the power at the Nyquist frequency turns
#   it into a number that runs and epochs can be compared by.
# - Histograms of the colour channels show whether the generator learnt the data's palette; what remains shows in
#   fd.

# %% [markdown]
# ## References
#
# The papers this notebook teaches:
#
# - Goodfellow, I. et al. (2014). [Generative Adversarial Nets](https://arxiv.org/abs/1406.2661). NeurIPS 2014.
# - Radford, A., Metz, L. and Chintala, S. (2016). [Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks](https://arxiv.org/abs/1511.06434) (DCGAN). ICLR 2016.
# - Heusel, M. et al. (2017). [GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium](https://arxiv.org/abs/1706.08500) (the Fréchet Inception Distance). NeurIPS 2017.
