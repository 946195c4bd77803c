"""The figures of the course's lessons: each shows one effect that a notebook teaches, computed
from real models and data (or, for the toy examples, from closed forms).

- ``toy_divergences``: why the Jensen-Shannon divergence stops guiding a generator and the
  Earth Mover distance does not (05).
- ``generator_loss_curves``: the saturating and the non-saturating generator loss (03).
- ``plot_class_shares``: which classes the samples fall in; mode collapse shows here (03).
- ``nearest_neighbour_blur`` and ``power_spectra``: why summed MSE on colour images gives blur (02).
- ``kl_per_dimension``: how many latent dimensions a VAE really uses (02).
- ``spectrum_2d`` and ``colour_histograms``: checkerboard artefacts and colour statistics (04).
- ``quality_over_epochs`` and ``progress_measures``: instability, and whether a loss tracks quality (04, 06).
- ``critic_gap_curves`` and ``plot_critic_catch_up``: whether a training run's Earth Mover estimate is a
  distance, or only how far the critic is ahead of the generator (05).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence, cast

import torch
from matplotlib.figure import Figure
from torch import nn

from gencore.engine.data import as_unit_float, to_float
from gencore.engine.families.vae import kl_per_dimension
from gencore.engine.families.wgan_gp import WGAN_GP_FAMILY, critic_update
from gencore.engine.grids import show_grid
from gencore.engine.models.vae import VAE
from gencore.runs.plots import log_y_with_plain_ticks

if TYPE_CHECKING:
    from gencore.engine.config import TrainConfig

# ---------------------------------------------------------------------- 05: JSD against W1


def toy_divergences(sigma: float = 0.1) -> Figure:
    """p = N(0, sigma^2) and q = N(theta, sigma^2) on a line. Their Earth Mover distance is |theta|
    exactly; their JSD, computed on a fine grid, saturates at log 2 once they stop overlapping,
    so its slope (the generator's learning signal) vanishes."""
    x = torch.linspace(-1.0, 4.0, 20001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    density = lambda mu: torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))  # noqa: E731
    thetas = torch.linspace(0.0, 3.0, 121, dtype=torch.float64)
    p = density(0.0)
    jsd = []
    for theta in thetas:
        q = density(float(theta))
        m = (p + q) / 2
        kl = lambda a: float(torch.where(a > 1e-300, a * torch.log(a / m.clamp_min(1e-300)), torch.zeros_like(a)).sum() * dx)  # noqa: E731
        jsd.append(0.5 * kl(p) + 0.5 * kl(q))
    figure = Figure(figsize=(11, 3.6), layout="constrained")
    left, middle, right = figure.subplots(1, 3)
    for theta, style in ((0.0, "-"), (0.5, "--"), (2.0, ":")):
        left.plot(x, density(theta), style, label=f"q, theta = {theta:g}")
    left.fill_between(x, density(0.0), alpha=0.2, label="p (data)")
    left.set_title(f"data p and generator q (sigma {sigma:g})")
    left.set_xlim(-0.6, 2.6)
    left.legend(fontsize=8)
    middle.plot(thetas, jsd, label="JSD(p, q)")
    middle.axhline(math.log(2), color="grey", linestyle="--", linewidth=1, label="log 2")
    middle.plot(thetas, thetas, label="W1(p, q) = |theta|")
    middle.set_xlabel("theta (how far the generator is off)")
    middle.set_title("the two distances")
    middle.legend(fontsize=8)
    slope = torch.gradient(torch.tensor(jsd), spacing=(thetas,))[0]
    right.semilogy(thetas[1:], slope[1:].abs().clamp_min(1e-12), label="|d JSD / d theta|")
    right.semilogy(thetas[1:], torch.ones(len(thetas) - 1), label="|d W1 / d theta| = 1")
    right.set_xlabel("theta")
    right.set_title("their gradients: the learning signal")
    right.legend(fontsize=8)
    for ax in (left, middle, right):
        ax.grid(alpha=0.3)
    return figure


# ---------------------------------------------------------------------- 03: the generator's loss


