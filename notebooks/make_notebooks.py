"""Write the numbered course notebooks from one template, so the six stay consistent.

Run from the repository root after changing the text below:  python notebooks/make_notebooks.py
The notebooks are written without outputs; edit them in Jupyter if you prefer, but then
carry the change back here or stop using this script.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent
DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
MODEL_NAMES = {"vae": "Variational autoencoder", "gan": "GAN (DCGAN)", "wgan-gp": "WGAN-GP"}
NOTEBOOKS = [
    ("01_vae_mnist", "vae", "mnist", 2),
    ("02_vae_cifar10", "vae", "cifar10", 64),
    ("03_gan_mnist", "gan", "mnist", 64),
    ("04_gan_cifar10", "gan", "cifar10", 64),
    ("05_wgan_gp_mnist", "wgan-gp", "mnist", 64),
    ("06_wgan_gp_cifar10", "wgan-gp", "cifar10", 64),
]

THEORY = {
    "vae": r"""## The model: a variational autoencoder

An **encoder** maps an image $x$ to a Gaussian over latent codes, $q_\phi(z\mid x)=\mathcal N(\mu_\phi(x),\operatorname{diag}\sigma^2_\phi(x))$;
a **decoder** maps a code back to an image $\hat x = f_\theta(z)$. Training maximises the evidence lower bound (ELBO)

$$\log p_\theta(x) \;\ge\; \mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big] \;-\; \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,\mathcal N(0,I)\big).$$

As in the seed study, the reconstruction term is the **summed squared error** $\lVert x-\hat x\rVert^2$ (a Gaussian
likelihood with a fixed variance, up to constants), and the KL term has a closed form
(Kingma & Welling 2014, Appendix B):

$$\mathrm{KL} = -\tfrac12\sum_j \big(1+\log\sigma_j^2-\mu_j^2-\sigma_j^2\big).$$

Sampling $z$ would block gradients, so we use the **reparameterisation** $z=\mu+\varepsilon\odot\exp(\tfrac12\log\sigma^2)$,
$\varepsilon\sim\mathcal N(0,I)$: the randomness moves into $\varepsilon$ and gradients flow through $\mu$ and $\log\sigma^2$.
Both networks are MLPs (three hidden layers); the decoder ends in a sigmoid, so pixels lie in $[0,1]$.""",
    "gan": r"""## The model: a generative adversarial network

A **generator** $G$ turns noise $z\sim\mathcal N(0,I)$ into an image; a **discriminator** $D$ outputs the probability that an
image is real. They play the minimax game (Goodfellow et al. 2014)

$$\min_G\max_D\; \mathbb E_{x}\big[\log D(x)\big] + \mathbb E_{z}\big[\log(1-D(G(z)))\big].$$

Written as a loss, the discriminator minimises the binary cross-entropy $L_D=\mathrm{BCE}(D(x),1)+\mathrm{BCE}(D(G(z)),0)$.
For a fixed $G$ the best discriminator is $D^*=p_\text{data}/(p_\text{data}+p_g)$, and then
$L_D = 2\log 2 - 2\,\mathrm{JSD}(p_\text{data}\,\|\,p_g)$ (Theorem 1 of the paper). So

$$\mathrm{JSD}\;\approx\;\log 2 - L_D/2,$$

which we plot every epoch: $0$ when $D$ cannot tell real from fake, $\log 2\approx0.693$ when it always can. It is exact only at
the optimal $D$; with a real, imperfect $D$ it is an estimate and can even dip below $0$.
The generator uses the **non-saturating** loss $\mathrm{BCE}(D(G(z)),1)$, which keeps its gradients alive while $D$ wins easily.

The networks follow DCGAN (Radford et al. 2016): the generator is transposed convolution, batch norm and ReLU three times, then a
transposed convolution and $\tanh$ (so the data is scaled to $[-1,1]$); the discriminator is convolution and LeakyReLU, convolution,
batch norm and LeakyReLU, and a final convolution to one score followed by a sigmoid.""",
    "wgan-gp": r"""## The model: Wasserstein GAN with gradient penalty

