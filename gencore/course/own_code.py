"""The learner's own functions, trained: a small in-memory run whose step calls them in place of
gencore's, compared with gencore's own from the same seed."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from gencore.engine.config import TrainConfig
from gencore.engine.loop import Trainer
from gencore.runs.figures import FIGURE_SAMPLES

EXERCISE_BATCH = 64  # the small run's batch: many steps on few images, so the curves have points
EXERCISE_POINTS = 40  # points on its loss curves


def train_with(config: TrainConfig, overrides: Mapping[str, Callable[..., Any]], epochs: int = 1,
               subset: int | None = 4096, compare: bool = True) -> Trainer | None:
    """Train a small run in memory whose step calls the learner's functions (``overrides``) in
    place of gencore's, at the family paper's learning rate (it learns visibly in a few hundred
    steps). With ``compare``, also train the same run with gencore's own functions and say
    whether the numbers agree."""
    from gencore.course.exercises import is_answer

    if epochs < 1:
        print("exercise_epochs is 0: the run with your own functions is skipped.")
        return None
    small = dataclasses.replace(config, epochs=epochs, subset=subset, eval_every=0, time_budget=None,
                                batch_size=EXERCISE_BATCH, lr=config.family.paper_settings.lr)
    own = {name: fn for name, fn in overrides.items() if not is_answer(name, fn)}
    trainer = _small_trainer(small, overrides)
    trainer.fit()
    who = ", ".join(sorted(own)) if own else "none (the checks fell back to gencore's)"
    print(f"Trained {epochs} epoch(s) on {len(trainer.train_data):,} images with your functions: {who}.")
    if compare and own:
        theirs = _small_trainer(small, {})
        theirs.fit()
        gap = max(abs(a[k] - b[k]) for a, b in zip(trainer.history, theirs.history) for k in a if k != "epoch")
        verdict = "the same numbers" if gap < 1e-4 else f"numbers that differ by up to {gap:.3g}"
        print(f"gencore's own functions, from the same seed, give {verdict} (largest gap in the history: {gap:.2e}).")
    return trainer


def _small_trainer(config: TrainConfig, overrides: Mapping[str, Callable[..., Any]]) -> Trainer:
    trainer = Trainer(config, overrides)
    trainer.log_every = max(1, config.epochs * trainer.steps_per_epoch // EXERCISE_POINTS)
    return trainer


def own_run_figures(trainer: Trainer | None, heading: str | None = None) -> Any:
    """The learner's small run: its loss curves and its samples, side by side, under ``heading``
    (by default, the step count of a run with the learner's functions). None: no run."""
    if trainer is None:
        return None
    from matplotlib.figure import Figure

    from gencore.engine.grids import show_grid

    panels = trainer.family.loss_panels
    figure_ = Figure(figsize=(4.2 * (len(panels) + 1), 3.6), layout="constrained")
    axes = figure_.subplots(1, len(panels) + 1)
    trace = trainer.trace
    for ax, (title, columns) in zip(axes, panels):
        for column in columns:
            points = [(row["epoch"], row[column]) for row in trace if column in row]
            if points:
                ax.plot(*zip(*points), label=trainer.family.labels.get(column, column))
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    show_grid(axes[-1], trainer.sample(FIGURE_SAMPLES, trainer.config.seed)[:36], "samples", nrow=6)
    figure_.suptitle(heading or f"Your functions, training: {trainer.global_step} steps of {trainer.config.batch_size} "
                              f"images at lr {trainer.config.lr:g}; losses every {trainer.log_every} steps, samples at the end")
    return figure_
