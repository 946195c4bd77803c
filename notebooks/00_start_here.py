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
# # 00 · Start here
#
# This course trains three generative image models and looks hard at what they produce:
#
# * a **variational autoencoder** (VAE): an encoder and a decoder trained on reconstruction error plus a KL term;
# * a **GAN** (DCGAN): a generator and a discriminator playing a minimax game;
# * a **WGAN-GP**: the same generator against a critic that estimates the Earth Mover distance, kept Lipschitz
#   by a gradient penalty.
#
# Each learns MNIST (handwritten digits, $1\times28\times28$) and CIFAR-10 (small colour photographs,
# $3\times32\times32$). Every notebook shows the code that really trains, from the `gencore` package, next to the
# mathematics; every model notebook has exercises whose answers are checked (those of the MNIST notebooks are
# then trained with).
#
# ## The map, and a reading order
#
# | read | notebook | you write | what it teaches that the others do not |
# |---:|---|---|---|
# | 1 | `01_vae_mnist` | the reparameterisation, the KL term | the ELBO, the training step, KL against MSE, reconstructions, the 2-D latent map |
# | 2 | `02_vae_cifar10` | the Gaussian likelihood behind squared error | why summed squared error gives blur (measured in the frequency spectrum), how many latent dimensions a VAE really uses |
# | 3 | `03_gan_mnist` | the discriminator's loss with its JSD estimate, the generator's loss | the minimax game, why the generator's loss is not the game's, mode collapse |
# | 4 | `04_gan_cifar10` | a checkerboard measure: the power at the Nyquist frequency | instability (quality rising and falling), checkerboard artefacts, colour statistics |
# | 5 | `05_wgan_gp_mnist` | the critic's loss, the gradient penalty | why the JSD stops guiding a generator and the Earth Mover distance does not, the critic, n_critic |
# | 6 | `06_wgan_gp_cifar10` | Spearman's rank correlation | whether the Earth Mover estimate tracks sample quality, and whether the GAN's JSD does |
# | 7 | `07_compare` | | the seed study's answers, each with its spread: which model, which latent size, what more epochs buy |
# | 8 | `08_conditional` | the class as image channels | conditional generation (ask for a digit, a ship): the cVAE and the cGAN on both datasets, class-by-noise grids, walks between classes, the class accuracy |
# | 9 | `09_diffusion` | the forward process, one DDIM step | denoising diffusion on MNIST: noise prediction as score matching and an ELBO, one sample's path from noise to digit, quality against sampling steps and guidance, the cost of many passes beside the VAE, GAN and WGAN-GP |
#
# Read each model's MNIST notebook before its CIFAR-10 one: the CIFAR-10 notebook builds on it. 08 goes past the
# seed study: read it after 01 and 03, whose models it conditions; 09 after 07 and 08, whose rulers and class
# conditioning it uses.
#
# ## How to run a notebook
#
# * In JupyterLab (`jupyter lab notebooks/` from the repository's root) open a notebook and use
#   *Run → Run All Cells*.
# * The first code cell holds every setting. Change them there, or use the panel at the end of each notebook to
#   retrain with another latent size or number of epochs without editing code.
# * With the default settings every notebook runs in a few minutes: on a machine without a GPU the long training
#   comes from a model shipped with the kit (labelled as the shipped reference), and you train the same model
#   yourself for a couple of minutes (`own_minutes`). `use_reference = False` trains the full run; `True` only loads.
# * Finished runs are kept under `runs/` and loaded, never trained twice. Interrupting the kernel stops training
#   cleanly after the current step, with everything saved.
# * Instructors: `papermill 03_gan_mnist.ipynb out.ipynb -p epochs 1 -p data_root ../shared/data` runs a notebook
#   headlessly with other settings (`papermill --help-notebook 03_gan_mnist.ipynb` lists them);
#   `python -m gencore course --student OUT_DIR` writes student copies with the exercises' solutions removed.
#
# This notebook checks that the data is found, shows it, and measures how long training takes **on this
# machine**, so you can choose settings that fit your time. It trains nothing.

# %% tags=["parameters"]
from typing import Optional

data_root: Optional[str] = None  # folder holding the datasets; None: $GENCORE_DATA, else a download cache
device: str = "auto"  # auto (CUDA, then MPS, then CPU), cpu, cuda or mps
estimate_steps: int = 3  # timed training steps per model and dataset (0 skips the timing)

