"""The notebooks' training panel: choose a latent size and epochs, Train, Stop, watch the loss
curves and samples update every epoch, and compare the runs made so far; and 08's class picker.

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
import torch

from gencore.engine.config import TrainConfig, latent_words
from gencore.engine.errors import GencoreError
from gencore.engine.files import read_json
from gencore.engine.loop import Trainer
from gencore.runs.figures import run_figures
from gencore.runs.history import last_history_row
from gencore.runs.lock import FolderLock
from gencore.runs.start import resume_point, run_name, start_run


def figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


# How an unfinished run ended, from the status its run.json last recorded.
UNFINISHED = {"running": "its kernel or process ended mid-training", "stopped": "stopped by Stop, Ctrl-C or a signal",
              "time budget": "its time budget ran out", "failed": "it failed", "interrupted": "interrupted"}


class TrainingPanel:
    """``TrainingPanel(config, runs_dir)`` then display it (or call ``.show()``). Before the first
    Train it shows the finished run of ``config`` (the one the notebook's Run All trained), if any."""

    def __init__(self, config: TrainConfig, runs_dir: str | Path = "runs") -> None:
        self.base_config = config
        self.runs_dir = Path(runs_dir)
        self.trainer: Trainer | None = None
        self.thread: threading.Thread | None = None
        self.latent = w.Combobox(value=str(config.latent_dim), options=["2", "64", "512"], description="latent size",
                                 ensure_option=False, placeholder="2, 64, 512 or any size", layout=w.Layout(width="240px"))
        self.epochs = w.BoundedIntText(value=config.epochs, min=1, max=10_000, description="epochs",
                                       layout=w.Layout(width="180px"))
        self.train_button = w.Button(description="Train", button_style="success", icon="play", layout=w.Layout(width="auto"))
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True,
                                    layout=w.Layout(width="auto"))
        self.status = w.HTML(value="Choose a latent size and a number of epochs, then press Train.")
        # Images scale down with the notebook's width and keep their aspect ratio; hidden until they have content.
        self.losses = w.Image(format="png", layout=w.Layout(flex="1 1 520px", max_width="900px", width="100%",
                                                            height="auto", object_fit="contain", display="none"))
        self.samples = w.Image(format="png", layout=w.Layout(flex="0 1 320px", max_width="320px", width="100%",
                                                             height="auto", object_fit="contain", display="none"))
        self.runs = w.SelectMultiple(description="runs", rows=6, layout=w.Layout(flex="1 1 420px", max_width="640px"))
        self.compare_button = w.Button(description="Compare selected", icon="columns", layout=w.Layout(width="auto"))
        self.comparison = w.HTML()
        self.train_button.on_click(self._on_train)
        self.stop_button.on_click(self._on_stop)
        self.compare_button.on_click(self._on_compare)
        self.refresh_runs()
        wrap = w.Layout(display="flex", flex_flow="row wrap", align_items="flex-start", width="100%")
        self.widget = w.VBox([
            w.HBox([self.latent, self.epochs, self.train_button, self.stop_button], layout=wrap),
            self.status,
            w.Box([self.losses, self.samples], layout=wrap),
            w.HBox([self.runs, self.compare_button], layout=wrap),
            self.comparison,
        ], layout=w.Layout(width="100%"))
        self._show_finished_run(self.runs_dir / run_name(config))

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
            self.trainer = start_run(config, self.runs_dir / run_name(config), resume=True, progress=False)
        except GencoreError as error:
            self.status.value = f"<b>Cannot train:</b> {html.escape(str(error))}"
            return
        self.trainer.add_callback("on_epoch_end", self._show_progress)
        self.thread = threading.Thread(target=self._train, args=(self.trainer,), daemon=True)
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.thread.start()

    def _train(self, trainer: Trainer) -> None:
        name = trainer.run_dir.name if trainer.run_dir is not None else "the run"  # the panel always gives one
        try:
            if trainer.finished:
                self._update_views(trainer)
                self.status.value = f"Loaded the finished run {name}: nothing to train. {_summary(trainer)}"
            else:
                resuming = trainer.global_step > 0
                self.status.value = (f"Resuming {name} from its last checkpoint ({resume_point(trainer)}) ..."
                                     if resuming else f"Training {name} ...")
                result = trainer.fit()
                self._update_views(trainer)
                self.status.value = (f"{result.status}: {result.epochs_done}/{_epochs(trainer.config.epochs)} in "
                                     f"{trainer.run_dir}{' (resumed from its last checkpoint)' if resuming else ''}. "
                                     f"{_summary(trainer)}")
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
        """After each epoch: new loss curves and samples, and the epoch's numbers (while no Stop is pending)."""
        self._update_views(trainer)
        if not trainer.stop_requested:
            self.status.value = f"epoch {trainer.epoch}/{trainer.config.epochs}: {_summary(trainer)}"

    def _update_views(self, trainer: Trainer) -> None:
        figures = run_figures(trainer, ("losses", "samples"))
        if "losses" in figures:
            self._set_image(self.losses, figure_png(figures["losses"]))
        self._set_image(self.samples, figure_png(figures["samples"]))

    def _show_finished_run(self, folder: Path) -> None:
        """The run already in ``folder`` (read from its PNGs: nothing is loaded or trained). An
        unfinished one (its kernel was restarted or killed mid-training) is announced for resuming."""
        info = read_json(folder / "run.json")
        unfinished = bool(info) and info.get("status") != "finished" and (folder / "checkpoint.pt").exists()
        if info.get("status") != "finished" and not unfinished:
            return
        for image, name in ((self.losses, "losses.png"), (self.samples, "samples.png")):
            if (folder / name).exists():  # an unfinished run has them when it stopped cleanly
                self._set_image(image, (folder / name).read_bytes())
        if unfinished:
            holder = FolderLock(folder).holder()
            ended = UNFINISHED.get(info.get("status", ""), str(info.get("status")))
            self.status.value = html.escape(
                f"{folder.name} is training in another process ({holder}): wait for it, or choose other settings."
                if holder else
                f"Found the unfinished run {folder.name}: {info.get('epochs_done')} of {_epochs(info.get('epochs'))} "
                f"saved ({ended}). Press Train to resume it from its last checkpoint.")
            return
        self.status.value = (f"Showing the finished run {folder.name} ({_epochs(info.get('epochs_done'))}). "
                             "Choose a latent size and a number of epochs, then press Train.")

    @staticmethod
    def _set_image(image: w.Image, png: bytes) -> None:
        image.value = png
        image.layout.display = "block"

    # ------------------------------------------------------------------ runs

    def refresh_runs(self) -> None:
        """List the runs of this model and dataset found in runs_dir."""
        options = []
        for folder in sorted(self.runs_dir.glob(f"{self.base_config.model}-{self.base_config.dataset}-*")):
            info = read_json(folder / "run.json")
            if info:
                options.append((f"{folder.name} ({info.get('status')}, {_epochs(info.get('epochs_done'))})", str(folder)))
        self.runs.options = options

    def _on_compare(self, _button: Any = None) -> None:
        self.comparison.value = compare_runs_html([Path(p) for p in self.runs.value])


