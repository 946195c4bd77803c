"""A run, built: the engine's Trainer with the callbacks of a run attached (its folder, quality
rows every ``eval_every`` epochs, a progress bar), the folder name of a configuration, and
train-or-load, which never trains the same configuration twice."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from gencore.engine.config import UNNAMED_DEFAULTS, TrainConfig
from gencore.engine.families import FAMILIES
from gencore.engine.loop import Callback, Trainer, TrainResult
from gencore.quality.metrics import QualityRows
from gencore.runs.progress import ProgressBar
from gencore.runs.rundir import RunDirectory

__all__ = ["start_run", "train", "train_or_load", "run_name", "resume_point"]


def start_run(config: TrainConfig, run_dir: str | os.PathLike | None = None, resume: bool = False,
              progress: bool = True, overrides: Mapping[str, Callable[..., Any]] | None = None) -> Trainer:
    """A Trainer for ``config`` with a run's callbacks: the run directory (checked and locked before
    anything loads, its checkpoint restored when resuming; none when ``run_dir`` is None), quality
    rows in the history when ``config.eval_every`` asks for them, and a progress bar."""
    directory = RunDirectory(Path(run_dir), resume) if run_dir is not None else None  # fails before loading
    try:
        trainer = Trainer(config, overrides)
    except BaseException:
        if directory is not None:
            directory.lock.release()  # nothing was written: the folder is free for the next try
        raise
    if config.eval_every:  # on_epoch_row: an epoch's quality joins its row before on_epoch_end saves it
        trainer.add_callback("on_epoch_row", QualityRows(verbose=progress))
    if directory is not None:
        directory.attach(trainer)  # restores the checkpoint when resuming
    if progress:
        ProgressBar().attach(trainer)
    return trainer


def train(config: TrainConfig, run_dir: str | os.PathLike | None = None, resume: bool = False,
          progress: bool = True) -> TrainResult:
    """Train one configuration into ``run_dir`` (or in memory when None)."""
    return start_run(config, run_dir, resume=resume, progress=progress).fit()


def run_name(config: TrainConfig) -> str:
    """A readable, unique folder name for a configuration: the same settings, the same name.
    A setting enters the digest as its record says (gencore.engine.config.UNNAMED_DEFAULTS for shared
    ones; a family setting away from its default, or always where its ``always_named`` says so), so
    a setting added later leaves the names of earlier runs as they were."""
    ignored = ("device", "data_root", "time_budget", "extra", "eval_every")
    own = set(config.family.own_fields)
    identity = {k: v for k, v in config.to_dict().items()
                if k not in ignored and k not in own and not (k in UNNAMED_DEFAULTS and v == UNNAMED_DEFAULTS[k])}
    for family in FAMILIES.values():
        for item in family.settings:
            value = getattr(config.own, item.name) if family is config.family else item.default
            if item.about.always_named or (family is config.family and value != item.default):
                identity[item.name] = value
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    subset = f"-n{config.subset}" if config.subset else ""
    latent = f"-z{config.latent_dim}" if config.latent_dim is not None else ""
    return f"{config.model}-{config.dataset}{latent}-e{config.epochs}{subset}-s{config.seed}-{digest}"


def resume_point(trainer: Trainer) -> str:
    """Where a restored, unfinished run stands, in words: '2 of 5 epochs done, 12 steps into the next'."""
    done = f"{trainer.epoch} of {trainer.config.epochs} epochs done"
    return done + (f", {trainer.step_in_epoch} steps into the next" if trainer.step_in_epoch else "")


def train_or_load(config: TrainConfig, runs_dir: str | os.PathLike = "runs", progress: bool = True,
                  callbacks: dict[str, list[Callback]] | None = None) -> Trainer:
    """Train ``config`` into ``runs_dir/run_name(config)``, or load it if it already finished
    there: nothing trains twice for the same configuration. An unfinished run resumes.
    Returns the trainer, whose ``history`` and ``models`` are ready to plot and sample."""
    run_dir = Path(runs_dir) / run_name(config)
    trainer = start_run(config, run_dir, resume=True, progress=progress)
    for event, fns in (callbacks or {}).items():
        for fn in fns:
            trainer.add_callback(event, fn)
    if trainer.finished:
        print(f"Loaded the finished run in {run_dir} ({trainer.epoch} epochs); nothing to train.")
    else:
        if trainer.global_step > 0:  # a kernel, worker or Ctrl-C stopped it: its last checkpoint is kept
            print(f"Resuming the unfinished run in {run_dir} from its last checkpoint: {resume_point(trainer)}.")
        trainer.fit()
    return trainer
