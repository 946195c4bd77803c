"""The on-disk formats the kit reads: unsigned-byte IDX files (MNIST), pickled batches of NumPy
arrays (CIFAR-10 as torchvision stores it) and image folders (``<split>/<class>/<image>``), each
checked, with one clear error for a damaged or foreign file."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import torch

from gencore.engine.datasets.base import ImageData, balanced_indices, subset_size
from gencore.engine.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".webp")
_IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned-byte IDX files with 3 or 1 dimensions


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


def read_pickled_batches(folder: Path, names: list[str], shape: tuple[int, int, int], classes: list[str],
                         title: str) -> ImageData:
    """Pickled dicts of NumPy arrays (b"data" rows of C*H*W bytes, b"labels"), one file per name."""
    images, labels = [], []
    for name in names:
        path = folder / name
        try:
            with open(path, "rb") as handle:
                batch = _ArrayOnlyUnpickler(handle, encoding="bytes").load()
            data, batch_labels = batch[b"data"], batch[b"labels"]
        except FileNotFoundError:
            raise DataError(f"{path} is missing: the {title} batches folder must hold {', '.join(names)}.") from None
        except Exception as error:  # any unpickling failure means a damaged or foreign file
            raise DataError(f"{path} is not a readable {title} batch ({error}): download it again.") from None
        images.append(torch.as_tensor(data, dtype=torch.uint8).reshape(-1, *shape))
        labels.append(torch.as_tensor(batch_labels, dtype=torch.long))
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
    subset = subset_size(subset, len(files), cap_subset, f"the image folder {folder}")
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