The JS divergence saturates at $\log 2$ when real and generated images do not overlap, and then gives the generator no useful
gradient. The **Earth Mover (Wasserstein-1) distance** keeps measuring how far apart they are. Its Kantorovich-Rubinstein dual is

$$W_1(p_\text{data},p_g)=\sup_{\lVert f\rVert_L\le 1}\;\mathbb E_{x\sim p_\text{data}}[f(x)]-\mathbb E_{z}[f(G(z))],$$

a supremum over **1-Lipschitz** functions $f$. A neural **critic** plays $f$: it outputs an unbounded score (no sigmoid), and the gap
$\mathbb E[f(x)]-\mathbb E[f(G(z))]$ is the Earth Mover estimate we plot. The generator minimises $-\mathbb E[f(G(z))]$.

The Lipschitz constraint is enforced softly with the **gradient penalty** of Gulrajani et al. (2017): at random interpolates
$\hat x=\alpha x+(1-\alpha)G(z)$, $\alpha\sim U[0,1]$ per sample,

$$\lambda\,\mathbb E_{\hat x}\big[(\lVert\nabla_{\hat x} f(\hat x)\rVert_2-1)^2\big],\qquad\lambda=10 .$$

The penalty is per sample, so the critic must not use batch norm (it would mix samples); ours has none. The critic is trained
$n_\text{critic}=5$ times per generator step so that it stays near its optimum, and Adam uses $\beta=(0, 0.9)$ as in the paper.""",
}

LOOK_FOR = {
    "vae": """**What to look for.** The MSE falls fast, then slowly; the KL *rises* at first, as the encoder starts to use the latent
space, then settles. Train and test curves close together mean no overfitting. The total is the negative ELBO per image (up to
the constant of the Gaussian likelihood).""",
    "gan": """**What to look for.** GAN losses do not fall to zero: the two players push against each other. Healthy training keeps
$L_D$ near $2\\log 2\\approx1.39$ early and the JSD estimate well below $\\log 2$, with mean $D(x)$ and $D(G(z))$ apart but not at 1 and 0.
A JSD estimate pinned at $\\log 2$ with $D(G(z))\\to0$ means the discriminator has won and the generator's gradients are vanishing.""",
    "wgan-gp": """**What to look for.** Unlike the GAN losses, the Earth Mover estimate is meaningful: it should fall as the samples improve
(it is an estimate of a distance, up to the critic's quality). The gradient penalty should stay small (well under 1) once the critic
is near 1-Lipschitz; a large penalty means the critic is fighting the constraint.""",
}

FAILURES = {
    "vae": """## Known failure modes

- **Blur.** The MSE loss is a Gaussian likelihood: the best the decoder can do under uncertainty is the *mean* of plausible images,
  which is blurry. This is the VAE's signature, strongest on CIFAR-10.
- **Posterior collapse.** If the KL term wins, the encoder ignores the input ($\\mu\\approx0$, KL $\\approx0$) and every sample looks the same.
- **Latent size.** With 2 dimensions everything must fit on a plane: digits blur into each other but the map is easy to read.
  Larger latents reconstruct better; beyond what the data needs, the extra dimensions are simply switched off by the KL term.""",
    "gan": """## Known failure modes

- **Mode collapse.** The generator finds a few images that fool $D$ and produces only those: the sample grid shows the same digit
  over and over. Look at the grid, not only the losses.
- **Vanishing gradients.** If $D$ becomes too good, $\\log(1-D(G(z)))$ saturates; the non-saturating loss helps but does not cure it.
- **Instability.** Losses oscillate, quality rises and falls between epochs. Lower learning rates, batch norm in $G$ and the DCGAN
  initialisation are the usual remedies; more epochs do not always help.""",
    "wgan-gp": """## Known failure modes

- **A weak critic.** With too few critic steps, the Earth Mover estimate stops meaning anything. Keep `n_critic` around 5.
- **Slow start.** The WGAN-GP learns more slowly per epoch than the GAN (one generator step per five critic steps), but more steadily:
  mode collapse is rare.
- **Penalty weight.** Too small a `gp_weight` lets the critic's scores explode; too large a weight makes it too smooth to guide $G$.""",
}


