"""A run or the shipped reference: the learner's training (trained or loaded, never twice) or the
shipped reference model seen as a run, so every figure function takes either."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gencore.engine.config import TrainConfig, latent_words
from gencore.engine.data import load_dataset
from gencore.engine.runtime import resolve_device
from gencore.engine.sampling import generate, sample_images
from gencore.quality.reference import load_reference
from gencore.runs.figures import FIGURE_SAMPLES
from gencore.runs.start import train_or_load

SHORT_RUN_EPOCHS = 1000  # more than any time budget reaches: the budget ends a short run


@dataclasses.dataclass
class ReferenceRun:
    """A shipped reference model seen as a run, so every figure function takes it like a Trainer.
    Its figures say that they show the shipped reference, not the learner's run."""

    config: TrainConfig
    models: dict[str, nn.Module]
    history: list[dict[str, float]]
    trace: list[dict[str, float]]
    epoch: float
    real_images: torch.Tensor
    test_images: torch.Tensor
    entry: dict[str, Any]
    label: str
    device: torch.device = torch.device("cpu")
    run_dir: Path | None = None
    test_labels: torch.Tensor | None = None  # the test images' classes (a conditional model's reconstructions)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return generate(self.models, self.config, z.to(self.device), labels)

    def sample(self, n: int, seed: int = 0, classes: torch.Tensor | None = None) -> torch.Tensor:
        return sample_images(self.models, self.config, n, seed, self.device, classes)


def reference_run(model: str, dataset: str, data_root: str | None = None, name: str | None = None) -> ReferenceRun:
    """The shipped reference model of a pair (``python -m gencore reference`` lists them), or the one
    called ``name`` (such as 'vae-conv-cifar10'), with 64 real test images for the figures that compare."""
    reference = load_reference(name or f"{model}-{dataset}")
    real = load_dataset(reference.config.dataset, "test", data_root, subset=FIGURE_SAMPLES, seed=0)
    return ReferenceRun(reference.config, reference.models, reference.history, reference.trace,
                        reference.entry.get("epochs_done", len(reference.history)), real.images, real.images, reference.entry,
                        label=f"shipped reference ref:{reference.name}", test_labels=real.labels)


# The settings a learner sets in a notebook's first cell that change the model or its numbers, in the order the
# difference table lists them (the family's own settings, such as the WGAN-GP's n_critic, follow the width).
SHARED_SETTINGS = ("latent_dim", "width", "epochs", "batch_size", "lr", "betas", "precision", "subset", "seed", "time_budget")


def _setting_text(value: Any, name: str = "") -> str:
    if value is None:
        return {"subset": "all images", "time_budget": "none"}.get(name, "None")
    if name == "time_budget":
        return f"{value:g} min"
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_setting_text(v) for v in value) + ")"
    return str(value)


def settings_differences(cell: TrainConfig, run: ReferenceRun) -> list[tuple[str, str, str]]:
    """(field, the cell's value, the shipped reference's value) for every setting in which the
    reference differs from the notebook's configuration; its epochs are the ones it trained."""
    fields = [*SHARED_SETTINGS[:2], *cell.own_settings(), *SHARED_SETTINGS[2:]]
    trained = {"epochs": run.entry.get("epochs_done", run.config.epochs)}
    rows = []
    for name in fields:
        ours, theirs = getattr(cell, name), trained.get(name, getattr(run.config, name))
        if _setting_text(ours, name) != _setting_text(theirs, name):
            rows.append((name, _setting_text(ours, name), _setting_text(theirs, name)))
    return rows


