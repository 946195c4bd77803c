"""What every model notebook's set-up cells call: the networks' layers, the training data, its
quality, the training panel, and the record a sweep reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gencore.engine.config import TrainConfig
from gencore.engine.data import load_dataset


def layers(config: TrainConfig) -> str:
    """Every layer of the configuration's networks with the shape it outputs and its parameters."""
    from gencore.course.explore import shape_table
    from gencore.engine.data import image_shape

    shape = image_shape(config.dataset)
    return shape_table(config.family.build(config, shape), shape, config.latent_dim)


def training_data(config: TrainConfig) -> Any:
    """The run's training split (or subset), held in memory as 8-bit images, described in two lines."""
    data = load_dataset(config.dataset, "train", config.data_root, config.subset, config.seed)
    print(f"{len(data)} training images of shape {data.image_shape}, {data.images.dtype}")
    print("classes:", ", ".join(data.classes))
    return data


def real_images(data: Any, count: int = 64) -> Any:
    from gencore.engine.data import to_float
    from gencore.runs.plots import plot_samples

    return plot_samples(to_float(data.images[:count], "unit"), "Real training images")


def quality(run: Any, n: int, seed: int = 0, data_root: str | None = None, measure: bool = True) -> dict[str, Any]:
    """The run's sample quality with the shipped classifier, printed beside the real images' floor
    and returned ({} when not measured)."""
    from gencore.quality.metrics import evaluate_models, format_quality
    from gencore.quality.reference import shipped_floor

    numbers = evaluate_models(run.config, run.models, n=n, seed=seed, data_root=data_root) if measure else {}
    shipped = str(numbers.get("classifier", "")).startswith("shipped")  # the floor was measured with the shipped one
    print(format_quality(numbers, shipped_floor(run.config.dataset) if shipped else None))
    return numbers


def panel(config: TrainConfig, runs_dir: str | Path) -> Any:
    from gencore.course.widgets import TrainingPanel

    return TrainingPanel(config, runs_dir)


def record(result_json: str | None, run: Any, numbers: dict[str, Any]) -> None:
    """For a sweep (python -m gencore sweep): the run's parameters and quality in ``result_json``."""
    from gencore.studies.sweep import write_result

    if result_json:
        write_result(result_json, run, numbers)
        print("wrote", result_json)