def png_html(path: Path, width: int) -> str:
    """An inline <img> of a PNG file, or "" when there is none (a run still starting)."""
    import base64

    if not path.exists():
        return ""
    return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}" width="{width}">'


def _epochs(count: Any) -> str:
    return f"{count} epoch" + ("" if count == 1 else "s")


def _summary(trainer: Trainer) -> str:
    """The last epoch's main numbers, named, and the training speed."""
    if not trainer.history:
        return ""
    row = trainer.history[-1]
    names = [n for n in trainer.family.metrics[:3] + ("test_total", "fd", "classes_covered") if n in row]
    numbers = ", ".join(f"{name} {row[name]:.4g}" for name in names)
    speed = trainer.images_per_second()
    return html.escape(numbers + (f"; {speed:,.0f} images/s" if speed else ""))


NOT_SETTINGS = ("data_root", "extra")  # config.json fields that do not change a run: where its data is, free notes


def differing_settings(configs: list[dict[str, Any]]) -> list[str]:
    """The configuration fields in which the runs differ (a field an older run's config.json lacks
    counts as its default), in the configuration's order."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in NOT_SETTINGS]
    return [name for name in names if len({repr(_listed(c.get(name, defaults.get(name)))) for c in configs}) > 1]


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value  # betas: a tuple in code, a list in config.json


def _setting(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_setting(v) for v in value) + ")"
    return format(value, "g") if isinstance(value, float) else str(value)


def compare_runs_html(run_dirs: list[Path]) -> str:
    """The runs side by side, one column each: the settings in which they differ (named above the
    table, one row each), time, the last epoch's numbers (a blank where a run lacks one) and the
    sample grid."""
    if not run_dirs:
        return "<i>Select one or more runs to compare.</i>"
    runs = []
    for folder in run_dirs:
        config, info = read_json(folder / "config.json"), read_json(folder / "run.json")
        runs.append((folder, config, info, {k: v for k, v in last_history_row(folder).items() if k != "epoch"}))
    names = list(dict.fromkeys(name for *_, numbers in runs for name in numbers))
    differing = differing_settings([c for _, c, _, _ in runs]) if len(runs) > 1 else []
    cell = "style='padding:2px 10px;text-align:right;vertical-align:top'"
    head = "".join(f"<th {cell}>{latent_words(c.get('latent_dim'))}{_epochs(i.get('epochs_done'))}</th>" for _, c, i, _ in runs)
    time_row = "".join(f"<td {cell}>{i.get('seconds', '?')} s, {html.escape(str(i.get('device')))}</td>" for _, _, i, _ in runs)
    rows = [f"<tr><th></th>{head}</tr>"]
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    for name in differing:
        values = "".join(f"<td {cell}><b>{html.escape(_setting(c.get(name, defaults.get(name))))}</b></td>"
                         for _, c, _, _ in runs)
        rows.append(f"<tr><td><b>{html.escape(name)}</b></td>{values}</tr>")
    rows.append(f"<tr><td>training time</td>{time_row}</tr>")
    for name in names:
        values = "".join(f"<td {cell}>{n[name]:.4g}</td>" if name in n else f"<td {cell}></td>" for *_, n in runs)
        rows.append(f"<tr><td>{html.escape(name)}</td>{values}</tr>")
    images = "".join(f"<td {cell}>{png_html(folder / 'samples.png', 240)}</td>" for folder, *_ in runs)
    rows.append(f"<tr><td>samples</td>{images}</tr>")
    if len(runs) < 2:
        caption = ""
    elif differing:
        caption = f"<p>The selected runs differ in {html.escape(', '.join(differing))} (in bold below).</p>"
    else:
        caption = "<p>The selected runs have the same settings.</p>"
    return caption + "<table style='border-collapse:collapse'>" + "".join(rows) + "</table>"


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


PICKER_SAMPLES = 32  # images the class picker draws per change: four rows of eight


def class_picker(run: Any, seed: int = 0) -> Any:
    """Notebook 08's widget: choose a class (and a noise seed) and see PICKER_SAMPLES samples of it from
    ``run`` (a conditional model: the learner's or the shipped one), redrawn on each change. It shows
    the first class at once, so papermill and nbval see a drawn widget."""
    from gencore.engine.datasets import get_dataset
    from gencore.runs.plots import plot_samples

    names = get_dataset(run.config.dataset).classes
    chooser = w.Dropdown(options=[(f"{k}: {name}", k) for k, name in enumerate(names)], value=0, description="class")
    noise = w.IntText(value=seed, description="noise seed", layout=w.Layout(width="180px"))
    view = w.Image(format="png")

    def draw(*_: Any) -> None:
        images = run.sample(PICKER_SAMPLES, int(noise.value), torch.tensor(int(chooser.value)))
        title = f"{getattr(run, 'label', '') or 'your run'}: {PICKER_SAMPLES} samples of class {names[chooser.value]}"
        view.value = figure_png(plot_samples(images, title, nrow=8))  # four rows of eight

    chooser.observe(draw, names="value")
    noise.observe(draw, names="value")
    draw()
    return w.VBox([w.HBox([chooser, noise]), view])
