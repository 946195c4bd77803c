"""The progress bar of a training run, kept by a callback: images done, the run's own training
speed (the figure run.json records, measuring and saving excluded), the latest losses and the
time left at that speed; and, once the speed is known, a note when a CPU run will take long."""

from __future__ import annotations

from typing import Any

CPU_NOTE_MINUTES = 30  # a CPU run estimated to take longer than this says so when it starts


class ProgressBar:
    def __init__(self) -> None:
        self.bar: Any = None
        self.noted = False

    def attach(self, trainer: Any) -> None:
        trainer.add_callback("on_train_start", self.open)
        trainer.add_callback("on_step", self.update)
        trainer.add_callback("on_epoch_end", self.update)
        for event in ("on_train_end", "on_failure"):
            trainer.add_callback(event, self.close)

    def open(self, trainer: Any) -> None:
        from tqdm.auto import tqdm

        config = trainer.config
        per_epoch = trainer.steps_per_epoch * config.batch_size
        self.bar = tqdm(total=config.epochs * per_epoch, initial=trainer.global_step * config.batch_size, unit="img",
                        unit_scale=True, desc=f"{config.model} {config.dataset}", mininterval=0.5,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")

    def update(self, trainer: Any) -> None:
        config = trainer.config
        self.bar.update(trainer.global_step * config.batch_size - self.bar.n)
        speed = trainer.images_per_second()
        left = (config.epochs * trainer.steps_per_epoch - trainer.global_step) * config.batch_size
        names = config.family.metrics[:3]
        losses = " ".join(f"{k}={v:.4g}" for k, v in trainer.accumulator.means().items() if k in names)
        timing = f"{speed:,.0f} img/s, {_duration(left / speed)} left" if speed > 0 else "measuring speed"
        self.bar.set_postfix_str(f"{timing}, epoch {min(trainer.epoch + 1, config.epochs)}/{config.epochs} {losses}",
                                 refresh=False)
        if not self.noted and speed > 0:
            self.noted = True
            self._note_long_cpu_run(trainer, left / speed / 60)

    def _note_long_cpu_run(self, trainer: Any, minutes: float) -> None:
        budget = trainer.config.time_budget
        if trainer.device.type == "cpu" and minutes > CPU_NOTE_MINUTES and (budget is None or budget > CPU_NOTE_MINUTES):
            self.bar.write(
                f"note: at {trainer.images_per_second():.0f} images/s this CPU run needs about {minutes:.0f} more minutes"
                + (f" (its time budget stops it after {budget:g})" if budget else "")
                + "; a GPU, fewer --epochs, a --subset, a --time-budget or --preset cpu-fast make it shorter."
            )

    def close(self, trainer: Any) -> None:
        if self.bar is not None:
            self.update(trainer)
            self.bar.close()
            self.bar = None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
