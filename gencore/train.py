"""The one training loop for every model family, with history, callbacks, checkpoints and a
run directory. GAN and WGAN-GP differ only by their step function (steps.py).

A run directory holds:
    config.json        the configuration (also inside the checkpoint)
    checkpoint.pt      models, optimisers, epoch and step, history, every random state
    history.csv        one row per epoch
    run.json           status, epochs done, seconds, throughput, device, versions
    *.png              samples, generated next to real, reconstructions (VAE), loss curves
"""

from __future__ import annotations

import csv
import io
import math
import os
import platform
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from . import checkpoint as ckpt
from . import plots
from .config import TrainConfig
from .data import ImageData, batch_indices, epoch_order, load_dataset, to_float
from .errors import GencoreError, NonFiniteLossError
from .models import build_models
from .runtime import capture_rng_state, machine_name, resolve_device, restore_rng_state, seed_everything
from .steps import METRICS, STEPS, VALUE_RANGE, build_optimizers, memory_format, vae_test_metrics

EVENTS = ("on_step", "on_epoch_end", "on_train_end")
LOG_EVERY = 20  # steps between host syncs: progress text, NaN check, on_step callbacks
FIGURE_SAMPLES = 64  # images in each sample grid
CPU_NOTE_MINUTES = 30  # a CPU run estimated to take longer than this says so when it starts
HISTORY_QUALITY_SAMPLES = 2000  # samples per quality row in the history: seconds on a CPU, stable to a few %


@dataclass
class TrainResult:
    """What a call to ``fit`` leaves: the history and how the run ended."""

    history: list[dict[str, float]]
    status: str  # "finished", "stopped" (Stop, Ctrl-C) or "time budget"
    epochs_done: int
    run_dir: Path | None
    models: dict[str, nn.Module] = field(repr=False, default_factory=dict)


class _Accumulator:
    """Per-epoch sums of step metrics kept on the device, so steps never wait for the host;
    a window of recent steps lets a NaN be traced to its exact step and loss."""

    def __init__(self, device: torch.device) -> None:
        self.dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.window: list[tuple[int, dict[str, torch.Tensor]]] = []

    def add(self, step: int, metrics: dict[str, torch.Tensor]) -> None:
        for name, value in metrics.items():
            value = value.to(self.dtype)
            self.sums[name] = self.sums[name] + value if name in self.sums else value.clone()
            self.counts[name] = self.counts.get(name, 0) + 1
        self.window.append((step, metrics))

    def window_means(self) -> dict[str, float]:
        """Each metric's mean over the steps since the last check (a metric missing from some
        steps, like the WGAN-GP generator loss, is averaged over the steps that have it)."""
        names: dict[str, list[torch.Tensor]] = {}
        for _, metrics in self.window:
            for name, value in metrics.items():
                names.setdefault(name, []).append(value)
        return {name: float(torch.stack(values).float().mean()) for name, values in names.items()}

    def check_finite(self) -> None:
        """Raise NonFiniteLossError naming the first non-finite loss since the last check."""
        values = [v for _, metrics in self.window for v in metrics.values()]
        if values and not bool(torch.isfinite(torch.stack(values)).all()):
            for step, metrics in self.window:
                for name, value in metrics.items():
                    if not math.isfinite(float(value)):
                        raise NonFiniteLossError(
                            f"{name} became {float(value)} at step {step}: training stopped, and the last "
                            "finite checkpoint is kept. A learning rate that is too high is the usual cause: "
                            "lower --lr (e.g. by 10x) and resume or start again."
                        )
        self.window.clear()

    def means(self) -> dict[str, float]:
        return {name: float(self.sums[name] / self.counts[name]) for name in self.sums}

    def state(self) -> dict[str, Any]:
        return {"sums": {k: v.cpu() for k, v in self.sums.items()}, "counts": dict(self.counts)}

    def load(self, state: dict[str, Any], device: torch.device) -> None:
        self.sums = {k: v.to(device, self.dtype) for k, v in state["sums"].items()}
        self.counts = dict(state["counts"])