QUALITY_TEXT = r"""## How good are the samples?

Looking is not measuring. The kit trains a small classifier on the real training split once per dataset (cached; its test
accuracy is printed below) and compares generated images with the real test split in that classifier's feature space:

- **fd**, the Fréchet distance: fit a Gaussian to the features of each set and compute
  $\lVert\mu_r-\mu_g\rVert^2+\operatorname{tr}\big(\Sigma_r+\Sigma_g-2(\Sigma_r\Sigma_g)^{1/2}\big)$ (Heusel et al. 2017).
  0 means the same mean and covariance; noise, blur and missing classes all raise it. It is the FID idea with a domain
  classifier in place of Inception, so compare it between runs of this kit, not with published FIDs.
- **classes_covered**: how many classes receive at least 2% of the samples. Mode collapse shows up here first.
- **confidence**: the classifier's mean top-class probability; smudged, ambiguous samples lower it.

For the VAE the negative ELBO on the test split is also given in nats per image and bits per dimension. The summed MSE the
seed trains on is a Gaussian likelihood with variance $1/2$, so $-\mathrm{ELBO}=\mathrm{MSE}+\mathrm{KL}+\tfrac D2\log\pi$."""


def parameters_cell(model: str, dataset: str, latent: int) -> str:
    batch, lr = {"vae": (128, "1e-4"), "gan": (64, "2e-4"), "wgan-gp": (64, "1e-4")}[model]
    lr_note = {
        "vae": "the seed's value",
        # A learner runs few epochs, and the papers' rates learn faster per step than the seed's
        # (measured for 03, one epoch on full MNIST: Frechet distance 12.0 at lr 1e-4, 8.0 at 2e-4).
        "gan": "DCGAN's value (Radford et al. 2016); the seed study used 1e-4",
        "wgan-gp": "the WGAN-GP paper's value (Gulrajani et al. 2017); the seed study used 5e-5",
    }[model]
    lines = [
        f'dataset = "{dataset}"  # "mnist" or "cifar10"',
        f"latent_dim = {latent}  # the seed study compares {'2 and 64' if dataset == 'mnist' else '64 and 512'}",
        "epochs = 20  # the seed study compares 20 and 100",
        f"batch_size = {batch}  # the seed's value",
        f"lr = {lr}  # Adam learning rate: {lr_note}",
        "seed = 0  # the same seed gives the same numbers",
        "subset = None  # None = the full training split; e.g. 4096 for a quick run",
        'data_root = None  # None = $GENCORE_DATA or the download cache; e.g. "../shared/data" offline',
        'device = "auto"  # CUDA, then MPS, then CPU',
        "width = 64  # network width (DCGAN's 64 channels; the VAE's hidden layers are 512, 256, 128)",
        "time_budget = None  # minutes: stop cleanly, saved, when spent",
        'runs_dir = "runs"  # where finished runs are kept (train-or-load)',
        "measure = True  # measure sample quality after training; the first time per dataset trains the classifier",
        "eval_samples = 10000  # generated images per quality measurement (the test split has 10,000)",
        "result_json = None  # a file to write the run's parameters and quality numbers to (the sweep sets it)",
    ]
    if model == "wgan-gp":
        lines += ["n_critic = 5  # critic steps per generator step", "gp_weight = 10.0  # gradient penalty weight lambda"]
    return "\n".join(lines)


