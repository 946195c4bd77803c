"""What a dataset is: one record holding everything the kit knows of it (its shape, its files
and how they are read, its class names, how its quality classifier is trained, the seed study's
latent sizes for it). The loader, the classifier, the study and the benchmark ask the record;
none of them branches on the dataset's name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from gencore.engine.errors import DataError


@dataclass
class ImageData:
    """One split held in memory: images (N, C, H, W) uint8 and labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    source: str

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]


# (root, split, subset, seed, cap_subset) -> the split, or None when root does not hold its files.
# A reader that decodes files one by one may take the subset before decoding; others return the whole split.
Reader = Callable[[Path, str, "int | None", int, bool], "ImageData | None"]


@dataclass(frozen=True)
class Dataset:
    """One dataset: the only place that knows it."""

    name: str  # the --dataset value
    title: str  # for text: "MNIST"
    image_shape: tuple[int, int, int]  # (C, H, W)
    split_sizes: Mapping[str, int]  # images per split of the full dataset: {"train": ..., "test": ...}
    classes: tuple[str, ...]  # class names, in label order
    read: Reader  # reads a split from a data root
    expected_files: str  # what a data root must hold, for error messages
    describe_source: Callable[[ImageData], str]  # the format a split was read from, in words ("IDX files")
    download: Callable[[Path], None] | None = None  # fetches the files into a cache folder (None: never downloaded)
    # The quality classifier's recipe (gencore.quality.classifier): chosen by measuring on 2 CPU cores, the
    # fewest epochs that pass the target accuracy on the test split.
    classifier_width: int = 8
    classifier_epochs: int = 3
    classifier_target_accuracy: float = 0.9  # the test accuracy the classifier must reach before its features are trusted
    mirror_augment: bool = False  # whether a mirrored image is still of its class (a truck is; a digit is not)
    seed_latents: tuple[int, ...] = ()  # the seed study's latent sizes on this dataset
    # The textbook loop of the benchmark: (root, transform) -> a torch Dataset of (image tensor, label).
    textbook_dataset: Callable[[Path, Any], Any] | None = None

    @property
    def classes_count(self) -> int:
        return len(self.classes)


def balanced_indices(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """A seeded sample of n indices taking classes in turn, so every class gets n/k (+1)."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(labels.numel(), generator=generator)
    shuffled = labels[order]
    rank_in_class = torch.empty_like(order)
    for value in shuffled.unique():
        members = (shuffled == value).nonzero().squeeze(1)
        rank_in_class[members] = torch.arange(members.numel())
    # Sorting by (rank within class, position in the shuffle) interleaves the classes.
    key = rank_in_class * labels.numel() + torch.arange(labels.numel())
    return order[key.argsort()[:n]].sort().values


def subset_size(subset: int | None, available: int, cap: bool, where: str) -> int | None:
    """The subset to take of ``available`` images: capped to them, or refused when larger."""
    if subset is None:
        return None
    if cap:
        return min(subset, available)
    if subset > available:
        raise DataError(
            f"subset {subset} is larger than {where} ({available} images): "
            f"use a subset of at most {available}, or none for the whole split."
        )
    return subset
