"""The notebooks' training panel: choose a latent size and epochs, Train, Stop, watch the loss
curves and samples update every epoch, and compare the runs made so far.

Training runs in a background thread so that the Stop button stays clickable; the live
views are PNG images, which a thread may update safely. Displayed under papermill or nbval,
the panel only renders: nothing trains until a person clicks Train.
"""

from __future__ import annotations

import dataclasses
import html
import io
import threading
from pathlib import Path
from typing import Any

import ipywidgets as w

from .config import TrainConfig
from .errors import GencoreError
from .explore import last_history_row, read_json
from .figures import run_figures
from .train import Trainer, run_name


def figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


class TrainingPanel:
    """``TrainingPanel(config, runs_dir)`` then display it (or call ``.show()``)."""

    def __init__(self, config: TrainConfig, runs_dir: str | Path = "runs") -> None:
        self.base_config = config
        self.runs_dir = Path(runs_dir)
        self.trainer: Trainer | None = None
        self.thread: threading.Thread | None = None
        self.latent = w.Combobox(value=str(config.latent_dim), options=["2", "64", "512"], description="latent size",
                                 ensure_option=False, placeholder="2, 64, 512 or any size")
        self.epochs = w.BoundedIntText(value=config.epochs, min=1, max=10_000, description="epochs")
        self.train_button = w.Button(description="Train", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.status = w.HTML(value="Choose a latent size and a number of epochs, then press Train.")
        self.losses = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.samples = w.Image(format="png", layout=w.Layout(max_width="420px"))
        self.runs = w.SelectMultiple(description="runs", rows=6, layout=w.Layout(width="520px"))
        self.compare_button = w.Button(description="Compare selected", icon="columns")
        self.comparison = w.HTML()
        self.train_button.on_click(self._on_train)
        self.stop_button.on_click(self._on_stop)
        self.compare_button.on_click(self._on_compare)
        self.refresh_runs()
        self.widget = w.VBox([
            w.HBox([self.latent, self.epochs, self.train_button, self.stop_button]),
            self.status,
            w.HBox([self.losses, self.samples]),
            w.HBox([self.runs, self.compare_button]),
            self.comparison,
        ])

    # ------------------------------------------------------------------ display

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def show(self) -> "TrainingPanel":
        self._ipython_display_()
        return self

    # ------------------------------------------------------------------ actions

    def chosen_config(self) -> TrainConfig:
        """The base configuration with the panel's latent size and epochs (validated)."""
        return dataclasses.replace(self.base_config, latent_dim=self.latent.value.strip(), epochs=self.epochs.value)

    def _on_train(self, _button: Any = None) -> None:
        if self.thread is not None and self.thread.is_alive():
            self.status.value = "A run is already training: press Stop first."
            return
        try:
            config = self.chosen_config()
            self.trainer = Trainer(config, self.runs_dir / run_name(config), resume=True, progress=False)
        except GencoreError as error:
            self.status.value = f"<b>Cannot train:</b> {html.escape(str(error))}"
            return
        self.trainer.add_callback("on_epoch_end", self._show_progress)
        self.thread = threading.Thread(target=self._train, args=(self.trainer,), daemon=True)
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.thread.start()

    def _train(self, trainer: Trainer) -> None:
        try:
            if trainer.finished:
                self._update_views(trainer)
                self.status.value = f"Loaded the finished run {trainer.run_dir.name}: nothing to train. {_last_epoch(trainer)}"
            else:
                self.status.value = f"Training {trainer.run_dir.name} ..."
                result = trainer.fit()
                self._update_views(trainer)
                self.status.value = (f"{result.status}: {result.epochs_done}/{trainer.config.epochs} epochs, saved in "
                                     f"{trainer.run_dir}. {_last_epoch(trainer)}")
        except Exception as error:  # shown in the panel: a thread's exception would vanish
            self.status.value = f"<b>Training failed:</b> {html.escape(str(error))}"
        finally:
            self.train_button.disabled, self.stop_button.disabled = False, True
            self.refresh_runs()

    def _on_stop(self, _button: Any = None) -> None:
        if self.trainer is not None:
            self.trainer.request_stop()
            self.status.value = "Stopping after the current step; what was learned is saved."

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current training thread ends (for scripts and tests)."""
        if self.thread is not None:
            self.thread.join(timeout)

    def _show_progress(self, trainer: Trainer) -> None:
        """After each epoch: new loss curves and samples, and the epoch's numbers."""
        self._update_views(trainer)
        self.status.value = f"epoch {trainer.epoch}/{trainer.config.epochs}. {_last_epoch(trainer)}"

    def _update_views(self, trainer: Trainer) -> None:
        figures = run_figures(trainer, ("losses", "samples"))
        if "losses" in figures:
            self.losses.value = figure_png(figures["losses"])
        self.samples.value = figure_png(figures["samples"])

    # ------------------------------------------------------------------ runs

    def refresh_runs(self) -> None:
        """List the runs of this model and dataset found in runs_dir."""
        options = []
        for folder in sorted(self.runs_dir.glob(f"{self.base_config.model}-{self.base_config.dataset}-*")):
            info = read_json(folder / "run.json")
            if info:
                options.append((f"{folder.name} ({info.get('status')}, {info.get('epochs_done')} epochs)", str(folder)))
        self.runs.options = options

    def _on_compare(self, _button: Any = None) -> None:
        self.comparison.value = compare_runs_html([Path(p) for p in self.runs.value])


def png_html(path: Path, width: int) -> str:
    """An inline <img> of a PNG file, or "" when there is none (a run still starting)."""
    import base64

    if not path.exists():
        return ""
    return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}" width="{width}">'