def config_cell(model: str) -> str:
    extra = ", n_critic=n_critic, gp_weight=gp_weight" if model == "wgan-gp" else ""
    return f"""%matplotlib inline
from gencore.config import TrainConfig
from gencore.train import train_or_load, run_name

# Values derived from the parameters live here, after the parameters cell, so papermill's injected values are used.
config = TrainConfig(model="{model}", dataset=dataset, latent_dim=latent_dim, epochs=epochs, batch_size=batch_size,
                     lr=lr, seed=seed, subset=subset, data_root=data_root, device=device, width=width,
                     time_budget=time_budget{extra})
print("run folder:", run_name(config))"""


def build(stem: str, model: str, dataset: str, latent: int) -> nbformat.NotebookNode:
    name, data_name = MODEL_NAMES[model], DATASET_NAMES[dataset]
    gan = model != "vae"
    cells = [
        new_markdown_cell(f"""# {stem[:2]} · {name} on {data_name}

In this notebook you train a {name} on {data_name}, watch it learn, and look at what it generates.
Run it top to bottom (*Run → Run All Cells*). Everything it needs lives in the `gencore` package; the notebook only
calls it and explains. A finished run is saved under `runs/` and loaded, not retrained, the next time.

**Time.** On a 2-core laptop CPU one epoch of the full data takes minutes, so the default 20 epochs take a while: set
`subset` (say 4096) and `epochs` (say 3) in the next cell for a first look, or use a GPU."""),
        new_markdown_cell("""## Parameters

The next cell holds every setting. It is tagged `parameters`, so an instructor can run this notebook headlessly with other values:
`papermill {stem}.ipynb out.ipynb -p latent_dim 64 -p epochs 100`.""".replace("{stem}", stem)
                          + ("" if not gan else f"""

The learning rate defaults to the {'DCGAN' if model == 'gan' else 'WGAN-GP'} paper's value rather than the seed study's
more cautious {'1e-4' if model == 'gan' else '5e-5'}: on a laptop you will run few epochs, and the paper's rate gets further in each.
Set `lr = {'1e-4' if model == 'gan' else '5e-5'}` to reproduce the seed exactly (a sweep does so unless told otherwise).""")),
        new_code_cell(parameters_cell(model, dataset, latent), metadata={"tags": ["parameters"]}),
        new_code_cell(config_cell(model)),
        new_markdown_cell(THEORY[model]),
        new_markdown_cell("""## The data

The whole split is held in memory as 8-bit images and scaled per batch: to $[0,1]$ for the VAE (its decoder ends in a sigmoid),
to $[-1,1]$ for the GANs (their generator ends in $\\tanh$). Native sizes: MNIST $1\\times28\\times28$, CIFAR-10 $3\\times32\\times32$."""),
        new_code_cell("""# NBVAL_CHECK_OUTPUT
from gencore.data import load_dataset
from gencore.plots import plot_samples

train_data = load_dataset(config.dataset, "train", config.data_root, config.subset, config.seed)
print(f"{len(train_data)} training images of shape {train_data.image_shape}, {train_data.images.dtype}")
print("classes:", ", ".join(train_data.classes))"""),
        new_code_cell("""plot_samples(train_data.images[:64].float() / 255, "Real training images")"""),
        new_markdown_cell("## The model\n\nEvery size below follows from the image shape, `latent_dim` and `width`."),
        new_code_cell("""# NBVAL_CHECK_OUTPUT
from gencore.data import IMAGE_SHAPES
from gencore.explore import model_summary
from gencore.models import build_models

print(model_summary(build_models(config, IMAGE_SHAPES[config.dataset])))"""),
        new_markdown_cell("""## Training

`train_or_load` trains into `runs/<run folder>` with a live progress bar (images per second and time left), saving a
checkpoint after every epoch. If that folder already holds the finished run, it is loaded instead; an unfinished one resumes.
Interrupt the kernel to stop cleanly: the current step finishes and everything is saved."""),
        new_code_cell("trainer = train_or_load(config, runs_dir)\nhistory = trainer.history"),
        new_markdown_cell("## Loss curves\n\n" + LOOK_FOR[model]),
        new_code_cell(f"""from gencore.plots import plot_losses

plot_losses(history, "{model}", f"{name} on {data_name}, latent {{latent_dim}}", trainer.trace)"""),
        new_markdown_cell("## Generated images beside original images\n\nThe same fixed latent points are used every time, so runs can be compared image by image."),
        new_code_cell("""from gencore.plots import plot_real_vs_generated
from gencore.data import to_float

generated = trainer.generate(trainer.fixed_z).cpu()
plot_real_vs_generated(to_float(train_data.images[:64], "unit"), generated, f"latent {latent_dim}, {trainer.epoch} epochs")"""),
        new_markdown_cell(QUALITY_TEXT),
        new_code_cell("""from gencore.metrics import evaluate_models, format_quality

quality = evaluate_models(config, trainer.models, n=eval_samples, seed=seed) if measure else {}
print(format_quality(quality))"""),
        new_code_cell("""from gencore.explore import run_quality_points
from gencore.plots import plot_quality_over_time

points = run_quality_points(trainer.run_dir)
if len(points) > 1:
    display(plot_quality_over_time({f"latent {latent_dim}": points}))
else:
    print(f"The history holds {len(points)} quality measurement(s) (every {config.eval_every} epochs and the last, "
          "when a classifier is cached): train longer to see a curve.")"""),
    ]
    if model == "vae":
        cells += [
            new_markdown_cell("## Reconstructions\n\nTest images (odd rows) and the decoder's output for the mean of their posterior (even rows). Blur here is the MSE loss at work."),
            new_code_cell("""from gencore.figures import run_figures

run_figures(trainer, ("reconstructions",))["reconstructions"]"""),
        ]
    cells += [
        new_markdown_cell(f"""## The latent space

With `latent_dim = 2` the whole latent space is a plane, and we can decode a grid of points on it: the map shows how the model
arranges the data. For every latent size we can walk between two random latent points. We use spherical interpolation: in high
dimensions Gaussian draws lie near a sphere, and a straight line between two of them passes through the unlikely region near the
origin{"; a smooth walk means the generator has learnt a continuous space, not a lookup table of images" if gan else ""}."""),
        new_code_cell("""from gencore.families.vae import plot_latent_manifold

if latent_dim == 2:
    display(plot_latent_manifold(lambda z: trainer.generate(z).cpu()))
else:
    print(f"latent_dim is {latent_dim}: the 2-D map needs latent_dim = 2 (try it in the panel below).")"""),
        new_code_cell("""from gencore.explore import interpolation_images
from gencore.plots import plot_interpolation

plot_interpolation(interpolation_images(trainer.models, latent_dim, pairs=4, steps=10, seed=seed, device=trainer.device))"""),
        new_markdown_cell(FAILURES[model]),
        new_markdown_cell(f"""## The seed study's comparisons

The study this course grew from compared latent sizes ({'2 and 64' if dataset == 'mnist' else '64 and 512'} on {data_name})
and training lengths (20 and 100 epochs) on the full data, with its own learning rate and batch size. The next cell shows the
runs of that grid that already exist in
`runs_dir` and prints the command for each missing one. Larger latents give the {'decoder more room: sharper reconstructions, a less readable map' if model == 'vae' else 'generator more directions of variation, but not automatically better images'};
more epochs help until the model stops improving{'' if model == 'vae' else ' or training destabilises'}."""),
        new_code_cell("""from gencore.explore import seed_study_runs
from IPython.display import Image, display

for row in seed_study_runs(config, runs_dir):
    label = f"latent {row['latent_dim']:>3}, {row['epochs']:>3} epochs"
    if row["exists"]:
        numbers = ", ".join(f"{k} {v:.4g}" for k, v in row["last"].items() if k != "epoch")
        print(f"{label}: {row['seconds']:.0f} s; last epoch {numbers}")
        display(Image(filename=str(row["folder"] / "samples.png"), width=280))
    else:
        print(f"{label}: not trained yet ->  {row['command']}")"""),
        new_markdown_cell("""## Try it yourself

Pick another latent size (2, 64, 512 or any number) and a number of epochs, then press **Train**. The loss curves and the
samples update after every epoch; **Stop** ends cleanly after the current step and keeps what was learnt. Finished runs are
listed below the plots: select several and press **Compare selected** to see them side by side. Under papermill or nbval
the panel only renders; nothing trains until you click."""),
        new_code_cell("""from gencore.widgets import TrainingPanel

TrainingPanel(config, runs_dir)"""),
        new_markdown_cell("The last cell records this run for the sweep (`python -m gencore sweep`); it does nothing when `result_json` is None."),
        new_code_cell("""from gencore.sweep import write_result

if result_json:
    write_result(result_json, trainer, quality)
    print("wrote", result_json)"""),
    ]
    return _notebook(cells)


