"""The VAE family: the seed study's MLP VAE, trained on summed MSE plus KL (Kingma & Welling 2014)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
from matplotlib.figure import Figure

from gencore.engine import losses
from gencore.engine.data import as_unit_float, to_float
from gencore.engine.errors import GencoreError
from gencore.engine.families.base import Family, Metrics, Models, Optimizers, Parts, RunConfig, Settings
from gencore.engine.families.settings import setting
from gencore.engine.grids import show_grid
from gencore.engine.models.vae import VAE, ConvVAE


def decoder_variance_setting() -> Any:
    """The Gaussian decoder's variance sigma^2, a setting of every VAE family. The loss weighs squared error by
    1/(2 sigma^2) against the KL, so 1/2 is the seed's plain summed squared error; a smaller variance (one
    fitted to the errors) weighs it more."""
    return setting(0.5, help="VAE decoder variance sigma^2 (default 0.5: the seed's summed squared "
                             "error; smaller weighs reconstruction more against the KL)",
                   why="1/(2 sigma^2) = 1 makes the loss the seed's summed squared error plus KL",
                   minimum=0.0, above=True)


VAE_NETWORKS = ("mlp", "conv")  # the VAE's networks: the seed's MLP, or DCGAN's layers (models.vae.ConvVAE)


@dataclass(frozen=True)
class VaeSettings:
    """The VAE's own settings."""

    decoder_variance: float = decoder_variance_setting()
    # "conv" puts the GAN's generator (at the run's width) behind the VAE's loss: notebook 02 measures it
    # against the MLP and the GAN to tell the loss's blur from the network's.
    vae_network: str = setting("mlp", help="VAE network: mlp (default, the seed's) or conv (strided convolutions in, "
                                           "DCGAN's generator out, at --width)",
                               why="the seed study's VAE is the MLP", choices=VAE_NETWORKS, shapes_weights=True)


def build(config: RunConfig, image_shape: tuple[int, int, int]) -> Models:
    network = ConvVAE if config.vae_network == "conv" else VAE
    return {"vae": network(image_shape, config.latent_dim, config.width)}


def vae_step(models: Models, optimizers: Optimizers, x: torch.Tensor, labels: torch.Tensor, config: RunConfig,
             step: int, parts: Parts) -> Metrics:
    """One VAE update on a batch x in [0, 1] (its labels unused: the VAE is unconditional): encode, draw z by the reparameterisation, decode,
    and descend on the negative ELBO (summed squared error + KL: a Gaussian decoder of variance 1/2, up to a constant)."""
    vae, optimizer = cast(VAE, models["vae"]), optimizers["vae"]
    mean, log_var = vae.encode(x)  # q(z|x) = N(mean, diag(exp(log_var))), each (B, latent)
    z = parts["reparameterize"](mean, log_var)  # z = mean + eps * exp(log_var / 2): gradients reach the encoder
    recon = vae.decode(z)  # (B, C, H, W) in [0, 1]
    # MSE and KL, each summed; the squared error weighed by 1/(2 sigma^2), which is 1 at the seed's variance 1/2
    loss = losses.vae_loss(recon, x, mean, log_var, kl=parts["kl_divergence"], variance=config.decoder_variance)
    optimizer.zero_grad(set_to_none=True)
    loss.total.backward()
    optimizer.step()
    n = x.shape[0]  # the loss is a batch sum; the history reports per image
    # train_total is MSE + KL whatever the variance, like test_total, so curves of any two runs compare.
    return {"train_kl": loss.kl.detach() / n, "train_mse": loss.mse.detach() / n,
            "train_total": (loss.mse + loss.kl).detach() / n}


@torch.no_grad()
def test_metrics(models: Models, images: torch.Tensor, device: torch.device, batch_size: int,
                 labels: torch.Tensor | None = None) -> dict[str, float]:
    """Test KL, MSE and total per image over a whole uint8 split (one reparameterised draw each).
    ``labels``: the split's classes, which a conditional VAE's networks read beside each image."""
    vae = models["vae"]
    was_training = vae.training
    vae.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for start in range(0, images.shape[0], batch_size):
        x = to_float(images[start : start + batch_size].to(device), "unit")
        condition = () if labels is None else (labels[start : start + batch_size].to(device),)
        recon, mean, log_var = vae(x, *condition)
        loss = losses.vae_loss(recon, x, mean, log_var)
        totals += torch.stack([loss.kl, loss.mse, loss.total]).double()
    vae.train(was_training)
    kl, mse, total = (totals / images.shape[0]).tolist()
    return {"test_kl": kl, "test_mse": mse, "test_total": total}


@torch.no_grad()
def likelihood_bound(models: Models, images: torch.Tensor, device: torch.device, batch_size: int) -> dict[str, float]:
    """The pieces of a discrete likelihood bound on a uint8 split, per image: KL, squared error,
    the decoder's fitted standard deviation and the discretised Gaussian's -log p(x|z) at it
    (losses.discretised_gaussian_nll). One reparameterised draw per image, the same in both passes:
    the first fits sigma^2 = squared error per pixel (the variance that maximises the likelihood),
    the second integrates that Gaussian over each pixel's intensity bin."""
    vae = cast(VAE, models["vae"])
    was_training = vae.training
    vae.eval()
    draws = torch.random.get_rng_state()

    def reconstructions():  # noqa: ANN202 - yields (uint8 batch, decoder means, the batch's summed KL)
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size].to(device)
            recon, mean, log_var = vae(to_float(batch, "unit"))
            yield batch, recon, losses.kl_divergence(mean, log_var)

    squared, kl = 0.0, 0.0
    for batch, recon, kl_batch in reconstructions():
        squared += float((recon.double() - to_float(batch, "unit").double()).pow(2).sum())
        kl += float(kl_batch)
    n, pixels = images.shape[0], images[0].numel()
    sigma = max(squared / (n * pixels), 1e-12) ** 0.5
    torch.random.set_rng_state(draws)
    nll = sum(float(losses.discretised_gaussian_nll(batch.cpu(), recon.cpu(), sigma).sum())
              for batch, recon, _ in reconstructions())
    vae.train(was_training)
    return {"test_mse": squared / n, "test_kl": kl / n, "decoder_sigma": sigma, "test_nll_discrete": nll / n}


