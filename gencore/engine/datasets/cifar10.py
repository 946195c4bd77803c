"""CIFAR-10 (Krizhevsky 2009): 32x32 colour images of ten classes, as torchvision's pickled
batches (``cifar-10-batches-py/``) or as an image folder (``cifar10/{train,test}/<class>/*.jpg``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gencore.engine.datasets.base import Dataset, ImageData
from gencore.engine.datasets.formats import read_image_folder, read_pickled_batches

BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
SHAPE = (3, 32, 32)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def read(root: Path, split: str, subset: int | None, seed: int, cap_subset: bool) -> ImageData | None:
    batches, folder = root / "cifar-10-batches-py", root / "cifar10" / split
    if batches.is_dir():
        return read_pickled_batches(batches, BATCHES[split], SHAPE, list(CLASSES), "CIFAR-10")
    if folder.is_dir():
        return read_image_folder(folder, SHAPE, subset, seed, cap_subset)
    return None


def download(root: Path) -> None:
    import torchvision

    for train in (True, False):
        torchvision.datasets.CIFAR10(str(root), train=train, download=True)


def textbook_dataset(root: Path, transform: Any) -> Any:
    import torchvision

    if (root / "cifar-10-batches-py").is_dir():
        return torchvision.datasets.CIFAR10(str(root), train=True, download=False, transform=transform)
    return torchvision.datasets.ImageFolder(str(root / "cifar10" / "train"), transform=transform)


CIFAR10 = Dataset(
    name="cifar10",
    title="CIFAR-10",
    image_shape=SHAPE,
    split_sizes={"train": 50_000, "test": 10_000},
    classes=CLASSES,
    read=read,
    expected_files="cifar10/{train,test}/<class>/*.jpg or cifar-10-batches-py/{data_batch_1..5,test_batch}",
    describe_source=lambda split: "pickled batches" if "batches" in split.source else "a JPEG image folder",
    download=download,
    classifier_width=16, classifier_epochs=10,  # passes 0.80 in 10 epochs on 2 CPU cores
    classifier_target_accuracy=0.80,
    mirror_augment=True,  # a mirrored truck is a truck
    seed_latents=(64, 512),
    textbook_dataset=textbook_dataset,
)