def generator_loss_curves() -> Figure:
    """The saturating loss log(1 - D(G(z))) and the non-saturating -log D(G(z)), and the size of
    their gradients with respect to the discriminator's logit, as functions of D(G(z))."""
    d = torch.logspace(-5, math.log10(0.999), 400, dtype=torch.float64)
    logit = torch.log(d / (1 - d))
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.plot(d, torch.log(1 - d), label="saturating: log(1 - D(G(z))) (minimised)")
    left.plot(d, -torch.log(d), label="non-saturating: -log D(G(z)) (minimised)")
    left.set_xlabel("D(G(z)): how real the discriminator finds a sample")
    left.set_title("the generator's two losses")
    right.loglog(d, torch.sigmoid(logit), label="|d/dlogit log(1 - D)| = D")
    right.loglog(d, 1 - torch.sigmoid(logit), label="|d/dlogit -log D| = 1 - D")
    right.set_xlabel("D(G(z))")
    right.set_title("their gradients: early in training D(G(z)) is near 0")
    for ax in (left, right):
        ax.axvspan(1e-5, 1e-2, color="red", alpha=0.06)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    left.set_xscale("log")
    return figure


def plot_class_shares(shares: Sequence[float], classes: Sequence[str], title: str) -> Figure:
    """The share of generated samples the classifier puts in each class, against the data's 10%."""
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    ax = figure.add_subplot()
    ax.bar(range(len(shares)), [100 * s for s in shares], color="#4c72b0")
    ax.axhline(100 / len(shares), color="grey", linestyle="--", linewidth=1, label="the data: 10% each")
    ax.axhline(2.0, color="red", linestyle=":", linewidth=1, label="2%: below it a class counts as missing")
    ax.set_xticks(range(len(classes)), classes, rotation=30 if max(map(len, classes)) > 2 else 0)
    ax.set_ylabel("% of samples")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return figure


# ---------------------------------------------------------------------- 02: blur


@torch.no_grad()
def nearest_neighbours(queries: torch.Tensor, pool: torch.Tensor, k: int, chunk: int = 5000) -> torch.Tensor:
    """Indices (Q, k) of each query's k nearest images in ``pool`` by squared pixel distance."""
    q = as_unit_float(queries).flatten(1)
    best_d = torch.full((q.shape[0], k), math.inf)
    best_i = torch.zeros(q.shape[0], k, dtype=torch.long)
    for start in range(0, pool.shape[0], chunk):
        p = as_unit_float(pool[start:start + chunk]).flatten(1)
        distances = (q * q).sum(1, keepdim=True) + (p * p).sum(1) - 2 * q @ p.T  # (Q, chunk)
        candidates = torch.cat([best_i, torch.arange(start, start + p.shape[0]).expand(q.shape[0], -1)], 1)
        best_d, chosen = torch.cat([best_d, distances], 1).topk(k, dim=1, largest=False)
        best_i = candidates.gather(1, chosen)
    return best_i


@torch.no_grad()
def nearest_neighbour_blur(originals: torch.Tensor, reconstructions: torch.Tensor, pool: torch.Tensor, k: int = 16) -> Figure:
    """Rows: test images, the VAE's reconstructions, and the mean of each image's k nearest
    training images. Summed MSE is minimised by the conditional mean of the images the code
    could stand for, so a reconstruction looks like an average of similar images: blurred."""
    originals = as_unit_float(originals)
    neighbours = nearest_neighbours(originals, pool, k)
    averages = torch.stack([as_unit_float(pool[i]).mean(0) for i in neighbours])
    n = originals.shape[0]
    figure = Figure(figsize=(1.1 * n + 0.6, 4.2), layout="constrained")
    show_grid(figure.add_subplot(), torch.cat([originals, reconstructions.cpu().float(), averages]),
              f"top: test images; middle: the VAE's reconstructions; bottom: the mean of each image's {k} nearest training images",
              nrow=n)
    return figure


