"""A trainer's state as a checkpoint holds it: networks, optimisers, where the run stands, its
history and trace, the partial epoch's sums and every random state. The Trainer saves and
restores itself with these (``Trainer.state_dict`` / ``load_state_dict``); a run directory only
persists what they return."""

from __future__ import annotations

import platform
from typing import Any

import torch

from gencore.engine.config import TrainConfig
from gencore.engine.errors import CheckpointError, GencoreError
from gencore.engine.runtime import capture_rng_state, cpu_model, machine_name

__all__ = ["load_trainer_state", "run_record", "trainer_state"]


def trainer_state(trainer: Any) -> dict[str, Any]:
    """Everything a resumed run needs to end with exactly the numbers of an uninterrupted one."""
    return {
        "config": trainer.config.to_dict(),
        "models": {name: model.state_dict() for name, model in trainer.models.items()},
        "optimizers": {name: opt.state_dict() for name, opt in trainer.optimizers.items()},
        "epoch": trainer.epoch, "step_in_epoch": trainer.step_in_epoch, "global_step": trainer.global_step,
        "history": trainer.history, "trace": trainer.trace,
        "partial_epoch": trainer.accumulator.state(),
        # inside fit() the run's random state is torch's own; between fits the trainer keeps it
        "rng": capture_rng_state() if trainer._running else trainer._rng_state,
        "seconds": trainer.seconds, "epoch_seconds": trainer.epoch_seconds,
        "precision": trainer.precision, "resumed_from": trainer.resumed_from,
    }


def load_trainer_state(trainer: Any, state: dict[str, Any]) -> None:
    """Put a checkpoint's state into a freshly built trainer, refusing one made with another
    configuration (each differing field named)."""
    try:
        saved = TrainConfig.from_dict(state["config"])
    except GencoreError as error:
        raise CheckpointError(f"the checkpoint's configuration is invalid: {error}") from None
    trainer.config.check_fits(saved, resuming=True)
    try:
        for name, model in trainer.models.items():
            model.load_state_dict(state["models"][name])
        for name, optimizer in trainer.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
    except (KeyError, RuntimeError, ValueError) as error:
        raise CheckpointError(f"the checkpoint's weights do not fit this configuration: {str(error).splitlines()[0]}") from None
    trainer.epoch, trainer.step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
    trainer.global_step = int(state["global_step"])
    trainer.history, trainer.trace = list(state["history"]), list(state.get("trace", []))  # older checkpoints: no trace
    trainer.seconds = float(state.get("seconds", 0.0))
    trainer.epoch_seconds = [float(t) for t in state.get("epoch_seconds", [])]
    trainer.precision = state.get("precision", trainer.precision)  # a run keeps the precision it started in
    trainer.resumed_from = list(state.get("resumed_from", []))  # older checkpoints have none
    trainer.accumulator.load(state["partial_epoch"], trainer.device)
    trainer._rng_state = state["rng"]


def run_record(trainer: Any, status: str) -> dict[str, Any]:
    """What a run's record (run.json) says of it: how it ended, how far and fast it trained, where."""
    images = trainer.global_step * trainer.config.batch_size
    return {
        "status": status,
        "epochs_done": trainer.epoch,
        "epochs": trainer.config.epochs,
        "global_step": trainer.global_step,
        "seconds": round(trainer.seconds, 3),
        "epoch_seconds": trainer.epoch_seconds,
        "images_per_s": round(images / trainer.seconds, 1) if trainer.seconds > 0 else None,
        "device": machine_name(trainer.device),
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),  # results repeat bit for bit only at the same count (docs/troubleshooting.md)
        "precision": trainer.precision,
        "torch": torch.__version__,
        "python": platform.python_version(),
        **({"overrides": sorted(trainer.overrides)} if trainer.overrides else {}),
        **({"resumed_from": trainer.resumed_from} if trainer.resumed_from else {}),
        **({"stopped_by": trainer.stopped_by} if status == "stopped" and trainer.stopped_by else {}),
    }