def plot_reconstructions(originals: torch.Tensor, reconstructions: torch.Tensor, per_row: int = 10) -> Figure:
    """Pairs of rows: originals above, their reconstructions below."""
    n = min(originals.shape[0], reconstructions.shape[0]) // per_row * per_row
    rows = []
    for start in range(0, n, per_row):
        rows += [originals[start : start + per_row], reconstructions[start : start + per_row]]
    figure = Figure(figsize=(per_row * 0.9, len(rows) * 0.95 + 0.6), layout="constrained")
    show_grid(figure.add_subplot(), torch.cat(rows), "Originals (odd rows) and reconstructions (even rows)", per_row)
    return figure


def plot_latent_manifold(decode, latent_range: float = 2.5, steps: int = 15) -> Figure:  # noqa: ANN001
    """Decode a grid of 2-D latent points: how the model lays out the data in its plane."""
    values = torch.linspace(-latent_range, latent_range, steps)
    # Rows run from +range at the top to -range at the bottom, as on a y axis.
    z = torch.stack([torch.stack([x, y]) for y in values.flip(0) for x in values])
    figure = Figure(figsize=(7, 7), layout="constrained")
    show_grid(figure.add_subplot(), decode(z), f"Decoded latent grid, z in [-{latent_range}, {latent_range}]^2", steps)
    return figure


def extra_figures(run: Any, names: tuple[str, ...] | None) -> dict[str, Any]:
    """Reconstructions of test images, and the decoded latent plane when the latent space is 2-D
    (an unconditional VAE's: a conditional one's plane differs per class)."""
    figures: dict[str, Any] = {}
    vae = run.models["vae"]
    labels = getattr(run, "test_labels", None)
    conditional = run.config.family.conditional
    if (names is None or "reconstructions" in names) and run.test_images is not None and (labels is not None or not conditional):
        originals = to_float(run.test_images[:40], "unit")
        condition = (labels[:40].to(run.device),) if labels is not None and conditional else ()
        was_training = vae.training
        vae.eval()
        with torch.no_grad():  # decode the posterior mean
            recon = vae.decode(vae.encode(originals.to(run.device), *condition)[0], *condition).cpu()
        vae.train(was_training)
        figures["reconstructions"] = plot_reconstructions(originals, recon)
    if run.config.latent_dim == 2 and not conditional and (names is None or "latent_manifold" in names):
        figures["latent_manifold"] = plot_latent_manifold(lambda z: run.generate(z).cpu())
    return figures


@torch.no_grad()
def kl_per_dimension(vae: VAE | ConvVAE, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Each latent dimension's KL(q(z_j|x) || N(0, 1)), averaged over the images, in nats. A
    dimension the KL term has switched off sits near 0: the encoder ignores it."""
    was_training = vae.training
    vae.eval()
    total = None
    for start in range(0, images.shape[0], batch):
        mean, log_var = vae.encode(as_unit_float(images[start:start + batch]))
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp())  # (B, latent)
        total = kl.sum(0) if total is None else total + kl.sum(0)
    vae.train(was_training)
    if total is None:
        raise GencoreError("kl_per_dimension needs at least one image.")
    return total / images.shape[0]


VAE_FAMILY = Family(
    name="vae",
    title="VAE",
    build=build,
    step=vae_step,
    parts={"reparameterize": VAE.reparameterize, "kl_divergence": losses.kl_divergence},
    sample_role="vae",
    value_range="unit",  # the decoder ends in a sigmoid
    metrics=("train_kl", "train_mse", "train_total"),
    loss_panels=(
        ("KL divergence per image", ("train_kl", "test_kl")),
        ("MSE per image", ("train_mse", "test_mse")),
        ("Total loss (MSE + KL) per image", ("train_total", "test_total")),
    ),
    labels={"train_kl": "train", "test_kl": "test", "train_mse": "train", "test_mse": "test",
            "train_total": "train", "test_total": "test"},
    reference_lines={},
    seed_settings=Settings(128, 1e-4, (0.9, 0.999), "the seed study: Adam, lr 1e-4, batch 128"),
    # The paper trained with Adagrad on minibatches of 100; Adam's usual rate (Kingma & Ba 2015) stands in.
    paper_settings=Settings(100, 1e-3, (0.9, 0.999), "Kingma & Welling 2014: minibatches of 100; Adam's usual lr 1e-3"),
    epoch_metrics=test_metrics,
    likelihood=likelihood_bound,
    own_settings=VaeSettings,
    extra_figures=extra_figures,
    latent_usage=lambda models, images: kl_per_dimension(cast("VAE | ConvVAE", models["vae"]), images),
    notebooks={"mnist": "01_vae_mnist.ipynb", "cifar10": "02_vae_cifar10.ipynb"},
    # cpu-fast: the MLP VAE is cheap; 10x the seed's lr converges in a few epochs instead of dozens.
    presets={"cpu-fast": {"mnist": {"lr": 1e-3, "time_budget": 5.0}, "cifar10": {"lr": 1e-3, "time_budget": 10.0}}},
    study_width=64,  # the seed's width: an MLP this size trains the whole study on a CPU
    in_seed_study=True,
)