def _notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    for index, cell in enumerate(cells):
        cell.id = f"cell-{index:02d}"  # stable ids: regenerating changes only what the text changed
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def build_start() -> nbformat.NotebookNode:
    """00: the map of the course, where the data comes from, and what a run costs on this machine."""
    rows = "\n".join(f"| `{stem}` | {MODEL_NAMES[model]} | {DATASET_NAMES[dataset]} | {latent} |" for stem, model, dataset, latent in NOTEBOOKS)
    cells = [
        new_markdown_cell(f"""# 00 · Start here

This course trains three generative image models and looks hard at what they produce:

- a **variational autoencoder** (VAE): an encoder and a decoder trained on reconstruction error plus a KL term;
- a **GAN** (DCGAN): a generator and a discriminator playing a minimax game;
- a **WGAN-GP**: the same generator against a critic that estimates the Earth Mover distance, kept Lipschitz by a gradient penalty.

Each model learns MNIST (handwritten digits, $1\\times28\\times28$) and CIFAR-10 (small colour photographs, $3\\times32\\times32$):

| notebook | model | data | default latent size |
|---|---|---|---:|
{rows}
| `07_compare` | all three | both | the study's grid |

This notebook checks that the data is found, shows it, and measures how long training takes **on this machine**, so you can
choose settings that fit the time you have. It trains nothing."""),
        new_code_cell("""data_root = None  # None = $GENCORE_DATA or the download cache; e.g. "../shared/data" offline
device = "auto"  # CUDA, then MPS, then CPU
estimate_steps = 3  # timed training steps per model and dataset (0 skips the timing)""", metadata={"tags": ["parameters"]}),
        new_markdown_cell("""## How to run a notebook

- In JupyterLab (`jupyter lab notebooks/` from the repository root) open a notebook and use *Run → Run All Cells*.
- The first code cell of every notebook holds its settings (`dataset`, `latent_dim`, `epochs`, `batch_size`, `lr`, `seed`,
  `subset`, `data_root`, `device`, ...). Change them there, or use the panel at the end of each notebook to retrain with
  another latent size or number of epochs without editing code.
- Finished runs are kept under `runs/` and loaded, never retrained, when the same settings come again. Interrupting the
  kernel stops training cleanly after the current step, with everything saved.
- Headless, for instructors: `papermill 03_gan_mnist.ipynb out.ipynb -p epochs 1 -p data_root ../shared/data` runs a
  notebook with other settings; `python -m gencore sweep ...` runs many and `07_compare` reads the results."""),
        new_markdown_cell("""## The data

The kit reads the datasets from `data_root` (or the `GENCORE_DATA` variable) when you give one, and never downloads there:
MNIST as torchvision stores it (`MNIST/raw/*-ubyte`), CIFAR-10 as torchvision's pickled batches (`cifar-10-batches-py/`) or
as an image folder (`cifar10/{train,test}/<class>/*.jpg`). Without one, torchvision downloads both into a cache folder the
first time (internet needed once). Each split is held in memory as 8-bit images. If a dataset is missing, the message
below says which files are expected and how to get them."""),
        new_code_cell("""# NBVAL_CHECK_OUTPUT
from gencore.data import IMAGE_SHAPES, SPLIT_SIZES, load_dataset
from gencore.errors import GencoreError

test_splits = {}
for name in IMAGE_SHAPES:
    try:
        test_splits[name] = load_dataset(name, "test", data_root)
    except GencoreError as error:
        print(f"{name}: not available here.\\n{error}\\n")
        continue
    split = test_splits[name]
    print(f"{name}: {SPLIT_SIZES[name]['train']:,} training images in the full split; test split here: {len(split):,} "
          f"images of shape {split.image_shape}; classes: {', '.join(split.classes)}")"""),
        new_code_cell("""%matplotlib inline
from gencore.data import balanced_indices, to_float
from gencore.plots import plot_samples

for name, split in test_splits.items():
    shown = balanced_indices(split.labels, 40, seed=0)  # every class, not just the first files
    display(plot_samples(to_float(split.images[shown], "unit"), f"{name}: real test images, every class", nrow=10))"""),
        new_markdown_cell("""## How long does training take here?

The next cell times a few of the kit's own training steps for each model and dataset (random images of the right shape,
the seed study's batch sizes and full-width networks) and turns them into minutes per epoch and hours for the seed study's
20 and 100 epochs. On a laptop CPU the GANs take minutes per epoch and the VAE seconds; a GPU is tens of times faster.

If the numbers are large for the time you have:

- `subset = 4096` and `epochs = 3` give a first look in a few minutes;
- `time_budget` (minutes) stops training cleanly, saved, when the time is spent;
- on the command line, `--preset cpu-fast` picks settings that reach readable digits within about 5 CPU minutes
  (narrower networks and higher learning rates; see the README's table);
- a GPU (`device = "cuda"`) runs the seed study's full settings in reasonable time."""),
        new_code_cell("""from gencore.bench import estimate_training_time, format_estimates
from gencore.runtime import resolve_device
import os, torch

print(f"device: {resolve_device(device)}, torch {torch.__version__}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads")
if estimate_steps:
    estimates = estimate_training_time(device, steps=estimate_steps)
    print(format_estimates(estimates))
    # The seed study: latent sizes 2 and 64 (MNIST) or 64 and 512 (CIFAR-10), 20 and 100 epochs, per model and dataset.
    study_hours = sum(2 * (e.hours_20_epochs + e.hours_100_epochs) for e in estimates)
    print(f"The whole seed study at full settings: about {study_hours:,.0f} hours on this device.")"""),
        new_markdown_cell("""## Where to go next

Start with `01_vae_mnist`: the VAE is the quickest model to train and its 2-D latent space can be drawn as a map. Then the GAN
(`03`) and the WGAN-GP (`05`) on MNIST, and the same three on CIFAR-10 (`02`, `04`, `06`), where every model finds the
task much harder. `07_compare` puts the study's results side by side."""),
    ]
    return _notebook(cells)