# %% [markdown]
# ## The data
#
# The kit reads the datasets from `data_root` (or the `GENCORE_DATA` variable) when you give one, and never
# downloads there: MNIST as torchvision stores it (`MNIST/raw/*-ubyte`), CIFAR-10 as torchvision's pickled
# batches (`cifar-10-batches-py/`) or as an image folder (`cifar10/{train,test}/<class>/*.jpg`). Without one,
# torchvision downloads both into a cache folder the first time (internet needed once). If a dataset is missing,
# the message below says which files are expected and how to get them.

# %%
# NBVAL_CHECK_OUTPUT
from gencore.engine.data import IMAGE_SHAPES, SPLIT_SIZES, load_dataset
from gencore.engine.errors import GencoreError

test_splits = {}
for name in IMAGE_SHAPES:
    try:
        test_splits[name] = load_dataset(name, "test", data_root)
    except GencoreError as error:
        print(f"{name}: not available here.\n{error}\n")
        continue
    split = test_splits[name]
    print(f"{name}: {SPLIT_SIZES[name]['train']:,} training images in the full split; test split here: {len(split):,} "
          f"images of shape {split.image_shape}; classes: {', '.join(split.classes)}")

# %%
# %matplotlib inline
from IPython.display import display

from gencore.engine.data import balanced_indices, to_float
from gencore.runs.plots import plot_samples

for name, split in test_splits.items():
    shown = balanced_indices(split.labels, 40, seed=0)  # every class, not just the first files
    display(plot_samples(to_float(split.images[shown], "unit"), f"{name}: real test images, every class", nrow=10))

# %% [markdown]
# ## How long does training take here?
#
# The next cell times a few of the kit's own training steps for each model and dataset (random images of the right
# shape, the seed study's batch sizes and full-width networks) and turns them into minutes per epoch and hours for
# the seed study's 20 and 100 epochs. On a laptop CPU the GANs take minutes per epoch and the VAE seconds; a GPU is
# much faster. If the numbers are large for the time you have:
#
# * the default (`use_reference = None`) shows every figure from the shipped model on a CPU, in a few minutes;
# * `subset = 4096` and `epochs = 3` give a first look at your own training in a few minutes;
# * `time_budget` (minutes) stops training cleanly, saved, when the time is spent;
# * on the command line, `--preset cpu-fast` reaches readable digits in about 5 CPU minutes (docs/speed.md).

# %%
import os

import torch

from gencore.studies.bench import estimate_training_time, format_estimates
from gencore.engine.runtime import resolve_device

print(f"device: {resolve_device(device)}, torch {torch.__version__}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads")
if estimate_steps:
    estimates = estimate_training_time(device, steps=estimate_steps)
    print(format_estimates(estimates))
    # The seed study: latent sizes 2 and 64 (MNIST) or 64 and 512 (CIFAR-10), per model and dataset; its 20-epoch
    # results are epoch 20 of the 100-epoch runs, so each latent size costs one 100-epoch run.
    study_hours = sum(2 * e.hours_100_epochs for e in estimates)
    print(f"The whole seed study at full settings: about {study_hours:,.0f} hours on this device.")

# %% [markdown]
# ## What the kit ships
#
# The trained reference models (one per model and dataset) and the quality classifiers live inside the package,
# each checked against its recorded checksum before use:

# %%
from gencore.quality.reference import describe_references

print(describe_references())

# %% [markdown]
# Start with `01_vae_mnist`.

# %% [markdown]
# ## References
#
# The papers this course teaches, in the order the notebooks meet them:
#
# - Kingma, D. P. and Welling, M. (2014). [Auto-Encoding Variational Bayes](https://arxiv.org/abs/1312.6114). ICLR 2014.
# - Goodfellow, I. et al. (2014). [Generative Adversarial Nets](https://arxiv.org/abs/1406.2661). NeurIPS 2014.
# - Radford, A., Metz, L. and Chintala, S. (2016). [Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks](https://arxiv.org/abs/1511.06434) (DCGAN). ICLR 2016.
# - Arjovsky, M., Chintala, S. and Bottou, L. (2017). [Wasserstein Generative Adversarial Networks](https://arxiv.org/abs/1701.07875). ICML 2017.
# - Gulrajani, I. et al. (2017). [Improved Training of Wasserstein GANs](https://arxiv.org/abs/1704.00028) (WGAN-GP). NeurIPS 2017.
# - Heusel, M. et al. (2017). [GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium](https://arxiv.org/abs/1706.08500) (the Fréchet Inception Distance). NeurIPS 2017.
