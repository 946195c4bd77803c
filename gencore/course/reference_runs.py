"""A run or the shipped reference: the learner's training (trained or loaded, never twice) or the
shipped reference model seen as a run, so every figure function takes either."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gencore.engine.config import TrainConfig
from gencore.engine.data import load_dataset
from gencore.engine.sampling import generate
from gencore.quality.reference import load_reference
from gencore.runs.figures import FIGURE_SAMPLES
from gencore.runs.start import train_or_load


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

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return generate(self.models, z.to(self.device))


def reference_run(model: str, dataset: str, data_root: str | None = None) -> ReferenceRun:
    """The shipped reference model of a pair (``python -m gencore reference`` lists them), with
    64 real test images for the figures that compare."""
    reference = load_reference(f"{model}-{dataset}")
    real = load_dataset(dataset, "test", data_root, subset=FIGURE_SAMPLES, seed=0).images
    return ReferenceRun(reference.config, reference.models, reference.history, reference.trace,
                        reference.entry.get("epochs_done", len(reference.history)), real, real, reference.entry,
                        label=f"shipped reference ref:{reference.name}")


def train_or_reference(config: TrainConfig, runs_dir: str | Path, use_reference: bool) -> Any:
    """The learner's run (train-or-load: nothing trains twice), or the shipped reference model."""
    if use_reference:
        run = reference_run(config.model, config.dataset, config.data_root)
        entry = run.entry
        print(f"Loaded the {run.label}: latent {run.config.latent_dim}, width {run.config.width}, lr {run.config.lr:g}, "
              f"{entry.get('epochs_done')} epochs ({entry.get('train_seconds', 0) / 60:.0f} min on {entry.get('device')}); "
              f"measured fd {entry['fd']:.2f}, {entry['classes_covered']} classes. Nothing was trained.")
        return run
    return train_or_load(config, runs_dir)