def radial_power(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean power per spatial frequency (cycles per image), averaged over images, channels and
    directions: (frequencies, power). Detail lives at high frequencies; blur removes it."""
    x = as_unit_float(images)
    x = x - x.mean(dim=(2, 3), keepdim=True)
    power = torch.fft.fftshift(torch.fft.fft2(x).abs().pow(2), dim=(-2, -1)).mean(dim=(0, 1))  # (H, W)
    h, w = power.shape
    yy, xx = torch.meshgrid(torch.arange(h) - h // 2, torch.arange(w) - w // 2, indexing="ij")
    radius = torch.sqrt(xx.float() ** 2 + yy.float() ** 2).round().long()
    top = min(h, w) // 2
    bins = int(radius.max()) + 1
    sums = torch.zeros(bins).index_add_(0, radius.flatten(), power.flatten())
    counts = torch.zeros(bins).index_add_(0, radius.flatten(), torch.ones(h * w))
    frequencies = torch.arange(1, top + 1)
    return frequencies, (sums / counts.clamp_min(1))[1:top + 1]


def nyquist_share(images: torch.Tensor) -> float:
    """The share of the images' spectral power (each image's mean removed, channels and images
    summed) at the Nyquist frequencies, the highest an image can hold: row or column frequency N/2,
    a pattern that repeats every 2 pixels. A checkerboard has all its power there; white noise has
    (H + W - 1) / (H W - 1) of it; a smooth photograph almost none. 0 for images without contrast."""
    x = as_unit_float(images)
    x = x - x.mean(dim=(2, 3), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).sum(dim=(0, 1))  # (H, W), frequency 0 first
    h, w = power.shape
    nyquist = torch.zeros(h, w, dtype=torch.bool)
    nyquist[h // 2, :] = True  # row frequency N/2 (H even: the index that is its own negative)
    nyquist[:, w // 2] = True
    total = float(power.sum())
    return float(power[nyquist].sum()) / total if total > 0 else 0.0


def power_spectra(sets: dict[str, torch.Tensor], title: str) -> Figure:
    """Radially averaged power spectra of image sets, and each set's power relative to the first
    (the real images): below 1 at high frequencies means detail is missing."""
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    spectra = {name: radial_power(images) for name, images in sets.items()}
    base = next(iter(spectra.values()))[1]
    for name, (frequencies, power) in spectra.items():
        left.loglog(frequencies, power, label=name)
        right.semilogy(frequencies, power / base, label=name)
    left.set_title("power spectrum (mean over images)")
    right.set_title("power relative to the real images")
    right.axhline(1.0, color="grey", linewidth=1)
    for ax in (left, right):
        ax.set_xlabel("spatial frequency (cycles per image)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    figure.suptitle(title)
    return figure


KL_ACTIVE_NATS = 0.01  # a latent dimension above this much KL (nats, averaged over images) counts as used


def plot_kl_per_dimension(curves: dict[str, torch.Tensor], threshold: float = KL_ACTIVE_NATS) -> Figure:
    """Per-dimension KL, sorted, one line per model: how many dimensions carry information."""
    figure = Figure(figsize=(7, 3.6), layout="constrained")
    ax = figure.add_subplot()
    for name, kl in curves.items():
        used = int((kl > threshold).sum())
        ax.semilogy(torch.arange(1, kl.numel() + 1), kl.sort(descending=True).values.clamp_min(1e-5),
                    label=f"{name}: {used} of {kl.numel()} dimensions above {threshold:g} nats")
    ax.axhline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("latent dimension, sorted by its KL")
    ax.set_ylabel("KL per image (nats)")
    ax.set_title("How much information each latent dimension carries")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return figure


VARIANCE_LATENT = 16  # room for dimensions to switch off
VARIANCE_LR = 1e-3  # Adam's usual rate, 10x the seed's (Kingma and Welling used Adagrad): a short run gets somewhere
FITTED_VARIANCE = 0.02  # about the squared error per pixel a trained MNIST VAE reaches: the variance a fit would choose


def decoder_variance_runs(config: "TrainConfig", variances: Sequence[float], runs_dir: str, epochs: int, subset: int,
                          images: int = 10) -> tuple[Figure, list[dict[str, float]]]:
    """01's knob, measured: the same short VAE run (latent VARIANCE_LATENT, ``epochs`` on ``subset``
    images) once per decoder variance sigma^2, train-or-load. Returns a figure (test images, then
    each run's reconstructions and samples) and per run: the variance, the squared error per
    pixel, the KL per image and the latent dimensions carrying more than KL_ACTIVE_NATS."""
    import dataclasses

    from gencore.engine.data import load_dataset
    from gencore.runs.start import train_or_load

    test = load_dataset(config.dataset, "test", config.data_root, subset=2000, seed=0).images
    test_unit = as_unit_float(test)  # (2000, C, H, W) in [0, 1]
    originals = test_unit[:images]
    figure = Figure(figsize=(images * 0.9, 1.1 + 2.1 * len(variances)), layout="constrained")
    axes = figure.subplots(1 + 2 * len(variances), 1)
    show_grid(axes[0], originals, "test images", images)
    numbers = []
    for index, variance in enumerate(variances):
        run = config.replace(latent_dim=VARIANCE_LATENT, lr=VARIANCE_LR, epochs=epochs, subset=subset,
                             decoder_variance=variance, eval_every=0, time_budget=None)
        vae = cast(VAE, train_or_load(run, runs_dir, progress=False).models[str(run.family.sample_role)].cpu().eval())
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            recon = vae.decode(vae.encode(originals)[0])  # the posterior means, decoded
            samples = vae.decode(torch.randn(images, VARIANCE_LATENT))
        kl = kl_per_dimension(vae, test)
        with torch.no_grad():
            full = vae.decode(vae.encode(test_unit)[0])
        numbers.append({"variance": variance, "mse_per_pixel": float((full - test_unit).pow(2).mean()),
                        "kl_nats": float(kl.sum()), "active": int((kl > KL_ACTIVE_NATS).sum())})
        label = f"sigma^2 = {variance:g}: squared error weighed {1 / (2 * variance):.3g}x"
        show_grid(axes[1 + 2 * index], recon, f"{label}; reconstructions (squared error {numbers[-1]['mse_per_pixel']:.3f} "
                  f"per pixel, KL {numbers[-1]['kl_nats']:.1f} nats)", images)
        show_grid(axes[2 + 2 * index], samples, f"{label}; samples from the prior", images)
    return figure, numbers


# ---------------------------------------------------------------------- 04: artefacts and colour


def spectrum_2d(sets: dict[str, torch.Tensor]) -> Figure:
    """The mean 2-D log power spectrum of each image set (zero frequency in the centre, the
    highest frequencies at the borders). A transposed convolution that has not learnt to hide
    its stride leaves a checkerboard: bright points at half the sampling rate, on the border."""
    figure = Figure(figsize=(3.6 * len(sets), 3.6), layout="constrained")
    axes = figure.subplots(1, len(sets), squeeze=False)[0]
    for ax, (name, images) in zip(axes, sets.items()):
        x = as_unit_float(images)
        x = x - x.mean(dim=(2, 3), keepdim=True)
        power = torch.fft.fftshift(torch.fft.fft2(x).abs().pow(2), dim=(-2, -1)).mean(dim=(0, 1))
        ax.imshow(power.clamp_min(1e-8).log10().numpy(), cmap="magma")
        ax.set_title(name)
        ax.set_xticks([0, power.shape[1] // 2], ["-N/2", "0"])
        ax.set_yticks([0, power.shape[0] // 2], ["-N/2", "0"])
    figure.suptitle("mean log10 power spectrum (frequency 0 in the centre)")
    return figure


def colour_histograms(sets: dict[str, torch.Tensor], bins: int = 32) -> Figure:
    """Histograms of the red, green and blue values and of the saturation (max - min of the three),
    per image set: a generator can match shapes and still miss the data's colours."""
    figure = Figure(figsize=(14, 3.2), layout="constrained")
    axes = figure.subplots(1, 4)
    for name, images in sets.items():
        x = as_unit_float(images)
        for ax, channel, colour in zip(axes[:3], range(3), ("red", "green", "blue")):
            ax.hist(x[:, channel].flatten().numpy(), bins=bins, range=(0, 1), histtype="step", density=True,
                    linewidth=1.5, label=name)
            ax.set_title(f"{colour} values")
        saturation = x.max(1).values - x.min(1).values
        axes[3].hist(saturation.flatten().numpy(), bins=bins, range=(0, 1), histtype="step", density=True,
                     linewidth=1.5, label=f"{name} (mean {float(saturation.mean()):.2f})")
        axes[3].set_title("saturation (max - min of R, G, B)")
    for ax in axes:
        ax.set_yticks([])
        ax.legend(fontsize=8)
    return figure


def zoom(images: torch.Tensor, count: int = 4, scale: int = 6) -> Figure:
    """A few images enlarged pixel for pixel, so that a pixel-level pattern can be seen."""
    x = as_unit_float(images[:count])
    big = torch.nn.functional.interpolate(x, scale_factor=scale, mode="nearest")
    figure = Figure(figsize=(2.2 * count, 2.6), layout="constrained")
    show_grid(figure.add_subplot(), big, f"{count} samples, each pixel drawn {scale}x{scale}", nrow=count)
    return figure


# ---------------------------------------------------------------------- 04, 06: training curves


def quality_over_epochs(histories: dict[str, list[dict[str, float]]], title: str) -> Figure:
    """fd (every few epochs, 2,000 samples) against epochs, one line per run."""
    figure = Figure(figsize=(7, 3.6), layout="constrained")
    ax = figure.add_subplot()
    for name, history in histories.items():
        points = [(row["epoch"], row["fd"]) for row in history if not math.isnan(row.get("fd", math.nan))]
        if points:
            ax.plot(*zip(*points), marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("fd (lower is better)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return figure


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation: the Pearson correlation of the two lists' ranks (no ties
    expected in measured losses). +1 when one always rises with the other, -1 when it always falls."""
    ranks = lambda v: torch.tensor(v, dtype=torch.float64).argsort().argsort().double()  # noqa: E731
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / torch.sqrt((ra * ra).sum() * (rb * rb).sum()))


def measured_points(history: list[dict[str, float]], column: str) -> tuple[list[float], list[float], list[float]]:
    """(epochs, column, fd) at the epochs where fd was measured."""
    rows = [r for r in history if not math.isnan(r.get("fd", math.nan)) and column in r]
    return [r["epoch"] for r in rows], [r[column] for r in rows], [r["fd"] for r in rows]


def progress_measures(panels: dict[str, tuple[list[dict[str, float]], str]]) -> Figure:
    """For each run, its training estimate (JSD or EMD) against fd at the same epochs, with
    Spearman's rank correlation: does the number the loss gives track sample quality?"""
    figure = Figure(figsize=(4.6 * len(panels), 3.8), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, (history, column)) in zip(axes, panels.items()):
        epochs, estimate, fd = measured_points(history, column)
        if len(epochs) < 3:
            ax.text(0.5, 0.5, "fewer than 3 measured epochs", ha="center", transform=ax.transAxes)
            ax.set_title(name)
            continue
        points = ax.scatter(estimate, fd, c=epochs, cmap="viridis", s=18)
        log_y_with_plain_ticks(ax)
        ax.set_xlabel({"jsd": "JSD estimate (nats)", "emd": "Earth Mover estimate"}.get(column, column))
        ax.set_ylabel("fd")
        ax.set_title(f"{name}\nSpearman rho = {spearman(estimate, fd):+.2f} over {len(epochs)} epochs")
        ax.grid(alpha=0.3, which="both")
        figure.colorbar(points, ax=ax, label="epoch")
    return figure


# ---------------------------------------------------------------------- 05: is the estimate a distance?


def critic_gap_curves(generator: nn.Module, latent_dim: int, train_images: torch.Tensor, test_images: torch.Tensor,
                    critics: dict[str, nn.Module], steps: int, lr: float = 1e-4, gp_weight: float = 10.0,
                    batch: int = 64, points: int = 6, seed: int = 0) -> dict[str, list[tuple[int, float]]]:
    """Train each critic alone against a frozen generator, with the critic update that trains
    the WGAN-GP (``critic_update``), and measure its score gap E[f(x)] - E[f(G(z))] on held-out real images and a
    fixed set of samples at ``points`` evenly spaced steps (step 0 included).

    During training the generator moves after every few critic steps; here it never does, so
    the gap shows how much of the distance a critic can see once it catches up. Images are
    uint8 (N, C, H, W); the critics are trained in place (pass copies to keep the originals).
    Returns name -> [(step, gap), ...]."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    generator = generator.eval()
    device = next(generator.parameters()).device
    seeded = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        real_test = to_float(test_images, "symmetric").to(device)
        fake_test = torch.cat([generator(torch.randn(len(chunk), latent_dim, generator=seeded).to(device))
                               for chunk in real_test.split(500)])

    def gap(critic: nn.Module) -> float:
        with torch.no_grad():
            real = torch.cat([critic(chunk) for chunk in real_test.split(500)]).mean()
            fake = torch.cat([critic(chunk) for chunk in fake_test.split(500)]).mean()
        return float(real - fake)

    marks = sorted({round(steps * k / (points - 1)) for k in range(points)})
    curves: dict[str, list[tuple[int, float]]] = {}
    for name, critic in critics.items():
        critic.train().requires_grad_(True)
        optimizer = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.0, 0.9))  # the WGAN-GP paper's betas
        torch.manual_seed(seed)  # every critic sees the same batches, noise and interpolation weights
        curve = [(0, gap(critic))]
        for step in range(1, steps + 1):
            x = to_float(train_images[torch.randint(len(train_images), (batch,))], "symmetric").to(device)
            with torch.no_grad():
                fake = generator(torch.randn(batch, latent_dim, device=device))  # (B, C, H, W)
            critic_update(critic, optimizer, x, fake, gp_weight, WGAN_GP_FAMILY.parts)  # the step that trains the WGAN-GP
            if step in marks:
                curve.append((step, gap(critic)))
        critic.eval().requires_grad_(False)
        curves[name] = curve
    return curves


def critic_linearity(critic: nn.Module, images: torch.Tensor) -> tuple[float, float]:
    """(mean cosine between the critic's input gradients at different images, mean gradient norm).

    A linear critic f(x) = w.x has the same gradient w everywhere: cosine 1. It satisfies the gradient
    penalty exactly (norm 1) and can only compare the two distributions' means, so once the generator
    matches the mean image its gap, and the penalty, fall to about 0 and nothing guides the rest.
    ``images``: (N, C, H, W) in the critic's range."""
    x = images.detach().float().requires_grad_(True)
    was_training = critic.training
    critic.eval()
    (gradients,) = torch.autograd.grad(critic(x).sum(), x)
    critic.train(was_training)
    flat = gradients.flatten(1)
    unit = nn.functional.normalize(flat, dim=1)
    n = unit.shape[0]
    cosine = (unit @ unit.T).sum() - n  # the off-diagonal pairs
    return float(cosine / (n * n - n)), float(flat.norm(dim=1).mean())


def plot_critic_catch_up(curves: dict[str, list[tuple[int, float]]], estimate: float | None, title: str) -> Figure:
    """The score gap of each critic trained alone against the frozen generator, with the
    estimate the run's own training ended on."""
    figure = Figure(figsize=(8, 3.8), layout="constrained")
    ax = figure.add_subplot()
    for name, curve in curves.items():
        ax.plot(*zip(*curve), marker="o", markersize=4, label=name)
    if estimate is not None and not math.isnan(estimate):
        ax.axhline(estimate, color="grey", linestyle="--", linewidth=1, label=f"the run's last estimate in training ({estimate:.2f})")
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xlabel("critic steps against the frozen generator")
    ax.set_ylabel("E[f(x)] - E[f(G(z))], held-out images")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure


__all__ = ["toy_divergences", "generator_loss_curves", "plot_class_shares", "nearest_neighbours",
           "nearest_neighbour_blur", "radial_power", "power_spectra", "kl_per_dimension", "plot_kl_per_dimension",
           "spectrum_2d", "colour_histograms", "zoom", "quality_over_epochs", "spearman", "measured_points",
           "progress_measures", "critic_gap_curves", "plot_critic_catch_up", "critic_linearity", "decoder_variance_runs", "VARIANCE_LATENT",
           "FITTED_VARIANCE"]
