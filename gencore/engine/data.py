"""Datasets as uint8 tensors in memory, a seeded balanced subset, and fast batches.

What each dataset is (its shape, files, formats, classes) is its record in
gencore.engine.datasets; this module reads any of them the same way:
- ``data_root`` (argument, ``--data-root`` flag) or the ``GENCORE_DATA`` variable: existing files,
  never downloaded (MNIST as torchvision stores it, ``MNIST/raw/*-ubyte``; CIFAR-10 as
  torchvision's pickled batches, ``cifar-10-batches-py/``, or as an image folder,
  ``cifar10/{train,test}/<class>/*.jpg``).
- otherwise a cache folder that the record's download fills (needs internet once).

The whole split stays a uint8 tensor; batches are normalised when they are drawn, so no
per-image Python work happens in the training loop.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import torch

from gencore.engine.datasets import DATASETS, get_dataset
from gencore.engine.datasets.base import Dataset, ImageData, balanced_indices, subset_size
from gencore.engine.datasets.formats import read_idx, read_image_folder
from gencore.engine.errors import DataError

if TYPE_CHECKING:
    from gencore.engine.config import TrainConfig

__all__ = ["IMAGE_SHAPES", "SPLIT_SIZES", "ImageData", "as_unit_float", "balanced_indices", "batch_indices", "default_data_root", "epoch_order",
           "image_shape", "load_dataset", "load_splits", "read_idx", "read_image_folder", "to_float"]


class _PerDataset(Mapping[str, Any]):
    """A read-only view of one field of every registered dataset's record, by name."""

    def __init__(self, read: Callable[[Dataset], Any]) -> None:
        self._read = read

    def __getitem__(self, name: str) -> Any:
        return self._read(get_dataset(name))

    def __iter__(self) -> Iterator[str]:
        return iter(DATASETS)

    def __len__(self) -> int:
        return len(DATASETS)


IMAGE_SHAPES: Mapping[str, tuple[int, int, int]] = _PerDataset(lambda d: d.image_shape)  # (C, H, W) by dataset
SPLIT_SIZES: Mapping[str, Mapping[str, int]] = _PerDataset(lambda d: d.split_sizes)  # images per split, by dataset


def image_shape(dataset: str) -> tuple[int, int, int]:
    """(C, H, W) of a dataset's images, from its record."""
    return get_dataset(dataset).image_shape


def default_data_root() -> tuple[Path, bool]:
    """The folder to read from and whether torchvision may download into it."""
    if os.environ.get("GENCORE_DATA"):
        return Path(os.environ["GENCORE_DATA"]).expanduser(), False
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "gencore" / "data", True


def load_dataset(
    dataset: str,
    split: str = "train",
    data_root: str | os.PathLike | None = None,
    subset: int | None = None,
    seed: int = 0,
    cap_subset: bool = False,
) -> ImageData:
    """Load a whole split (or a seeded class-balanced subset of it) as uint8 tensors.

    With ``cap_subset`` a subset larger than the split means the whole split instead of an error.

    A root that was given (argument or GENCORE_DATA) must hold the files; the default cache
    folder is filled by torchvision's download when the files are missing.
    """
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}.")
    if data_root is None:
        root, may_download = default_data_root()
    else:
        root, may_download = Path(data_root).expanduser(), False
    if not may_download and not root.is_dir():
        raise DataError(
            f"data root {str(root)!r} does not exist: point --data-root (or GENCORE_DATA) at the folder "
            f"that holds {get_dataset(dataset).expected_files}."
        )
    record = get_dataset(dataset)
    data = record.read(root, split, subset, seed, cap_subset)
    if data is None and may_download and record.download is not None:
        _download(dataset, root)
        data = record.read(root, split, subset, seed, cap_subset)
    if data is None:
        raise _missing(dataset, root)
    subset = subset_size(subset, len(data), cap_subset, f"the {dataset} {split} split")
    if subset is not None and subset < len(data):  # the image folder reader has already sampled
        keep = balanced_indices(data.labels, subset, seed)
        data = ImageData(data.images[keep], data.labels[keep], data.classes, data.source)
    return data


def load_splits(config: "TrainConfig", with_test: bool) -> tuple[ImageData, ImageData | None]:
    """A run's training split (or its subset) and, when asked, its test split (a subset run tests
    on as many images), checking that a batch fits in the training data."""
    train = load_dataset(config.dataset, "train", config.data_root, config.subset, config.seed)
    if config.batch_size > len(train):
        raise DataError(f"batch_size {config.batch_size} is larger than the {len(train)} training images: "
                        f"use a batch size of at most {len(train)}.")
    test = load_dataset(config.dataset, "test", config.data_root, config.subset, config.seed, cap_subset=True) if with_test else None
    return train, test


# ---------------------------------------------------------------------------- missing files


def _missing(dataset: str, root: Path) -> DataError:
    return DataError(
        f"{dataset} not found in {root}: expected {get_dataset(dataset).expected_files}. Point --data-root (or "
        f"GENCORE_DATA) at a folder holding them, e.g. ../shared/data, or run once with internet "
        f"and no data root so torchvision downloads them."
    )


def _download(dataset: str, root: Path) -> None:
    """Let the record fetch the dataset into the cache; any failure becomes one clear message."""
    download = get_dataset(dataset).download
    try:
        root.mkdir(parents=True, exist_ok=True)
        if download is not None:
            download(root)
    except Exception as error:  # offline, proxy, checksum: all mean the same to the user
        raise DataError(
            f"{dataset} is not in {root} and downloading it failed ({type(error).__name__}). Point "
            f"--data-root (or GENCORE_DATA) at a folder holding {get_dataset(dataset).expected_files}, e.g. "
            f"../shared/data, or retry with internet."
        ) from None


# ---------------------------------------------------------------------------- batches


def epoch_order(n: int, seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The shuffled order of epoch ``epoch``: a pure function of (seed, epoch), so a resumed
    run draws exactly the batches the uninterrupted one would have."""
    generator = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
    return torch.randperm(n, generator=generator).to(device)


def batch_indices(order: torch.Tensor, batch_size: int, start_step: int = 0) -> Iterator[torch.Tensor]:
    """Index batches of a full size, from step ``start_step``; the ragged tail is dropped
    because one-image batches break batch norm and skew per-batch loss means."""
    steps = order.numel() // batch_size
    for step in range(start_step, steps):
        yield order[step * batch_size : (step + 1) * batch_size]


def as_unit_float(images: torch.Tensor) -> torch.Tensor:
    """Images as floats in [0, 1]: uint8 ones scaled, float ones (already in [0, 1]) as they are."""
    return to_float(images, "unit") if images.dtype == torch.uint8 else images.float()


def to_float(images: torch.Tensor, value_range: str) -> torch.Tensor:
    """uint8 (B, C, H, W) to float32: 'unit' gives [0, 1] (VAE), 'symmetric' [-1, 1] (GANs)."""
    x = images.float()
    if value_range == "unit":
        return x.div_(255.0)
    return x.div_(127.5).sub_(1.0)