class Trainer:
    """Builds a run from a configuration, checks everything it can before training, then
    ``fit()`` trains, saving a checkpoint after every epoch and on any clean stop.

    Callbacks (``add_callback(event, fn)``) receive the trainer: ``on_step`` every ``log_every``
    steps, ``on_epoch_end`` after each epoch is saved, ``on_train_end`` once at the end.
    ``request_stop()`` (the widget's Stop button, Ctrl-C) ends after the current step.
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | os.PathLike | None = None,
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.progress = progress
        self.log_every = LOG_EVERY
        self.callbacks: dict[str, list[Callable[["Trainer"], None]]] = {event: [] for event in EVENTS}
        self._stop = threading.Event()
        self.stop_reason = ""
        if self.run_dir is not None:
            _prepare_run_dir(self.run_dir, resume)
        self.device = resolve_device(config.device)
        self.train_data = load_dataset(config.dataset, "train", config.data_root, config.subset, config.seed)
        if config.batch_size > len(self.train_data):
            raise GencoreError(
                f"batch_size {config.batch_size} is larger than the {len(self.train_data)} training images: "
                f"use a batch size of at most {len(self.train_data)}."
            )
        self.test_data: ImageData | None = None
        if config.model == "vae":  # the seed plots test losses per epoch; a subset run tests on as many
            self.test_data = load_dataset(config.dataset, "test", config.data_root, config.subset, config.seed, cap_subset=True)
        self.image_shape = self.train_data.image_shape
        self.images = self.train_data.images.to(self.device)  # the whole split, uint8, on the device
        seed_everything(config.seed)
        self.memory_format = memory_format(config)
        self.models = {name: m.to(self.device, memory_format=self.memory_format)
                       for name, m in build_models(config, self.image_shape).items()}
        self.optimizers = build_optimizers(config, self.models)
        # The run owns its random state: fit() starts from it and saves it back, so runs that
        # are built or trained in any interleaving give the same numbers.
        self._rng_state = capture_rng_state()
        self.step_fn = STEPS[config.model]
        self.steps_per_epoch = len(self.train_data) // config.batch_size
        self.history: list[dict[str, float]] = []
        # Training metrics every log_every steps (x in epochs, fractional): the curves inside an
        # epoch, which is all a one-epoch run has to show.
        self.trace: list[dict[str, float]] = []
        self.epoch = 0  # epochs completed
        self.step_in_epoch = 0  # steps completed inside the current epoch
        self.global_step = 0
        self.seconds = 0.0  # training time over all sessions of this run
        self.epoch_seconds: list[float] = []  # training time at the end of each epoch: quality against time
        self.accumulator = _Accumulator(self.device)
        self._meter: Any = None  # the quality meter, built at the first measurement (False: none available)
        # Fixed latent points for the figures, drawn from their own generator so that
        # drawing figures never moves the training random state.
        self.fixed_z = torch.randn(FIGURE_SAMPLES, config.latent_dim, generator=torch.Generator().manual_seed(config.seed))
        if resume and self.run_dir is not None and (self.run_dir / ckpt.CHECKPOINT_NAME).exists():
            self._restore(ckpt.load_checkpoint(self.run_dir / ckpt.CHECKPOINT_NAME, self.device))

    # ------------------------------------------------------------------ public API

    def add_callback(self, event: str, fn: Callable[["Trainer"], None]) -> None:
        if event not in EVENTS:
            raise GencoreError(f"unknown callback event {event!r}: choose one of {', '.join(EVENTS)}.")
        self.callbacks[event].append(fn)

    def request_stop(self, reason: str = "stopped") -> None:
        """Ask the loop to finish the current step, save and return (thread-safe)."""
        self.stop_reason = reason
        self._stop.set()

    @property
    def finished(self) -> bool:
        return self.epoch >= self.config.epochs and self.step_in_epoch == 0

    def fit(self) -> TrainResult:
        """Train up to ``config.epochs``; return early, saved, on Stop, Ctrl-C or the time budget."""
        self._stop.clear()
        self.stop_reason = ""
        if self.run_dir is not None:
            ckpt.write_json(self.run_dir / ckpt.CONFIG_NAME, self.config.to_dict())
        restore_rng_state(self._rng_state)
        try:
            with _stop_on_sigint(self):
                status = self._loop()
        except BaseException as error:  # NaN, a second Ctrl-C, out of memory: the last checkpoint stays
            if self.run_dir is not None:
                self._write_run_info("failed" if isinstance(error, Exception) else "interrupted", str(error))
            raise
        finally:
            self._rng_state = capture_rng_state()
        if self.run_dir is not None:
            self.save_figures()
            self._write_run_info(status)
        self._emit("on_train_end")
        return TrainResult(self.history, status, self.epoch, self.run_dir, self.models)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] from latent points, with batch norm in inference mode."""
        return generate(self.models, z.to(self.device))

    def save_figures(self) -> None:
        """Write the run's PNG figures from the current models and history."""
        assert self.run_dir is not None
        for name, figure in run_figures(self).items():
            figure.savefig(self.run_dir / f"{name}.png", dpi=110)

    # ------------------------------------------------------------------ the loop

    def _loop(self) -> str:
        config = self.config
        batch_size = config.batch_size
        value_range = VALUE_RANGE[config.model]
        for model in self.models.values():
            model.train()
        deadline = time.monotonic() + config.time_budget * 60 if config.time_budget else math.inf
        bar = _progress_bar(self, enabled=self.progress)
        session_start, session_images, noted = time.monotonic(), 0, False
        try:
            while self.epoch < config.epochs:
                order = epoch_order(len(self.train_data), config.seed, self.epoch, self.device)
                for indices in batch_indices(order, batch_size, self.step_in_epoch):
                    x = to_float(self.images[indices], value_range).contiguous(memory_format=self.memory_format)
                    metrics = self.step_fn(self.models, self.optimizers, x, config, self.global_step)
                    self.accumulator.add(self.global_step, metrics)
                    self.step_in_epoch += 1
                    self.global_step += 1
                    session_images += batch_size
                    bar.update(batch_size)
                    if self.step_in_epoch % self.log_every == 0:
                        self._close_window()
                        bar.set_postfix_str(self._postfix(), refresh=False)
                        if not noted:
                            noted = _note_long_cpu_run(self, bar, session_images / (time.monotonic() - session_start))
                        self._emit("on_step")
                    if time.monotonic() > deadline:
                        self.request_stop("time budget")
                    if self._stop.is_set():
                        break
                # The epoch's end or a stop: nothing non-finite is saved; time is counted; save.
                self._close_window()
                self.seconds += time.monotonic() - session_start
                if self.step_in_epoch == self.steps_per_epoch:
                    self._end_epoch()
                else:
                    self._save()  # stopped mid-epoch: the partial epoch's sums are kept for resume
                session_start = time.monotonic()  # measuring and saving are not training time
                if self._stop.is_set():
                    return self.stop_reason or "stopped"
            return "finished"
        finally:
            bar.close()

    def _close_window(self) -> None:
        """Check the steps since the last check for NaN/inf (raising names the step), then add
        their means to the trace."""
        if not self.accumulator.window:
            return
        row = {"epoch": round(self.global_step / self.steps_per_epoch, 4), **self.accumulator.window_means()}
        self.accumulator.check_finite()
        self.trace.append(row)

    def _end_epoch(self) -> None:
        row: dict[str, float] = {"epoch": self.epoch + 1, **self.accumulator.means()}
        if self.test_data is not None:
            row.update(vae_test_metrics(self.models["vae"], self.test_data.images, 500, self.device))
        every = self.config.eval_every
        if every and ((self.epoch + 1) % every == 0 or self.epoch + 1 == self.config.epochs):
            row.update(self._quality())
        self.history.append(row)
        self.epoch_seconds.append(round(self.seconds, 2))  # kept apart from the history, which repeats exactly
        self.epoch += 1
        self.step_in_epoch = 0
        self.accumulator = _Accumulator(self.device)
        self._save()
        self._emit("on_epoch_end")

    def _quality(self) -> dict[str, float]:
        """Fréchet distance, coverage and confidence of fixed samples, when a classifier is cached.
        The samples come from their own generator, so training numbers stay the same."""
        from .metrics import quality_meter

        if self._meter is None:
            try:
                self._meter = quality_meter(self.config.dataset, self.config.data_root, train_if_missing=False)
            except GencoreError as error:
                self._meter = False
                if self.progress:
                    print(f"note: no quality numbers in the history ({error})", flush=True)
        if not self._meter:
            return {}
        images = sample_images(self.models, self.config.latent_dim, HISTORY_QUALITY_SAMPLES, self.config.seed, self.device)
        quality = self._meter.measure(images)
        return {name: quality[name] for name in ("fd", "classes_covered", "confidence")}

    def _postfix(self) -> str:
        names = METRICS[self.config.model][:3]
        means = {k: v for k, v in self.accumulator.means().items() if k in names}
        return f"epoch {self.epoch + 1}/{self.config.epochs} " + " ".join(f"{k}={v:.4g}" for k, v in means.items())

    def _emit(self, event: str) -> None:
        for fn in self.callbacks[event]:
            fn(self)

    # ------------------------------------------------------------------ saving

    def _checkpoint_state(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "models": {name: model.state_dict() for name, model in self.models.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "history": self.history,
            "trace": self.trace,
            "partial_epoch": self.accumulator.state(),
            "rng": capture_rng_state(),
            "seconds": self.seconds,
            "epoch_seconds": self.epoch_seconds,
        }

    def _save(self) -> None:
        if self.run_dir is None:
            return
        ckpt.save_checkpoint(self.run_dir / ckpt.CHECKPOINT_NAME, self._checkpoint_state())
        write_history_csv(self.run_dir / "history.csv", self.history)
        self._write_run_info("running")

    def _restore(self, state: dict[str, Any]) -> None:
        saved = ckpt.checkpoint_config(state)
        ckpt.check_compatible(saved, self.config, strict_training=True)
        try:
            for name, model in self.models.items():
                model.load_state_dict(state["models"][name])
            for name, optimizer in self.optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
        except (KeyError, RuntimeError, ValueError) as error:
            raise GencoreError(f"the checkpoint's weights do not fit this configuration: {str(error).splitlines()[0]}") from None
        self.epoch = int(state["epoch"])
        self.step_in_epoch = int(state["step_in_epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state["history"])
        self.trace = list(state.get("trace", []))  # older checkpoints have none
        self.seconds = float(state.get("seconds", 0.0))
        self.epoch_seconds = [float(t) for t in state.get("epoch_seconds", [])]
        self.accumulator.load(state["partial_epoch"], self.device)
        self._rng_state = state["rng"]

    def _write_run_info(self, status: str, message: str = "") -> None:
        assert self.run_dir is not None
        images = self.global_step * self.config.batch_size
        ckpt.write_json(
            self.run_dir / "run.json",
            {
                "status": status,
                "epochs_done": self.epoch,
                "epochs": self.config.epochs,
                "global_step": self.global_step,
                "seconds": round(self.seconds, 3),
                "epoch_seconds": self.epoch_seconds,
                "images_per_s": round(images / self.seconds, 1) if self.seconds > 0 else None,
                "device": machine_name(self.device),
                "torch": torch.__version__,
                "python": platform.python_version(),
                **({"message": message} if message else {}),
            },
        )


# ---------------------------------------------------------------------- helpers used above


def generate(models: dict[str, nn.Module], z: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] decoded from z by the run's generator (or the VAE's decoder)."""
    net = models.get("generator") or models["vae"]
    was_training = net.training
    net.eval()
    try:
        return net.sample(z)
    finally:
        net.train(was_training)


def sample_images(models: dict[str, nn.Module], latent_dim: int, n: int, seed: int = 0,
                  device: torch.device | str = "cpu", batch: int = 1024) -> torch.Tensor:
    """n images in [0, 1] from z ~ N(0, I) drawn from their own seeded generator (never the
    run's RNG), decoded ``batch`` at a time; the same seed gives the same images."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    return torch.cat([generate(models, chunk.to(device)).float().cpu() for chunk in z.split(batch)])


def run_figures(trainer: Trainer, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The run's figures by file stem: samples, real_vs_generated, losses, and for the VAE
    reconstructions (and latent_manifold when the latent space is 2-D). ``names`` limits the
    work to the figures wanted; None draws every one that applies."""
    config = trainer.config
    wanted = lambda name: names is None or name in names  # noqa: E731
    title = f"{config.model.upper()} on {config.dataset}, latent {config.latent_dim}, epoch {trainer.epoch}"
    figures: dict[str, Any] = {}
    if wanted("samples") or wanted("real_vs_generated"):
        generated = trainer.generate(trainer.fixed_z).cpu()
        if wanted("samples"):
            figures["samples"] = plots.plot_samples(generated, title)
        if wanted("real_vs_generated"):
            real = to_float(trainer.train_data.images[:FIGURE_SAMPLES], "unit")
            figures["real_vs_generated"] = plots.plot_real_vs_generated(real, generated, title)
    if trainer.history and wanted("losses"):
        figures["losses"] = plots.plot_losses(trainer.history, config.model, title, trainer.trace)
    if config.model == "vae" and wanted("reconstructions"):
        vae = trainer.models["vae"]
        originals = to_float(trainer.test_data.images[:40], "unit")  # type: ignore[union-attr]
        with torch.no_grad():
            vae.eval()
            recon = vae.decode(vae.encode(originals.to(trainer.device))[0]).cpu()  # decode the posterior mean
            vae.train()
        figures["reconstructions"] = plots.plot_reconstructions(originals, recon)
    if config.model == "vae" and config.latent_dim == 2 and wanted("latent_manifold"):
        figures["latent_manifold"] = plots.plot_latent_manifold(lambda z: trainer.generate(z).cpu())
    return figures


def write_history_csv(path: Path, history: list[dict[str, float]]) -> None:
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(history)
    ckpt.atomic_write(path, lambda f: f.write(buffer.getvalue()), binary=False)


def _prepare_run_dir(run_dir: Path, resume: bool) -> None:
    """Fail before any training if the directory cannot be written or already holds a run."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise GencoreError(f"cannot write to the output directory {run_dir} ({error.strerror}): choose another --out.") from None
    if not resume and (run_dir / ckpt.CHECKPOINT_NAME).exists():
        raise GencoreError(f"{run_dir} already holds a run: pass --resume to continue it, or choose another --out.")


class _stop_on_sigint:
    """While training in the main thread, Ctrl-C asks for a clean stop; a second Ctrl-C
    interrupts at once."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.previous: Any = None

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.trainer._stop.is_set():
            raise KeyboardInterrupt
        print("\nStopping after this step and saving (Ctrl-C again to abort at once)...", flush=True)
        self.trainer.request_stop("stopped")

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _progress_bar(trainer: Trainer, enabled: bool):  # noqa: ANN202 - tqdm type
    from tqdm.auto import tqdm

    per_epoch = trainer.steps_per_epoch * trainer.config.batch_size
    done = trainer.epoch * per_epoch + trainer.step_in_epoch * trainer.config.batch_size
    return tqdm(
        total=trainer.config.epochs * per_epoch, initial=done, unit="img", unit_scale=True,
        desc=f"{trainer.config.model} {trainer.config.dataset}", disable=not enabled, mininterval=0.5,
    )


def _note_long_cpu_run(trainer: Trainer, bar, images_per_s: float) -> bool:  # noqa: ANN001
    """Once the speed is known, say so if a CPU run will take long; True once said or moot."""
    if trainer.device.type != "cpu" or images_per_s <= 0:
        return True
    left = (trainer.config.epochs * trainer.steps_per_epoch - trainer.global_step) * trainer.config.batch_size
    minutes = left / images_per_s / 60
    budget = trainer.config.time_budget
    if minutes > CPU_NOTE_MINUTES and (budget is None or budget > CPU_NOTE_MINUTES):
        bar.write(
            f"note: at {images_per_s:.0f} images/s this CPU run needs about {minutes:.0f} more minutes"
            + (f" (its time budget stops it after {budget:g})" if budget else "")
            + "; a GPU, fewer --epochs, a --subset, a --time-budget or --preset cpu-fast make it shorter."
        )
    return True


# ---------------------------------------------------------------------- convenience


def train(
    config: TrainConfig,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train one configuration into ``run_dir`` (or in memory when None)."""
    return Trainer(config, run_dir, resume=resume, progress=progress).fit()


def run_name(config: TrainConfig) -> str:
    """A readable, unique folder name for a configuration: the same settings, the same name."""
    import hashlib
    import json

    identity = {k: v for k, v in config.to_dict().items() if k not in ("device", "data_root", "time_budget", "extra", "eval_every")}
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    subset = f"-n{config.subset}" if config.subset else ""
    return f"{config.model}-{config.dataset}-z{config.latent_dim}-e{config.epochs}{subset}-s{config.seed}-{digest}"


def train_or_load(
    config: TrainConfig,
    runs_dir: str | os.PathLike = "runs",
    progress: bool = True,
    callbacks: dict[str, list[Callable[[Trainer], None]]] | None = None,
) -> Trainer:
    """Train ``config`` into ``runs_dir/run_name(config)``, or load it if it already finished
    there: nothing trains twice for the same configuration. An unfinished run resumes.
    Returns the trainer, whose ``history`` and ``models`` are ready to plot and sample."""
    run_dir = Path(runs_dir) / run_name(config)
    trainer = Trainer(config, run_dir, resume=True, progress=progress)
    for event, fns in (callbacks or {}).items():
        for fn in fns:
            trainer.add_callback(event, fn)
    if trainer.finished:
        print(f"Loaded the finished run in {run_dir} ({trainer.epoch} epochs); nothing to train.")
    else:
        trainer.fit()
    return trainer
