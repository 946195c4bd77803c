"""Figures: image grids, generated next to real, loss curves, interpolations, the study's grids.

Every function returns a matplotlib ``Figure`` built without pyplot, so it works the same
in a notebook (displayed) and headless (saved), and never changes the global backend.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from gencore.engine.families import Family, get_family
from gencore.engine.grids import show_grid


def log_y_with_plain_ticks(ax: Axes) -> None:
    """A log-scaled y axis whose ticks read 30, 60 rather than 3x10^1, 6x10^1 (fd often spans a narrow range)."""
    ax.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)


def plot_samples(images: torch.Tensor, title: str = "Generated samples", nrow: int | None = None) -> Figure:
    figure = Figure(figsize=(6, 6), layout="constrained")
    show_grid(figure.add_subplot(), images, title, nrow)
    return figure


def plot_real_vs_generated(real: torch.Tensor, generated: torch.Tensor, title: str = "") -> Figure:
    """Originals on the left, generated on the right, at the same scale."""
    figure = Figure(figsize=(11, 5.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    show_grid(left, real, "Original images")
    show_grid(right, generated, "Generated images")
    if title:
        figure.suptitle(title)
    return figure


def plot_losses(history: Sequence[dict], model: str | Family, title: str = "", trace: Sequence[dict] | None = None) -> Figure:
    """The seed's loss panels for one model family, one point per epoch; with a ``trace`` (the
    trainer's means over every few steps), also the curves inside each epoch as thin lines."""
    family = get_family(model) if isinstance(model, str) else model
    panels = family.loss_panels
    figure = Figure(figsize=(4.6 * len(panels), 3.6), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]  # a list even for a family with one panel
    epochs = [row["epoch"] for row in history]
    trace = list(trace or [])
    steps_x = [row["epoch"] for row in trace]
    for ax, (panel_title, columns) in zip(axes, panels):
        for column in columns:
            values = [row.get(column, math.nan) for row in history]
            (line,) = ax.plot(epochs, values, marker="o" if len(epochs) < 30 else None, label=family.labels.get(column, column))
            if len(trace) >= 2 and any(column in row for row in trace):
                ax.plot(steps_x, [row.get(column, math.nan) for row in trace], color=line.get_color(), linewidth=0.8, alpha=0.6)
            for value, label, style in family.reference_lines.get(column, ()):
                ax.axhline(value, color="grey", linestyle=style, linewidth=1, label=label)
        ax.set_title(panel_title)
        ax.set_xlabel("epoch")
        if len(trace) >= 2:  # the curves start inside the first epoch
            ax.set_xlim(0, max(max(epochs, default=0), max(steps_x)) * 1.02)
            ax.xaxis.set_major_locator(MaxNLocator(integer=len(epochs) > 1, steps=[1, 2, 2.5, 5, 10]))
        elif len(epochs) <= 12:  # a tick per epoch; a lone point gets an axis around it, not fractions
            ax.set_xticks(epochs)
            ax.set_xlim(min(epochs, default=1) - 0.5, max(epochs, default=1) + 0.5)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if len(trace) >= 2:
        figure.supxlabel("thin lines: means over a few training steps; dots: means over each epoch", fontsize=8)
    if title:
        figure.suptitle(title)
    return figure


def plot_interpolation(images: torch.Tensor, title: str = "Interpolation between two latent points") -> Figure:
    """One row per pair: images decoded along straight lines between latent points."""
    figure = Figure(figsize=(12, 1.4 * max(1, images.shape[0] // 10) + 0.6), layout="constrained")
    show_grid(figure.add_subplot(), images, title, nrow=10)
    return figure


def plot_quality_over_time(series: dict[str, list[tuple[float, float, int]]], title: str = "Sample quality against training time") -> Figure:
    """Fréchet distance (lower is better) and classes covered against training minutes, one
    line per run. ``series`` maps a label to (seconds, fd, classes_covered) points."""
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    fd_ax, cover_ax = figure.subplots(1, 2)
    for label, points in series.items():
        minutes = [t / 60 for t, _, _ in points]
        fd_ax.plot(minutes, [fd for _, fd, _ in points], marker="o", label=label)
        cover_ax.plot(minutes, [c for _, _, c in points], marker="o", label=label)
    fd_ax.set_title("Fréchet distance to the test split (lower is better)")
    log_y_with_plain_ticks(fd_ax)
    cover_ax.set_title("Classes with at least 2% of the samples")
    cover_ax.set_ylim(0, 10.5)
    for ax in (fd_ax, cover_ax):
        ax.set_xlabel("training minutes")
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=8)
    figure.suptitle(title)
    return figure
