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

from pathlib import Path
from typing import Any

from gencore.engine.errors import GencoreError, WriteError
from gencore.engine.files import write_json
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
                trainer.load_state_dict(ckpt.load_checkpoint(self.path / ckpt.CHECKPOINT_NAME, trainer.device))
            except BaseException:
                self.lock.release()
                raise
        trainer.add_callback("on_train_start", self.start)
        trainer.add_callback("on_epoch_end", self.save)  # after on_epoch_row: the row is complete
        trainer.add_callback("on_stop", self.save)  # stopped inside an epoch: its partial sums are kept
        trainer.add_callback("on_train_end", self.finish)
        trainer.add_callback("on_failure", self.fail)
        if trainer.finished:  # nothing will be written unless fit() is called, which locks again
            self.lock.release()

    def start(self, trainer: Any) -> None:
        self.lock.acquire()
        write_json(self.path / ckpt.CONFIG_NAME, trainer.config.to_dict())

    def save(self, trainer: Any) -> None:
        ckpt.save_checkpoint(self.path / ckpt.CHECKPOINT_NAME, trainer.state_dict())
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
        write_json(self.path / "run.json", {**trainer.record(status), **({"message": message} if message else {})})