def _last_epoch(trainer: Trainer) -> str:
    if not trainer.history:
        return ""
    numbers = ", ".join(f"{k} {v:.4g}" for k, v in trainer.history[-1].items() if k != "epoch")
    return f"Last epoch: {html.escape(numbers)}"


def compare_runs_html(run_dirs: list[Path]) -> str:
    """A table of the runs side by side: settings, last-epoch numbers, time, sample grid."""
    if not run_dirs:
        return "<i>Select one or more runs to compare.</i>"
    cells = []
    for folder in run_dirs:
        config, info = read_json(folder / "config.json"), read_json(folder / "run.json")
        numbers = "<br>".join(f"{k}: {v:.4g}" for k, v in last_history_row(folder).items() if k != "epoch")
        image = png_html(folder / "samples.png", 260)
        cells.append(
            f"<td style='vertical-align:top;padding:6px'><b>latent {config.get('latent_dim')}, "
            f"{info.get('epochs_done')} epochs</b><br>{info.get('seconds', '?')} s on {html.escape(str(info.get('device')))}"
            f"<br>{numbers}<br>{image}</td>"
        )
    return "<table><tr>" + "".join(cells) + "</tr></table>"


class ResultsBrowser:
    """Choose runs from a sweep's table and see them side by side: numbers and sample grid."""

    def __init__(self, rows: list[dict[str, Any]], results_dir: str | Path) -> None:
        self.rows = {row["name"]: row for row in rows if row.get("name")}
        self.results_dir = Path(results_dir)
        self.runs = w.SelectMultiple(options=sorted(self.rows), rows=min(10, max(2, len(self.rows))),
                                     description="runs", layout=w.Layout(width="520px"))
        self.compare = w.Button(description="Compare selected", icon="columns")
        self.comparison = w.HTML("<i>Select one or more runs, then press Compare selected.</i>")
        self.compare.on_click(self._on_compare)
        self.widget = w.VBox([w.HBox([self.runs, self.compare]), self.comparison])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _on_compare(self, _button: Any = None) -> None:
        self.comparison.value = self.compare_html(list(self.runs.value))

    def compare_html(self, names: list[str]) -> str:
        if not names:
            return "<i>Select one or more runs to compare.</i>"
        cells = []
        for name in names:
            row = self.rows[name]
            shown = ("fd", "classes_covered", "confidence", "bits_per_dim", "train_seconds", "device")
            numbers = "<br>".join(f"{k}: {html.escape(_short(row.get(k)))}" for k in shown if row.get(k) is not None)
            image = png_html(self.results_dir / name / "samples.png", 240)
            cells.append(f"<td style='vertical-align:top;padding:6px'><b>{html.escape(name)}</b><br>{numbers}<br>{image}</td>")
        return "<table><tr>" + "".join(cells) + "</tr></table>"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
