"""MNIST (LeCun et al. 1998): 28x28 grey digits, as torchvision stores them (``MNIST/raw/*-ubyte``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gencore.engine.datasets.base import Dataset, ImageData
from gencore.engine.datasets.formats import read_idx
from gencore.engine.errors import DataError

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SHAPE = (1, 28, 28)


def read(root: Path, split: str, subset: int | None, seed: int, cap_subset: bool) -> ImageData | None:
    raw = root / "MNIST" / "raw"
    image_file, label_file = (raw / name for name in FILES[split])
    if not (image_file.exists() and label_file.exists()):
        return None
    images = read_idx(image_file, ndim=3)
    labels = read_idx(label_file, ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{image_file} holds {images.shape[0]} images but {label_file} holds {labels.shape[0]} labels: "
            "replace both files with a matching pair."
        )
    if tuple(images.shape[1:]) != SHAPE[1:]:
        raise DataError(f"{image_file} holds {tuple(images.shape[1:])} images, expected 28x28: is it MNIST?")
    return ImageData(images.unsqueeze(1).contiguous(), labels.long(), [str(d) for d in range(10)], str(raw))


def download(root: Path) -> None:
    import torchvision

    for train in (True, False):
        torchvision.datasets.MNIST(str(root), train=train, download=True)


def textbook_dataset(root: Path, transform: Any) -> Any:
    import torchvision

    return torchvision.datasets.MNIST(str(root), train=True, download=False, transform=transform)


MNIST = Dataset(
    name="mnist",
    title="MNIST",
    image_shape=SHAPE,
    split_sizes={"train": 60_000, "test": 10_000},
    classes=tuple(str(d) for d in range(10)),
    read=read,
    expected_files="MNIST/raw/" + ", MNIST/raw/".join(FILES["train"] + FILES["test"]),
    describe_source=lambda split: "IDX files",
    download=download,
    classifier_width=8, classifier_epochs=3,  # passes 0.99 in 3 epochs on 2 CPU cores
    classifier_target_accuracy=0.99,
    mirror_augment=False,  # a mirrored digit is another symbol
    seed_latents=(2, 64),
    textbook_dataset=textbook_dataset,
)
