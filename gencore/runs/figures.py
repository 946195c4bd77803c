"""A run's figures, by file stem: samples, real_vs_generated, losses, and what its family adds
(the VAE's reconstructions and, for a 2-D latent space, its latent map).

They are drawn from a *run view*: anything with ``config``, ``models``, ``history``, ``trace``,
``epoch``, ``device``, ``real_images`` and ``test_images`` (uint8, or None) and the methods
``sample(n, seed)`` (the family's sampler) and, for a latent family, ``generate(z)``: the
Trainer, or a shipped reference model (gencore.course).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from gencore.engine.config import latent_words
from gencore.engine.data import to_float
from gencore.engine.files import atomic_write
from gencore.runs import plots

FIGURE_SAMPLES = 64  # images in each sample grid, drawn from a generator seeded with the run's seed
DPI = 110  # saved figures: sharp on a laptop screen, a few hundred KB each


def figure_latents(config: Any) -> torch.Tensor:
    """The latent points behind a latent family's sample figures: the first draws of a generator
    seeded with the run's seed, the same at every epoch (figure_samples decodes exactly these)."""
    return torch.randn(FIGURE_SAMPLES, config.latent_dim, generator=torch.Generator().manual_seed(config.seed))


def figure_samples(run: Any) -> torch.Tensor:
    """The images every sample figure of a run shows: FIGURE_SAMPLES draws of the family's sampler
    from their own generator seeded with the run's seed (so drawing never moves the run's random
    state): the same noise at every epoch and for every run of one seed and latent size, so figures compare."""
    return run.sample(FIGURE_SAMPLES, run.config.seed).cpu()


def run_figures(run: Any, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The figures that apply, or only those in ``names``; nothing else is drawn."""
    config = run.config
    wanted = lambda name: names is None or name in names  # noqa: E731
    title = f"{config.model.upper()} on {config.dataset}, {latent_words(config.latent_dim)}epoch {run.epoch:g}"
    figures: dict[str, Any] = {}
    if wanted("samples") or wanted("real_vs_generated"):
        generated = figure_samples(run)
        if wanted("samples"):
            figures["samples"] = plots.plot_samples(generated, title)
        if wanted("real_vs_generated"):
            real = to_float(run.real_images[:FIGURE_SAMPLES], "unit")
            figures["real_vs_generated"] = plots.plot_real_vs_generated(real, generated, title)
    if run.history and wanted("losses"):
        figures["losses"] = plots.plot_losses(run.history, config.family, title, run.trace)
    if config.family.extra_figures is not None:
        figures.update(config.family.extra_figures(run, names))
    return figures


def save_figures(run: Any, folder: Path) -> None:
    """Write every figure of the run as folder/<name>.png (atomically: a full disk leaves the
    previous figure, and one clear error)."""
    for name, figure in run_figures(run).items():
        save_png(figure, folder / f"{name}.png")


def save_png(figure: Any, path: Path, dpi: int = DPI) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
