"""The datasets, one record each (base.Dataset): everything the kit knows of MNIST and CIFAR-10.
A new dataset is one new file here and one line in DATASETS (or a ``register(dataset)`` call);
nothing outside this folder names one."""

from __future__ import annotations

from gencore.engine.datasets.base import Dataset, ImageData, balanced_indices
from gencore.engine.datasets.cifar10 import CIFAR10
from gencore.engine.datasets.mnist import MNIST
from gencore.engine.errors import DataError

DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in (MNIST, CIFAR10)}


def register(dataset: Dataset) -> Dataset:
    """Add a dataset to the kit (a new file's record, or one defined in a notebook or a test)."""
    DATASETS[dataset.name] = dataset
    return dataset


def get_dataset(name: str) -> Dataset:
    """The record of a dataset by its --dataset name."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}.") from None


def dataset_names() -> tuple[str, ...]:
    """Every registered dataset's name, in registration order (the --dataset choices)."""
    return tuple(DATASETS)


__all__ = ["DATASETS", "Dataset", "ImageData", "balanced_indices", "dataset_names", "get_dataset", "register"]