def build_compare() -> nbformat.NotebookNode:
    """07: the seed study's comparisons across all six model x dataset pairs, from sweep results."""
    cells = [
        new_markdown_cell("""# 07 · Comparing the models: latent size, epochs and time

Notebooks 01-06 each train one model. This one reads the results of a **sweep**, many runs of those notebooks executed by
papermill, and compares them as the seed study did: latent sizes against training lengths, for every model on both datasets,
with the kit's quality numbers instead of judgement by eye. Make a sweep from the repository's root, for example

    python -m gencore sweep --model vae gan wgan-gp --dataset mnist --latent-dims 2 64 --epochs 20 100

(the seed's full settings; on a CPU, add `--subset 4096 --epochs 1 2` for a first look). Without a sweep of your own, the
notebook shows the reference results shipped with the kit, measured at a reduced scale on a 2-core CPU."""),
        new_code_cell("""results_dir = None  # the sweep's --out folder; None: ../results if a sweep wrote it, else the shipped reference results""",
                      metadata={"tags": ["parameters"]}),
        new_code_cell("""%matplotlib inline
from pathlib import Path

from gencore.sweep import read_table

if results_dir is None:
    results_dir = "../results" if (Path("../results") / "results.csv").exists() else "reference/results"
results = Path(results_dir)
rows = read_table(results)
print(f"{len(rows)} runs in {results}")"""),
        new_markdown_cell("""## Latent size and epochs, per model and dataset

Each table has a row per latent size and a column per training length. **fd** is the Fréchet distance to the real test
split in the domain classifier's features (lower is better; compare it within a dataset only, since each dataset has its own
classifier), **classes** counts the classes that get at least 2% of the samples (10 is full coverage), and for the VAE the
test negative ELBO is given in bits per dimension. Below each table, the sample grids of the same runs, drawn from the same
latent points.

What the seed study found, and what to check here: on MNIST a 2-dimensional latent space already gives readable but blurry
digits, while 64 dimensions reconstruct better; on CIFAR-10 every VAE sample is blurry, whatever the latent size. More epochs
help the VAE steadily and the GANs unevenly."""),
        new_code_cell("""from IPython.display import Image, Markdown, display

from gencore.sweep import comparison_markdown

for model in ("vae", "gan", "wgan-gp"):
    for dataset in ("mnist", "cifar10"):
        display(Markdown(f"### {model} on {dataset}\\n\\n" + comparison_markdown(rows, model, dataset)))
        grid = results / f"grid-{model}-{dataset}.png"
        if grid.exists():
            display(Image(filename=str(grid), width=520))"""),
        new_markdown_cell("""## Quality against training time

A learner with an hour to spend wants the model that gets good fastest. Each line is one run: its Fréchet distance and class
coverage at the epochs where the history measured them (every few epochs, when a classifier was cached), against the training
minutes spent so far. Runs whose folders are not on this machine (the reference results) show their final point."""),
        new_code_cell("""from gencore.explore import run_quality_points
from gencore.plots import plot_quality_over_time

for dataset in ("mnist", "cifar10"):
    series = {}
    for row in rows:
        if row["dataset"] != dataset or row.get("fd") is None:
            continue
        points = run_quality_points(row["run_dir"]) if row.get("run_dir") else []
        if not points and row.get("train_seconds"):
            points = [(row["train_seconds"], row["fd"], row["classes_covered"])]
        if points:
            series[f"{row['model']} z{row['latent_dim']} e{row['epochs']}"] = points
    if series:
        display(plot_quality_over_time(series, f"{dataset}: sample quality against training time"))
    else:
        print(f"no measured runs on {dataset} in {results}")"""),
        new_markdown_cell("""## Choose runs to compare

Select any runs of the table and press **Compare selected** to see their numbers and samples side by side. Under papermill
or nbval the browser only renders."""),
        new_code_cell("""from gencore.widgets import ResultsBrowser

ResultsBrowser(rows, results)"""),
    ]
    return _notebook(cells)


def main() -> None:
    nbformat.write(build_start(), HERE / "00_start_here.ipynb")
    print("wrote", HERE / "00_start_here.ipynb")
    for stem, model, dataset, latent in NOTEBOOKS:
        nbformat.write(build(stem, model, dataset, latent), HERE / f"{stem}.ipynb")
        print("wrote", HERE / f"{stem}.ipynb")
    nbformat.write(build_compare(), HERE / "07_compare.ipynb")
    print("wrote", HERE / "07_compare.ipynb")


if __name__ == "__main__":
    main()
