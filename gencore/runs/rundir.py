"""A run directory, kept by a callback on the training loop. It holds:

    config.json        the configuration (also inside the checkpoint)
    checkpoint.pt      networks, optimisers, epoch and step, history, trace, every random state
    history.csv        one row per epoch
    run.json           status, epochs done, training seconds, images/s, device, precision, versions
    *.png              samples, generated next to real, loss curves, and the family's own figures

A checkpoint is written atomically after every epoch and on every clean stop (with the
partial epoch's sums), so a resumed run ends with exactly the numbers of an uninterrupted one.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import torch

from gencore.engine.errors import GencoreError, WriteError
from gencore.engine.files import write_json
from gencore.engine.runtime import capture_rng_state, cpu_model, machine_name
from gencore.runs import checkpoint as ckpt
from gencore.runs.figures import save_figures
from gencore.runs.history import write_history_csv
from gencore.runs.lock import FolderLock


class RunDirectory:
    """Checks the folder and takes its lock before anything loads; once attached to a trainer,
    restores its checkpoint (when resuming) and saves at the end of every epoch, on a stop and
    at the end. The lock is held while the run may write (from construction to the end of
    ``fit``): a second writer is refused at once, readers are never blocked."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self.resume = resume
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as error:
            raise GencoreError(f"cannot write to the output directory {path} ({error.strerror}): choose another --out.") from None
        if not resume and (path / ckpt.CHECKPOINT_NAME).exists():
            raise GencoreError(f"{path} already holds a run: pass --resume to continue it, or choose another --out.")
        self.lock = FolderLock(path)
        self.lock.acquire()

    def attach(self, trainer: Any) -> None:
        trainer.run_dir = self.path
        if self.resume and (self.path / ckpt.CHECKPOINT_NAME).exists():
            try:
                restore(trainer, ckpt.load_checkpoint(self.path / ckpt.CHECKPOINT_NAME, trainer.device))
            except BaseException:
                self.lock.release()
                raise
        trainer.add_callback("on_train_start", self.start)
        trainer.add_callback("on_epoch_end", self.save)
        trainer.add_callback("on_stop", self.save)  # stopped inside an epoch: its partial sums are kept
        trainer.add_callback("on_train_end", self.finish)
        trainer.add_callback("on_failure", self.fail)
        if trainer.finished:  # nothing will be written unless fit() is called, which locks again
            self.lock.release()

    def start(self, trainer: Any) -> None:
        self.lock.acquire()
        if trainer.global_step > 0:  # continuing a checkpoint: say where from (a killed kernel, worker or Ctrl-C)
            trainer.resumed_from.append({"epoch": trainer.epoch, "step_in_epoch": trainer.step_in_epoch})
        write_json(self.path / ckpt.CONFIG_NAME, trainer.config.to_dict())

    def save(self, trainer: Any) -> None:
        ckpt.save_checkpoint(self.path / ckpt.CHECKPOINT_NAME, checkpoint_state(trainer))
        write_history_csv(self.path / "history.csv", trainer.history)
        self.write_info(trainer, "running")

    def finish(self, trainer: Any) -> None:
        try:
            save_figures(trainer, self.path)
            self.write_info(trainer, trainer.status)
        finally:
            self.lock.release()

    def fail(self, trainer: Any) -> None:
        """NaN, a full disk, a second Ctrl-C, out of memory: the last checkpoint stays, and
        run.json says why where it can still be written."""
        error = trainer.error
        try:
            self.write_info(trainer, "failed" if isinstance(error, Exception) else "interrupted", str(error))
        except WriteError:
            pass  # the disk that failed the run cannot take its record either; the error itself is reported
        finally:
            self.lock.release()

    def write_info(self, trainer: Any, status: str, message: str = "") -> None:
        images = trainer.global_step * trainer.config.batch_size
        write_json(self.path / "run.json", {
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
            **({"message": message} if message else {}),
        })


def checkpoint_state(trainer: Any) -> dict[str, Any]:
    return {
        "config": trainer.config.to_dict(),
        "models": {name: model.state_dict() for name, model in trainer.models.items()},
        "optimizers": {name: opt.state_dict() for name, opt in trainer.optimizers.items()},
        "epoch": trainer.epoch,
        "step_in_epoch": trainer.step_in_epoch,
        "global_step": trainer.global_step,
        "history": trainer.history,
        "trace": trainer.trace,
        "partial_epoch": trainer.accumulator.state(),
        "rng": capture_rng_state(),
        "seconds": trainer.seconds,
        "epoch_seconds": trainer.epoch_seconds,
        "precision": trainer.precision,
        "resumed_from": trainer.resumed_from,
    }


def restore(trainer: Any, state: dict[str, Any]) -> None:
    """Put a checkpoint's state into a freshly built trainer of a compatible configuration."""
    saved = ckpt.checkpoint_config(state)
    ckpt.check_compatible(saved, trainer.config, strict_training=True)
    try:
        for name, model in trainer.models.items():
            model.load_state_dict(state["models"][name])
        for name, optimizer in trainer.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
    except (KeyError, RuntimeError, ValueError) as error:
        raise GencoreError(f"the checkpoint's weights do not fit this configuration: {str(error).splitlines()[0]}") from None
    trainer.epoch = int(state["epoch"])
    trainer.step_in_epoch = int(state["step_in_epoch"])
    trainer.global_step = int(state["global_step"])
    trainer.history = list(state["history"])
    trainer.trace = list(state.get("trace", []))  # older checkpoints have none
    trainer.seconds = float(state.get("seconds", 0.0))
    trainer.epoch_seconds = [float(t) for t in state.get("epoch_seconds", [])]
    trainer.precision = state.get("precision", trainer.precision)  # a run keeps the precision it started in
    trainer.resumed_from = list(state.get("resumed_from", []))  # older checkpoints have none
    trainer.accumulator.load(state["partial_epoch"], trainer.device)
    trainer._rng_state = state["rng"]
