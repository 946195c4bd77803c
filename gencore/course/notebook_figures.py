"""The figures a notebook draws of a run, titled with what they show (the learner's run or the
shipped reference), and 05's critics that catch up with a frozen generator."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from gencore.course.explore import interpolation_images
from gencore.course.lessons import critic_gap_curves, plot_critic_catch_up
from gencore.course.reference_runs import ReferenceRun
from gencore.engine.config import latent_words
from gencore.engine.data import image_shape, load_dataset
from gencore.engine.models.gan import Critic
from gencore.runs.checkpoint import load_run
from gencore.runs.figures import run_figures
from gencore.runs.plots import plot_interpolation, plot_losses


def label(run: Any) -> str:
    """How a figure names the run it shows."""
    config = run.config
    prefix = f"{run.label}: " if getattr(run, "label", "") else ""
    return f"{prefix}{config.model.upper()} on {config.dataset}, {latent_words(config.latent_dim)}{run.epoch:g} epochs"


def figure(run: Any, name: str) -> Any:
    """One of the run's figures (samples, real_vs_generated, losses, reconstructions, latent_manifold),
    titled with what it shows."""
    figures = run_figures(run, (name,))
    if name not in figures:
        raise KeyError(f"the run has no {name!r} figure (have: {', '.join(run_figures(run)) or 'none'})")
    result = figures[name]
    result.suptitle(label(run) if name != "latent_manifold" else f"{label(run)}: the decoded latent plane")
    return result


def losses_figure(run: Any) -> Any:
    return plot_losses(run.history, run.config.family, label(run), run.trace)


def interpolation(run: Any, pairs: int = 4, steps: int = 10, seed: int = 0) -> Any:
    images = interpolation_images(run.models, run.config, pairs=pairs, steps=steps, seed=seed, device=run.device)
    return plot_interpolation(images, f"{label(run)}: walks between random latent points (slerp)")


def critic_catch_up(run: Any, steps: int, widths: Sequence[int] = (64,), data_root: str | None = None,
                    lr: float | None = None, train_images: int = 10000, test_images: int = 2000) -> Any:
    """05's question: is the Earth Mover estimate a distance? Freeze the run's generator and train
    critics alone against it (the run's own critic, when it has one, on a copy; a new critic of
    the run's width; new critics of ``widths``), at the run's own learning rate unless ``lr`` is
    given, then plot each one's score gap on held-out images against the estimate the run's
    training ended on. ``run`` is a notebook's run, or a run directory."""
    if isinstance(run, (str, Path)):
        config, models, history = load_run(run)
        run = ReferenceRun(config, models, history, [], len(history), torch.empty(0), torch.empty(0), {}, label="")
    config = run.config
    if "generator" not in run.models:
        raise ValueError(f"critic_catch_up needs a run with a generator (GAN or WGAN-GP); this is a {config.model} run.")
    root = data_root or config.data_root
    train = load_dataset(config.dataset, "train", root, train_images, config.seed, cap_subset=True).images
    test = load_dataset(config.dataset, "test", root, test_images, 0, cap_subset=True).images
    torch.manual_seed(config.seed)  # the new critics start from the same weights on every run
    critics: dict[str, nn.Module] = {}
    if "critic" in run.models:
        critics[f"the run's critic (width {config.width}), trained on"] = copy.deepcopy(run.models["critic"])
    for width in dict.fromkeys((config.width, *widths)):
        critics[f"a new critic, width {width}"] = Critic(image_shape(config.dataset), width,
                                                             config.critic_norm).to(run.device)  # the run's kind
    curves = critic_gap_curves(run.models["generator"], config.latent_dim, train, test, critics, steps,
                              lr=lr or config.lr, gp_weight=config.gp_weight, seed=config.seed)
    estimates = [row["emd"] for row in run.history if "emd" in row]
    for name, curve in curves.items():
        print(f"{name}: gap {curve[0][1]:.2f} at step 0, {curve[-1][1]:.2f} after {curve[-1][0]} steps")
    return plot_critic_catch_up(curves, estimates[-1] if estimates else None,
                                f"{label(run)}\ncritics trained against its frozen generator")