def differences_text(rows: list[tuple[str, str, str]]) -> str:
    """The differences as a small table, with the parameter that trains the cell's settings instead."""
    if not rows:
        return "The shipped reference has the first cell's settings."
    table = [("setting", "first cell", "shipped reference"), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = ["  " + "  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip() for row in table]
    return ("The shipped reference differs from the first cell's settings in " + ", ".join(r[0] for r in rows) + ":\n"
            + "\n".join(lines) + "\nThe figures below show the reference. To train the first cell's settings instead, "
            "set use_reference = False there (papermill: -p use_reference False).")


def accelerated(config: TrainConfig) -> bool:
    """Whether the configuration's device is a GPU (CUDA or Apple's MPS), where the full runs take minutes."""
    return resolve_device(config.device).type in ("cuda", "mps")


def train_or_reference(config: TrainConfig, runs_dir: str | Path, use_reference: bool | None) -> Any:
    """The learner's run (train-or-load: nothing trains twice), or the shipped reference model.
    ``use_reference=None`` chooses by the machine: the reference without a GPU (the full run takes
    tens of minutes to hours on a CPU), training on a GPU."""
    if use_reference is None:
        use_reference = not accelerated(config)
        if use_reference:
            print(f"No GPU here: the {config.epochs}-epoch run this notebook describes is long on a CPU (its Time paragraph "
                  "says how long), so the shipped reference is loaded instead (use_reference = False trains it; the short "
                  "run below and the panel at the end train your own).")
    if use_reference:
        run = reference_run(config.model, config.dataset, config.data_root)
        entry = run.entry
        print(f"Loaded the {run.label}: {latent_words(run.config.latent_dim)}width {run.config.width}, lr {run.config.lr:g}, "
              f"{entry.get('epochs_done')} epochs ({entry.get('train_seconds', 0) / 60:.0f} min on {entry.get('device')}); "
              f"measured fd {entry['fd']:.2f}, {entry['classes_covered']} classes. Nothing was trained.")
        print(differences_text(settings_differences(config, run)))
        return run
    return train_or_load(config, runs_dir)


def short_run(config: TrainConfig, runs_dir: str | Path, minutes: float, run: Any) -> Any:
    """The learner's own run in minutes, when ``run`` is the shipped reference: the cpu-fast preset's
    settings (narrower networks, faster learning rates; gencore.engine.presets) for ``minutes`` of
    training, train-or-load (a later Run All continues it for as long again). Returns its figure
    (losses and samples), or None, saying why, when there is nothing to train."""
    from gencore.course.own_code import own_run_figures
    from gencore.engine.presets import preset_settings

    if not isinstance(run, ReferenceRun):
        print("You trained the full run above: no short run is needed.")
        return None
    if minutes <= 0:
        print("own_minutes is 0: no short run of your own.")
        return None
    settings = {**preset_settings("cpu-fast", config.model, config.dataset), "time_budget": minutes}
    quick = dataclasses.replace(config, epochs=max(config.epochs, SHORT_RUN_EPOCHS), eval_every=0, **settings)
    trainer = train_or_load(quick, runs_dir, progress=False)
    images = trainer.global_step * quick.batch_size
    return own_run_figures(trainer, f"Your own run: {images:,} images in {trainer.seconds / 60:.1f} min at the cpu-fast "
                                    f"settings (width {quick.width}, lr {quick.lr:g}); samples at the end")


def references_table(names: list[str]) -> str:
    """Shipped references side by side as their manifest records them (10,000 samples each, the
    shipped classifier): fd, recognised share, classes covered, and how long each trained."""
    from gencore.quality.reference import reference_entry

    lines = [f"{'':<24} {'network':<24} {'fd':>7} {'recognised':>10} {'classes':>7} {'trained':>16}"]
    for name in names:
        entry = reference_entry(name)
        config = TrainConfig.from_dict(entry["config"])
        network = f"{config.model} {getattr(config, 'vae_network', '')}".strip() + f", width {config.width}"
        lines.append(f"{'ref:' + name:<24} {network:<24} {entry['fd']:>7.2f} {entry['recognised']:>10.3f} "
                     f"{entry['classes_covered']:>7} {entry['train_seconds'] / 60:>6.1f} min, {entry['epochs_done']:>2} ep")
    return "\n".join(lines)

