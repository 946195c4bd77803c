"""Shared fixtures: the real datasets when ../shared/data (or GENCORE_DATA) has them, and small
datasets written in the real on-disk formats, so the real loading code is what gets tested."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from gencore.quality.classifier import Recipe, get_classifier

REPO = Path(__file__).resolve().parents[1]

# The same configuration repeats bit for bit on one machine at one thread count. Under another
# thread count, executor or CPU, oneDNN and MKL pick other kernels and summation orders, and float32
# results differ from about the 8th significant digit (a local and a Dask sweep on an Intel Xeon
# with AMX differed by 6e-10 to 2e-8 relative). Tests that compare across those use this tolerance.
ACROSS_KERNELS = {"rel": 1e-5, "abs": 1e-9}
# What differs between any two runs of one configuration: clocks, places and the machine's name.
NOT_REPEATED = {"train_seconds", "wall_seconds", "images_per_s", "run_dir", "device", "inception_note", "resumed_from"}


# The slow tier: tests that execute notebooks, sweeps, subprocess trainings, kernels, Dask clusters
# or a browser. `pytest -m "not slow"` runs the rest (the unit tier) in minutes; CI runs both.
SLOW_FIXTURES = {"executed", "student", "sweep_results", "lab", "reference_run"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def assert_rows_agree(rows: list[dict], expected: list[dict], ignore: set[str] = NOT_REPEATED) -> None:
    """Two tables of one grid agree: the same runs and columns, equal words, numbers within ACROSS_KERNELS."""
    assert [r.get("name") for r in rows] == [r.get("name") for r in expected]
    for row, want in zip(rows, expected):
        assert set(row) - ignore == set(want) - ignore, row.get("name")
        for key in set(want) - ignore:
            if isinstance(want[key], float) or isinstance(row[key], float):
                assert row[key] == pytest.approx(want[key], **ACROSS_KERNELS), (row["name"], key, row[key], want[key])
            else:
                assert row[key] == want[key], (row["name"], key, row[key], want[key])


def run_nbval(notebooks: list[Path], tmp_path: Path, cwd: Path) -> subprocess.CompletedProcess:
    """nbval in lax mode on executed notebooks, in a separate pytest with its own empty config
    (so this suite's options and test paths do not apply to it)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-q",
         "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), *map(str, notebooks)],
        capture_output=True, text=True, cwd=cwd, timeout=900,
    )


