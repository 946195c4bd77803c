"""Loading MNIST and CIFAR-10 in every supported on-disk format, subsets, and damaged files."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
import torch

from conftest import make_cifar_batches, needs_real_data, real_data_root, write_idx
from gencore.engine.data import balanced_indices, batch_indices, epoch_order, load_dataset, to_float
from gencore.engine.errors import DataError


def test_mnist_from_idx_files(fixture_root: Path) -> None:
    train = load_dataset("mnist", "train", fixture_root)
    assert train.images.shape == (2000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert train.labels.shape == (2000,) and set(train.labels.tolist()) == set(range(10))
    assert len(load_dataset("mnist", "test", fixture_root)) == 200


def test_cifar10_from_an_image_folder(fixture_root: Path) -> None:
    train = load_dataset("cifar10", "train", fixture_root)
    assert train.images.shape == (1000, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.classes[0] == "airplane" and len(train.classes) == 10
    # The bar each synthetic class draws survives JPEG: pixel values stay near the written ones.
    assert train.images.float().mean() > 20


def test_cifar10_from_pickled_batches(tmp_path: Path) -> None:
    root = make_cifar_batches(tmp_path)
    assert load_dataset("cifar10", "train", root).images.shape == (100, 3, 32, 32)
    assert load_dataset("cifar10", "test", root).images.shape == (20, 3, 32, 32)


def test_a_tampered_cifar_batch_cannot_run_code(tmp_path: Path) -> None:
    root = make_cifar_batches(tmp_path)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):  # noqa: ANN204
            return (Path.touch, (marker,))

    (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps({b"data": Exploit()}))
    with pytest.raises(DataError, match="data_batch_1 is not a readable CIFAR-10 batch"):
        load_dataset("cifar10", "train", root)
    assert not marker.exists()


def test_subset_is_seeded_and_class_balanced(fixture_root: Path) -> None:
    a = load_dataset("mnist", "train", fixture_root, subset=100, seed=3)
    b = load_dataset("mnist", "train", fixture_root, subset=100, seed=3)
    c = load_dataset("mnist", "train", fixture_root, subset=100, seed=4)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert torch.bincount(a.labels, minlength=10).tolist() == [10] * 10
    folder = load_dataset("cifar10", "train", fixture_root, subset=50, seed=3)
    assert torch.bincount(folder.labels, minlength=10).tolist() == [5] * 10


def test_balanced_indices_spread_the_remainder() -> None:
    labels = torch.arange(1000) % 10
    counts = torch.bincount(labels[balanced_indices(labels, 25, seed=0)], minlength=10)
    assert counts.sum() == 25 and counts.max() - counts.min() <= 1


def test_subset_larger_than_the_split_is_refused(fixture_root: Path) -> None:
    with pytest.raises(DataError, match="subset 2001 is larger than the mnist train split \\(2000 images\\)"):
        load_dataset("mnist", "train", fixture_root, subset=2001)


def test_missing_root_names_the_expected_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset("mnist", "train", tmp_path / "nowhere")
    assert "does not exist" in str(error.value) and "train-images-idx3-ubyte" in str(error.value)


def test_missing_dataset_in_an_existing_root(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cifar10 not found in .*cifar10/\\{train,test\\}/<class>"):
        load_dataset("cifar10", "train", tmp_path)


def test_failed_download_gives_one_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torchvision

    def offline(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError("Temporary failure in name resolution")

    monkeypatch.delenv("GENCORE_DATA", raising=False)
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError, match="downloading it failed .*--data-root"):
        load_dataset("mnist", "train")


def _copy_mnist(fixture_root: Path, tmp_path: Path) -> Path:
    shutil.copytree(fixture_root / "MNIST", tmp_path / "MNIST")
    return tmp_path


def test_truncated_idx_file(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_mnist(fixture_root, tmp_path)
    path = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="train-images-idx3-ubyte is truncated or corrupt.*Download it again"):
        load_dataset("mnist", "train", root)


def test_idx_file_with_a_wrong_header(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_mnist(fixture_root, tmp_path)
    path = root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x1f\x8b" + path.read_bytes()[2:])  # looks like gzip
    with pytest.raises(DataError, match="is not a 1-dimensional IDX file"):
        load_dataset("mnist", "train", root)


def test_images_and_labels_that_disagree(fixture_root: Path, tmp_path: Path) -> None:
    root = _copy_mnist(fixture_root, tmp_path)
    write_idx(root / "MNIST" / "raw" / "train-labels-idx1-ubyte", torch.zeros(10, dtype=torch.uint8).numpy())
    with pytest.raises(DataError, match="2000 images but .* 10 labels"):
        load_dataset("mnist", "train", root)


def test_an_unreadable_image_is_named(fixture_root: Path, tmp_path: Path) -> None:
    shutil.copytree(fixture_root / "cifar10", tmp_path / "cifar10")
    broken = sorted((tmp_path / "cifar10" / "train" / "cat").iterdir())[0]
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(DataError, match=f"cannot decode image .*{broken.name}"):
        load_dataset("cifar10", "train", tmp_path)


def test_epoch_order_is_a_function_of_seed_and_epoch() -> None:
    assert torch.equal(epoch_order(100, 1, 2), epoch_order(100, 1, 2))
    assert not torch.equal(epoch_order(100, 1, 2), epoch_order(100, 1, 3))
    assert sorted(epoch_order(100, 1, 2).tolist()) == list(range(100))
    batches = list(batch_indices(torch.arange(10), 3, start_step=1))
    assert [b.tolist() for b in batches] == [[3, 4, 5], [6, 7, 8]]  # ragged tail dropped


def test_normalisation_ranges() -> None:
    x = torch.tensor([0, 255], dtype=torch.uint8)
    assert to_float(x, "unit").tolist() == [0.0, 1.0]
    assert to_float(x, "symmetric").tolist() == [-1.0, 1.0]


@needs_real_data
def test_real_datasets_have_their_native_sizes() -> None:
    root = real_data_root()
    mnist = load_dataset("mnist", "test", root)
    assert mnist.images.shape == (10_000, 1, 28, 28)
    assert torch.bincount(mnist.labels).min() > 800
    cifar = load_dataset("cifar10", "test", root, subset=200)
    assert cifar.images.shape == (200, 3, 32, 32)
    assert torch.bincount(cifar.labels).tolist() == [20] * 10
