"""MNIST and CIFAR-10 as uint8 tensors in memory, a seeded balanced subset, and fast batches.

Where the files are read from:
- ``data_root`` (argument, ``--data-root`` flag) or the ``GENCORE_DATA`` variable: existing files,
  never downloaded. MNIST as torchvision stores it (``MNIST/raw/*-ubyte``); CIFAR-10 as
  torchvision's pickled batches (``cifar-10-batches-py/``) or as an image folder
  (``cifar10/{train,test}/<class>/*.jpg``).
- otherwise a cache folder that torchvision downloads into (needs internet once).

The whole split stays a uint8 tensor; batches are normalised when they are drawn, so no
per-image Python work happens in the training loop.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import torch

from gencore.engine.errors import DataError

if TYPE_CHECKING:
    from gencore.engine.config import TrainConfig

IMAGE_SHAPES: dict[str, tuple[int, int, int]] = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
SPLIT_SIZES: dict[str, dict[str, int]] = {
    "mnist": {"train": 60_000, "test": 10_000},
    "cifar10": {"train": 50_000, "test": 10_000},
}
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".webp")
_IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned-byte IDX files with 3 or 1 dimensions


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
            f"that holds {_expected_files(dataset)}."
        )
    if dataset == "mnist":
        data = _load_mnist(root, split, may_download)
    elif dataset == "cifar10":
        data = _load_cifar10(root, split, may_download, subset, seed, cap_subset)
    else:
        raise DataError(f"unknown dataset {dataset!r}: choose one of {', '.join(IMAGE_SHAPES)}.")
    subset = _subset_size(subset, len(data), cap_subset, f"the {dataset} {split} split")
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


def _subset_size(subset: int | None, available: int, cap: bool, where: str) -> int | None:
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


# ---------------------------------------------------------------------------- MNIST


def _load_mnist(root: Path, split: str, may_download: bool) -> ImageData:
    raw = root / "MNIST" / "raw"
    image_file, label_file = (raw / name for name in MNIST_FILES[split])
    if not (image_file.exists() and label_file.exists()):
        if may_download:
            _download("mnist", root)
        if not (image_file.exists() and label_file.exists()):
            raise _missing("mnist", root)
    images = read_idx(image_file, ndim=3)
    labels = read_idx(label_file, ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{image_file} holds {images.shape[0]} images but {label_file} holds {labels.shape[0]} labels: "
            "replace both files with a matching pair."
        )
    if tuple(images.shape[1:]) != IMAGE_SHAPES["mnist"][1:]:
        raise DataError(f"{image_file} holds {tuple(images.shape[1:])} images, expected 28x28: is it MNIST?")
    return ImageData(images.unsqueeze(1).contiguous(), labels.long(), [str(d) for d in range(10)], str(raw))


def read_idx(path: Path, ndim: int) -> torch.Tensor:
    """Read an uncompressed unsigned-byte IDX file, checking its header and its length."""
    try:
        blob = Path(path).read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}.") from None
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise DataError(f"{path} is truncated ({len(blob)} bytes, shorter than its header): download it again.")
    magic = int.from_bytes(blob[:4], "big")
    if magic != _IDX_MAGIC[ndim]:
        raise DataError(
            f"{path} is not a {ndim}-dimensional IDX file (magic number {magic:#010x}, expected "
            f"{_IDX_MAGIC[ndim]:#010x}); if it ends in .gz, decompress it first."
        )
    dims = [int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = 1
    for d in dims:
        count *= d
    if len(blob) != header + count:
        raise DataError(
            f"{path} is truncated or corrupt: its header announces {count} bytes of data, the file holds "
            f"{len(blob) - header}. Download it again."
        )
    return torch.frombuffer(bytearray(blob[header:]), dtype=torch.uint8).reshape(dims)


# ---------------------------------------------------------------------------- CIFAR-10


def _load_cifar10(
    root: Path, split: str, may_download: bool, subset: int | None, seed: int, cap_subset: bool
) -> ImageData:
    batches = root / "cifar-10-batches-py"
    folder = root / "cifar10" / split
    if not batches.is_dir() and not folder.is_dir() and may_download:
        _download("cifar10", root)
    if batches.is_dir():
        return _read_cifar_batches(batches, split)
    if folder.is_dir():
        return read_image_folder(folder, IMAGE_SHAPES["cifar10"], subset, seed, cap_subset)
    raise _missing("cifar10", root)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles CIFAR's batches (dicts of NumPy arrays) and refuses every other global,
    so a tampered batch file cannot run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_batches(folder: Path, split: str) -> ImageData:
    images, labels = [], []
    for name in CIFAR_BATCHES[split]:
        path = folder / name
        try:
            with open(path, "rb") as handle:
                batch = _ArrayOnlyUnpickler(handle, encoding="bytes").load()
            data, batch_labels = batch[b"data"], batch[b"labels"]
        except FileNotFoundError:
            raise DataError(f"{path} is missing: the CIFAR-10 batches folder must hold {', '.join(CIFAR_BATCHES[split])}.") from None
        except Exception as error:  # any unpickling failure means a damaged or foreign file
            raise DataError(f"{path} is not a readable CIFAR-10 batch ({error}): download it again.") from None
        images.append(torch.as_tensor(data, dtype=torch.uint8).reshape(-1, 3, 32, 32))
        labels.append(torch.as_tensor(batch_labels, dtype=torch.long))
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return ImageData(torch.cat(images), torch.cat(labels), classes, str(folder))


def read_image_folder(
    folder: Path, shape: tuple[int, int, int], subset: int | None = None, seed: int = 0, cap_subset: bool = False
) -> ImageData:
    """Read ``folder/<class>/<image>`` into uint8 tensors, choosing the subset before decoding."""
    from torchvision.io import ImageReadMode, decode_image, decode_jpeg, read_file

    classes = sorted(d.name for d in Path(folder).iterdir() if d.is_dir())
    files: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        found = sorted(p for p in (Path(folder) / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        labels += [index] * len(found)
    if not files:
        raise DataError(f"{folder} holds no images: expected {folder}/<class>/<image>.jpg.")
    label_tensor = torch.tensor(labels, dtype=torch.long)
    subset = _subset_size(subset, len(files), cap_subset, f"the image folder {folder}")
    if subset is not None:
        keep = balanced_indices(label_tensor, subset, seed)
        files = [files[i] for i in keep.tolist()]
        label_tensor = label_tensor[keep]
    mode = ImageReadMode.RGB if shape[0] == 3 else ImageReadMode.GRAY
    with warnings.catch_warnings():
        # torchvision 0.29 marks its decoders deprecated (for torchcodec); the pinned version has them.
        warnings.simplefilter("ignore", DeprecationWarning)
        raw = [read_file(str(p)) for p in files]
        try:
            if all(p.suffix.lower() in (".jpg", ".jpeg") for p in files) and shape[0] == 3:
                decoded = decode_jpeg(raw, mode=mode)  # one batched call: about 3x faster than PIL here
            else:
                decoded = [decode_image(data, mode=mode) for data in raw]
        except RuntimeError:
            decoded = [_decode_one(path, data, mode) for path, data in zip(files, raw)]
    for path, image in zip(files, decoded):
        if tuple(image.shape) != shape:
            raise DataError(f"{path} is {tuple(image.shape)}, expected {shape}: resize the folder's images first.")
    return ImageData(torch.stack(decoded), label_tensor, classes, str(folder))


def _decode_one(path: Path, data: torch.Tensor, mode) -> torch.Tensor:  # noqa: ANN001 - torchvision enum
    from torchvision.io import decode_image

    try:
        return decode_image(data, mode=mode)
    except RuntimeError:
        raise DataError(f"cannot decode image {path}: the file is damaged; delete or replace it.") from None


# ---------------------------------------------------------------------------- missing files


def _expected_files(dataset: str) -> str:
    if dataset == "mnist":
        return "MNIST/raw/" + ", MNIST/raw/".join(MNIST_FILES["train"] + MNIST_FILES["test"])
    return "cifar10/{train,test}/<class>/*.jpg or cifar-10-batches-py/{data_batch_1..5,test_batch}"


def _missing(dataset: str, root: Path) -> DataError:
    return DataError(
        f"{dataset} not found in {root}: expected {_expected_files(dataset)}. Point --data-root (or "
        f"GENCORE_DATA) at a folder holding them, e.g. ../shared/data, or run once with internet "
        f"and no data root so torchvision downloads them."
    )


def _download(dataset: str, root: Path) -> None:
    """Let torchvision fetch the dataset into the cache; any failure becomes one clear message."""
    import torchvision

    cls = torchvision.datasets.MNIST if dataset == "mnist" else torchvision.datasets.CIFAR10
    try:
        root.mkdir(parents=True, exist_ok=True)
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as error:  # offline, proxy, checksum: all mean the same to the user
        raise DataError(
            f"{dataset} is not in {root} and downloading it failed ({type(error).__name__}). Point "
            f"--data-root (or GENCORE_DATA) at a folder holding {_expected_files(dataset)}, e.g. "
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
