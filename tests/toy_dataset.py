"""A toy dataset, registered from outside the package as a new dataset would be: this record and
one ``register(BLOCKS)`` line. "Blocks": 16x16 grey images, each a bright 4x4 block at one of ten
places (its class) on faint noise, stored as IDX files like MNIST's (``blocks/{split}-images-idx3-ubyte``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import write_idx
from gencore.engine.datasets import Dataset, ImageData
from gencore.engine.datasets.formats import read_idx

SPLITS = {"train": 600, "test": 200}


def make_blocks(root: Path, seed: int = 0) -> Path:
    """Write both splits under root/blocks; returns root."""
    rng = np.random.default_rng(seed)
    (root / "blocks").mkdir(parents=True, exist_ok=True)
    for split, n in SPLITS.items():
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, size=(n, 16, 16)).astype(np.uint8)
        for image, label in zip(images, labels):
            row, col = divmod(int(label), 4)
            image[row * 4 + 2: row * 4 + 6, col * 4: col * 4 + 4] = 230
        write_idx(root / "blocks" / f"{split}-images-idx3-ubyte", images)
        write_idx(root / "blocks" / f"{split}-labels-idx1-ubyte", labels.astype(np.uint8))
    return root


def read(root: Path, split: str, subset, seed, cap_subset) -> ImageData | None:  # noqa: ANN001 - the reader signature
    images, labels = (root / "blocks" / f"{split}-{kind}" for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"))
    if not images.exists():
        return None
    return ImageData(read_idx(images, 3).unsqueeze(1).contiguous(), read_idx(labels, 1).long(),
                     [f"place {i}" for i in range(10)], str(images.parent))


BLOCKS = Dataset(
    name="blocks",
    title="Blocks",
    image_shape=(1, 16, 16),
    split_sizes=SPLITS,
    classes=tuple(f"place {i}" for i in range(10)),
    read=read,
    expected_files="blocks/{train,test}-{images-idx3,labels-idx1}-ubyte",
    describe_source=lambda split: "IDX files",
    classifier_width=4, classifier_epochs=5, classifier_target_accuracy=0.9,
    seed_latents=(2, 8),
)
