"""The one training loop for every model family: steps, epochs, stop requests and callbacks.

What differs between the VAE, the GAN and the WGAN-GP is the family record's step
(gencore.engine.families); what happens around the loop is done by callbacks, as in minGPT's
trainer, attached by whoever builds the run (gencore.runs.start): the run directory, quality
rows in the history and the progress bar. The loop itself writes nothing and measures nothing.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from gencore.engine.accumulator import Accumulator
from gencore.engine.config import TrainConfig
from gencore.engine.data import ImageData, batch_indices, epoch_order, load_splits, to_float
from gencore.engine.errors import GencoreError
from gencore.engine.families.base import TEST_BATCH
from gencore.engine.runtime import capture_rng_state, resolve_device, restore_rng_state, seed_everything
from gencore.engine.sampling import generate, sample_images
from gencore.engine.state import load_trainer_state, run_record, trainer_state
from gencore.engine.steps import build_optimizers, precision_context, resolve_precision

# Events, in the order of a run; callbacks receive the trainer and run in the order added. An epoch
# ends in two events: on_epoch_row, where callbacks add columns to the epoch's history row (quality
# numbers), then on_epoch_end, where they read the finished row (a run directory saves it).
EVENTS = ("on_train_start", "on_step", "on_epoch_row", "on_epoch_end", "on_stop", "on_train_end", "on_failure")
LOG_EVERY = 20  # steps between host syncs: trace point, NaN check, on_step callbacks
Callback = Callable[["Trainer"], None]

__all__ = ["Trainer", "TrainResult", "Callback", "EVENTS", "LOG_EVERY"]


@dataclass
class TrainResult:
    """What a call to ``fit`` leaves: the history and how the run ended."""

    history: list[dict[str, float]]
    status: str  # "finished", "stopped" (Stop, Ctrl-C, SIGTERM) or "time budget"
    epochs_done: int
    run_dir: Path | None
    models: dict[str, nn.Module] = field(repr=False, default_factory=dict)


class Trainer:
    """Builds the networks, optimisers and data of a configuration, then ``fit()`` trains.
    ``overrides`` replaces parts of the family's step by name (a learner's own loss, say).
    A run with a folder, quality rows and a progress bar comes from gencore.runs.start.start_run.
    Callbacks (``add_callback(event, fn)``) receive the trainer at the EVENTS above;
    ``request_stop()`` (the Stop button, Ctrl-C, SIGTERM) ends the run after the current step.
    """

    def __init__(self, config: TrainConfig, overrides: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.config, self.family = config, config.family
        self.callbacks: dict[str, list[Callback]] = {event: [] for event in EVENTS}
        self.log_every, self._stop, self.stop_reason, self.stopped_by, self.status = LOG_EVERY, threading.Event(), "", "", ""
        self.error: BaseException | None = None  # what ended a failed run, for the run's record
        self.run_dir: Path | None = None  # where the run is saved, set by a run directory that attaches itself
        self.device = resolve_device(config.device)
        # The test split only for families with test metrics per epoch (the VAE).
        self.train_data, self.test_data = load_splits(config, with_test=self.family.epoch_metrics is not None)
        self.real_images = self.train_data.images  # the run view of gencore.runs.figures
        self.test_images, self.test_labels, self._told = _test_view(self.test_data, self.family.conditional)
        # The whole split on the device: images (N, C, H, W) uint8, labels (N,) int64 (every step sees its batch's)
        self.images, self.labels = self.train_data.images.to(self.device), self.train_data.labels.to(self.device)
        seed_everything(config.seed)
        self.models = {name: m.to(self.device).to(memory_format=self.family.layout)
                       for name, m in self.family.build(config, self.train_data.image_shape).items()}
        self.optimizers = build_optimizers(config, self.models)
        self._rng_state = capture_rng_state()  # the run owns its random state: any interleaving of runs repeats
        self.overrides = dict(overrides or {})
        self.step_fn = self.family.bind(self.overrides)
        self.precision = resolve_precision(config, self.device)
        self.steps_per_epoch = len(self.train_data) // config.batch_size
        self.history: list[dict[str, float]] = []
        self.trace: list[dict[str, float]] = []  # step-metric means every log_every steps, x in (fractional) epochs
        self.epoch = self.step_in_epoch = self.global_step = 0  # epochs completed, steps into the current one, steps
        self.seconds, self.epoch_seconds = 0.0, list[float]()  # training time over all sessions, and at each epoch's end
        self.resumed_from: list[dict[str, int]] = []  # where each later session continued the run (a run directory's record)
        self._session_start, self._running = time.monotonic(), False  # _running: inside fit()
        self.accumulator = Accumulator(self.device)

    def add_callback(self, event: str, fn: Callback) -> None:
        if event not in EVENTS:
            raise GencoreError(f"unknown callback event {event!r}: choose one of {', '.join(EVENTS)}.")
        self.callbacks[event].append(fn)

    def request_stop(self, reason: str = "stopped", by: str = "") -> None:
        """Ask the loop to finish the current step, save and return (thread-safe); ``by``: a signal's name."""
        self.stop_reason, self.stopped_by = reason, by
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        """Whether a stop was asked for and the loop has not yet acted on it (or has, and returned)."""
        return self._stop.is_set()

    @property
    def finished(self) -> bool:  # every epoch done
        return self.epoch >= self.config.epochs and self.step_in_epoch == 0

    def images_per_second(self) -> float:  # training speed so far, measuring and saving excluded
        seconds = self.seconds + time.monotonic() - self._session_start
        return self.global_step * self.config.batch_size / seconds if seconds > 0 else 0.0

    def fit(self) -> TrainResult:
        """Train up to ``config.epochs``; return early, saved, on a stop request or the time budget."""
        self._stop.clear()
        self.stop_reason, self.stopped_by, self.error = "", "", None
        if self.global_step > 0:  # continuing a checkpoint (a killed kernel, worker or Ctrl-C): where from
            self.resumed_from.append({"epoch": self.epoch, "step_in_epoch": self.step_in_epoch})
        restore_rng_state(self._rng_state)
        self._running = True
        self._emit("on_train_start")
        try:
            with _stop_on_signals(self):
                self.status = self._loop()
        except BaseException as error:  # NaN, a second Ctrl-C, out of memory: the last checkpoint stays
            self.error = error
            self._emit("on_failure")
            raise
        finally:
            self._rng_state = capture_rng_state()
            self._running = False
        self._emit("on_train_end")
        return TrainResult(self.history, self.status, self.epoch, self.run_dir, self.models)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [0, 1] from latent points z (a family with a latent vector; a conditional one is given labels)."""
        return generate(self.models, self.config, z.to(self.device), labels)

    def sample(self, n: int, seed: int = 0, classes: torch.Tensor | None = None) -> torch.Tensor:
        """n images in [0, 1] on the CPU by the family's sampler, from their own seeded generator."""
        return sample_images(self.models, self.config, n, seed, self.device, classes)

    state_dict = trainer_state  # everything a resumed run needs (gencore.engine.state)
    load_state_dict = load_trainer_state  # restores it, refusing a checkpoint of another configuration
    record = run_record  # (status) -> what run.json says of the run

    def _loop(self) -> str:
        config = self.config
        for model in self.models.values():
            model.train()
        deadline = time.monotonic() + config.time_budget * 60 if config.time_budget else math.inf
        self._session_start = time.monotonic()
        while self.epoch < config.epochs:
            order = epoch_order(len(self.train_data), config.seed, self.epoch, self.device)
            for indices in batch_indices(order, config.batch_size, self.step_in_epoch):
                x = to_float(self.images[indices], self.family.value_range).contiguous(memory_format=self.family.layout)
                with precision_context(self.device, self.precision):
                    metrics = self.step_fn(self.models, self.optimizers, x, self.labels[indices], config, self.global_step)
                self.accumulator.add(self.global_step, metrics)
                self.step_in_epoch += 1
                self.global_step += 1
                if self.step_in_epoch % self.log_every == 0:
                    self._close_window()
                    self._emit("on_step")
                if time.monotonic() > deadline:
                    self.request_stop("time budget")
                if self._stop.is_set():
                    break
            self._close_window()  # nothing non-finite is ever saved
            self.seconds += time.monotonic() - self._session_start
            if self.step_in_epoch == self.steps_per_epoch:
                self._end_epoch()
            else:
                self._emit("on_stop")  # stopped inside the epoch, after a whole step
            self._session_start = time.monotonic()  # measuring and saving are not training time
            if self._stop.is_set():
                return self.stop_reason or "stopped"
        return "finished"

    def _close_window(self) -> None:
        """Check the steps since the last check for NaN/inf, then add their means to the trace."""
        row = self.accumulator.close_window(round(self.global_step / self.steps_per_epoch, 4))
        if row is not None:
            self.trace.append(row)

    def _end_epoch(self) -> None:
        row: dict[str, float] = {"epoch": self.epoch + 1, **self.accumulator.means()}
        if self.family.epoch_metrics is not None and self.test_data is not None:
            row.update(self.family.epoch_metrics(self.models, self.test_data.images, self.device, TEST_BATCH, *self._told))
        self.history.append(row)
        self.epoch_seconds.append(round(self.seconds, 2))  # kept apart from the history, which repeats exactly
        self.epoch += 1
        self.step_in_epoch = 0
        self.accumulator = Accumulator(self.device)
        self._emit("on_epoch_row")  # quality numbers join the row first ...
        self._emit("on_epoch_end")  # ... then the finished row is saved

    def _emit(self, event: str) -> None:
        for fn in self.callbacks[event]:
            fn(self)


def _test_view(test: ImageData | None, conditional: bool) -> tuple[torch.Tensor | None, torch.Tensor | None, tuple]:
    """The test split's images, its labels where the family's networks read them (a conditional family's), and
    what epoch_metrics then reads beside the images: (labels,) for a conditional family, () for any other."""
    if test is None:
        return None, None, ()
    labels = test.labels if conditional else None
    return test.images, labels, (() if labels is None else (labels,))


class _stop_on_signals:
    """While training in the main thread, Ctrl-C (SIGINT), SIGTERM and SIGHUP ask for a clean stop:
    the step finishes, the partial epoch is saved, the figures are drawn. A second one interrupts
    at once, keeping the last checkpoint."""

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self.previous[number] = signal.signal(number, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.trainer._stop.is_set():
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        print(f"\n{name}: stopping after this step and saving ({'Ctrl-C' if name == 'SIGINT' else 'the signal'} "
              "again aborts at once)...", flush=True)
        self.trainer.request_stop("stopped", by=name)

    def __exit__(self, *exc: Any) -> None:
        for number, previous in self.previous.items():
            signal.signal(number, previous)
