"""A run's figures, by file stem: samples, real_vs_generated, losses, and what its family adds
(the VAE's reconstructions and, for a 2-D latent space, its latent map).

They are drawn from a *run view*: anything with ``config``, ``models``, ``history``, ``trace``,
``epoch``, ``device``, ``real_images`` and ``test_images`` (uint8, or None) and a
``generate(z)`` method: the Trainer, or a shipped reference model (gencore.course).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from gencore.engine.data import to_float
from gencore.engine.files import atomic_write
from gencore.runs import plots

FIGURE_SAMPLES = 64  # images in each sample grid, from as many fixed latent points
DPI = 110  # saved figures: sharp on a laptop screen, a few hundred KB each


def figure_latents(config: Any) -> torch.Tensor:
    """The fixed latent points every sample figure of a run draws, from their own generator (so
    drawing never moves the run's random state): the same points at every epoch and for every
    run of one seed and latent size, so figures compare."""
    return torch.randn(FIGURE_SAMPLES, config.latent_dim, generator=torch.Generator().manual_seed(config.seed))


def run_figures(run: Any, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The figures that apply, or only those in ``names``; nothing else is drawn."""
    config = run.config
    wanted = lambda name: names is None or name in names  # noqa: E731
    title = f"{config.model.upper()} on {config.dataset}, latent {config.latent_dim}, epoch {run.epoch:g}"
    figures: dict[str, Any] = {}
    if wanted("samples") or wanted("real_vs_generated"):
        generated = run.generate(figure_latents(config)).cpu()
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