def ctrl_c_as_in_a_terminal() -> None:
    """preexec_fn for a command a test interrupts with SIGINT: Ctrl-C's default action, as in a terminal. A shell
    starts background jobs with SIGINT ignored, and children inherit that: a suite run in the background would
    otherwise send a Ctrl-C that nothing receives."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def real_data_root() -> Path | None:
    """The folder with real MNIST and CIFAR-10, or None when this machine has none."""
    candidates = [os.environ.get("GENCORE_DATA"), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
            return Path(candidate)
    return None


needs_real_data = pytest.mark.skipif(real_data_root() is None, reason="real MNIST/CIFAR-10 not on this machine")


def cpu_has_native_bf16() -> bool:
    from gencore.engine.steps import native_bf16

    return native_bf16(torch.device("cpu"))


# bf16 training is for CPUs that compute it (AVX512-BF16, AMX); elsewhere torch emulates it 20x slower.
needs_native_bf16 = pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")
# The precision a test trains a GAN in when bf16 is not what it tests: bf16 where native, else fp32.
GAN_TEST_PRECISION = "bf16" if cpu_has_native_bf16() else "fp32"


def folder_digest(folder: Path) -> dict[str, str]:
    """A hash per file: two calls are equal only if nothing in the folder changed."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an unsigned-byte IDX file: magic 0x0803 (3-D) or 0x0801 (1-D), big-endian sizes."""
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def synthetic_images(n: int, shape: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is visible: class c draws a bright bar at a class-dependent place."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    channels, height, width = shape
    images = rng.integers(0, 40, size=(n, channels, height, width)).astype(np.uint8)
    for i, c in enumerate(labels):
        column = 2 + int(c) * (width - 4) // 10
        images[i, :, 4 : height - 4, column : column + 3] = 220
    return images, labels.astype(np.uint8)


def make_fixture_root(root: Path, train: int = 2000, test: int = 200) -> Path:
    """MNIST as IDX files, CIFAR-10 as a JPEG image folder: the formats of ../shared/data."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, n, seed in (("train", train, 0), ("t10k", test, 1)):
        images, labels = synthetic_images(n, (1, 28, 28), seed)
        write_idx(raw / f"{split}-images-idx3-ubyte", images[:, 0])
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    from torchvision.io import encode_jpeg

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    for split, n, seed in (("train", train // 2, 2), ("test", test // 2, 3)):
        images, labels = synthetic_images(n, (3, 32, 32), seed)
        for i, (image, label) in enumerate(zip(images, labels)):
            folder = root / "cifar10" / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i:04d}.jpg").write_bytes(encode_jpeg(torch.from_numpy(image), quality=90).numpy().tobytes())
    return root


def make_cifar_batches(root: Path, per_batch: int = 20) -> Path:
    """CIFAR-10 as torchvision's pickled batches (dicts of NumPy arrays)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        images, labels = synthetic_images(per_batch, (3, 32, 32), 10 + k)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": images.reshape(per_batch, -1), b"labels": labels.tolist()}, f)
    return root


@pytest.fixture(scope="session")
def fixture_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fixture_root(tmp_path_factory.mktemp("fixture-data"))


@pytest.fixture(scope="session")
def data_root(fixture_root: Path) -> Path:
    """Real data where present, else the fixtures: what training tests read from."""
    return real_data_root() or fixture_root


# Small enough for CI (seconds), good enough to tell digits apart (96.5% on real MNIST).
TINY = Recipe(width=8, epochs=2, subset=4096, batch_size=64, lr=0.05)
TINY_CIFAR = Recipe(width=8, epochs=1, subset=1000, batch_size=64, lr=0.05)  # only needs to exist


def tiny_recipe(recipe: Recipe) -> Recipe:
    """The fixture data (used when there is no real data) has fewer images: all of them."""
    return recipe if real_data_root() else dataclasses.replace(recipe, subset=None)


@pytest.fixture(scope="session")
def classifier_cache(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A classifier folder holding tiny MNIST and CIFAR-10 classifiers of the test data."""
    folder = tmp_path_factory.mktemp("classifiers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENCORE_CLASSIFIERS", str(folder))
        for dataset, recipe in (("mnist", TINY), ("cifar10", TINY_CIFAR)):
            get_classifier(dataset, str(data_root), recipe=tiny_recipe(recipe), device="cpu", progress=False)
    return folder


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN202 - generator fixture
    """Module- and session-scoped fixtures start before the per-test isolation below: give them
    an empty cache too, so no user's cached classifier or data changes what a test measures."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("session-cache")))
        patch.delenv("GENCORE_CLASSIFIERS", raising=False)
        yield


@pytest.fixture(autouse=True)
def _fast_and_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test downloads or writes into the user's cache; torch uses the threads CI has."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


# ---------------------------------------------------------------------- the notebooks, run once


def _parameters(notebook: nbformat.NotebookNode) -> dict[str, tuple[str, str]]:
    """name -> (type annotation, default) of the parameters cell, read with ast."""
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    return {node.target.id: (ast.unparse(node.annotation), ast.unparse(node.value))
            for node in ast.parse(cell.source).body if isinstance(node, ast.AnnAssign)}


def _small_parameters(path: Path, root: Path, out: Path) -> dict:
    """Small values for every parameter the notebook has: about one epoch of 1,000 images."""
    wanted = {"epochs": 1, "subset": 1000, "data_root": str(root), "runs_dir": str(out / "runs"), "eval_samples": 500,
              "use_reference": False, "own_minutes": 0.05,  # train here; beside a reference, a 3-second run of one's own
              "exercise_subset": 512, "variance_epochs": 1, "variance_subset": 512, "neighbour_pool": 1000, "estimate_steps": 1, "critic_steps": 20,
              "sweep_samples": 16, "cost_samples": 16, "eval_every": 0}  # 09: sampler sweeps and timings of 16 images
    names = _parameters(nbformat.read(path, as_version=4))
    return {k: v for k, v in wanted.items() if k in names}


@pytest.fixture(scope="session")
def student(tmp_path_factory: pytest.TempPathFactory, fixture_root: Path) -> dict[str, Path]:
    """Student copies written by the command line, run once by papermill with the shipped reference
    models (use_reference) and small parameters: every notebook, 00 to 09. The notebook tests read
    them, and the book is built from these same runs (test_book), so nothing executes twice."""
    import papermill

    root = real_data_root() or fixture_root
    out = tmp_path_factory.mktemp("student")
    made = subprocess.run([sys.executable, "-m", "gencore", "course", "--student", str(out / "copies")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert made.returncode == 0, made.stderr
    results = {}
    for path in sorted((out / "copies").glob("[0-9][0-9]_*.ipynb")):
        target = out / path.name
        parameters = {**_small_parameters(path, root, out), "use_reference": True}
        papermill.execute_notebook(str(path), str(target), cwd=str(REPO / "notebooks"), progress_bar=False, kernel_name="python3",
                                   parameters=parameters)
        results[path.stem] = target
    return results
