"""The command line end to end, and every bad input as one clear line with exit status 2."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO, folder_digest
from gencore.__main__ import main

TINY = ["--latent-dim", "8", "--epochs", "1", "--batch-size", "32", "--width", "8", "--subset", "128", "--no-progress"]


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gencore", *args], capture_output=True, text=True, cwd=REPO, timeout=timeout)


@pytest.mark.slow  # trains and samples in subprocesses
def test_train_then_sample_end_to_end(fixture_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = cli("train", "--model", "gan", "--dataset", "cifar10", *TINY, "--data-root", str(fixture_root), "--out", str(run))
    assert trained.returncode == 0, trained.stderr
    assert "finished: 1/1 epochs" in trained.stdout
    for seed, name in (("3", "a.pt"), ("3", "b.pt"), ("4", "c.pt")):
        sampled = cli("sample", str(run), "--n", "10", "--out", str(tmp_path / name), "--seed", seed)
        assert sampled.returncode == 0, sampled.stderr
    a, b, c = (torch.load(tmp_path / n, weights_only=True) for n in ("a.pt", "b.pt", "c.pt"))
    assert a.shape == (10, 3, 32, 32) and a.dtype == torch.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_sample_from_a_vae_run_in_process(fixture_root: Path, tmp_path: Path) -> None:
    assert main(["train", "--model", "vae", "--dataset", "mnist", *TINY, "--data-root", str(fixture_root), "--out", str(tmp_path / "r")]) == 0
    assert main(["sample", str(tmp_path / "r"), "--n", "5", "--out", str(tmp_path / "s.pt")]) == 0
    images = torch.load(tmp_path / "s.pt", weights_only=True)
    assert images.shape == (5, 1, 28, 28) and 0.0 <= images.min() and images.max() <= 1.0


def test_missing_data_offline_is_one_message_without_traceback(tmp_path: Path) -> None:
    result = cli("train", "--model", "vae", "--dataset", "mnist", *TINY, "--data-root", str(tmp_path / "none"), "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "data root" in result.stderr and "train-images-idx3-ubyte" in result.stderr and "--data-root" in result.stderr


@pytest.mark.parametrize("command", [[], ["train"], ["sample"]])
def test_help_explains_every_flag(command: list[str], capsys: pytest.CaptureFixture) -> None:
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    flags = {"train": ["--model", "--dataset", "--latent-dim", "--epochs", "--batch-size", "--lr", "--subset",
                       "--data-root", "--seed", "--device", "--out", "--resume", "--time-budget"],
             "sample": ["--n", "--out", "--seed"]}.get(command[0] if command else "", ["train", "sample"])
    for flag in flags:
        assert flag in text


def _damaged_mnist(fixture_root: Path, tmp_path: Path) -> Path:
    shutil.copytree(fixture_root / "MNIST", tmp_path / "bad" / "MNIST")
    path = tmp_path / "bad" / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    return tmp_path / "bad"


def _broken_image_folder(fixture_root: Path, tmp_path: Path) -> Path:
    shutil.copytree(fixture_root / "cifar10", tmp_path / "img" / "cifar10")
    broken = sorted((tmp_path / "img" / "cifar10" / "train" / "dog").iterdir())[3]
    broken.write_bytes(b"not an image at all")
    return tmp_path / "img"


def _file_in_the_way(tmp_path: Path) -> str:
    (tmp_path / "file").write_text("x")
    return str(tmp_path / "file" / "run")


BAD_INPUTS = [
    # (flag changes, data root maker, what the message must say)
    ({"--model": "diffusion"}, None, "invalid choice: 'diffusion'"),
    ({"--dataset": "imagenet"}, None, "invalid choice: 'imagenet'"),
    ({"--latent-dim": "0"}, None, "latent_dim must be between 1 and 4096, got '0'"),
    ({"--latent-dim": "-3"}, None, "latent_dim must be between 1 and 4096"),
    ({"--latent-dim": "2.5"}, None, "latent_dim must be a whole number, got '2.5'"),
    ({"--latent-dim": "64000"}, None, "latent_dim must be between 1 and 4096, got '64000'"),
    ({"--latent-dim": "two"}, None, "latent_dim must be a whole number"),
    ({"--epochs": "0"}, None, "epochs must be at least 1, got '0'"),
    ({"--epochs": "-2"}, None, "epochs must be at least 1"),
    ({"--batch-size": "0"}, None, "batch_size must be at least 1"),
    ({"--batch-size": "500"}, None, "batch_size 500 is larger than the 128 training images"),
    ({"--lr": "0"}, None, "lr must be greater than 0"),
    ({"--lr": "-1e-3"}, None, "lr must be a finite number of at least 0.0"),
    ({"--lr": "nan"}, None, "lr must be a finite number"),
    ({"--subset": "70000"}, None, "subset 70000 is larger than the mnist train split"),
    ({"--data-root": "/no/such/folder"}, None, "data root '/no/such/folder' does not exist"),
    ({}, _damaged_mnist, "train-images-idx3-ubyte is truncated or corrupt"),
    ({"--dataset": "cifar10"}, _broken_image_folder, "cannot decode image .*dog"),
    ({"--device": "cuda" if not torch.cuda.is_available() else "cuda:99"}, None, "is not available on this machine"),
    ({"--device": "tpu"}, None, "device must be 'auto', 'cpu'"),
    ({"--time-budget": "-1"}, None, "time_budget must be a finite number"),
]


@pytest.mark.parametrize("changes, make_root, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_is_one_clear_line_and_exit_2(changes, make_root, message, fixture_root: Path, tmp_path: Path,  # noqa: ANN001
                                                capsys: pytest.CaptureFixture) -> None:
    root = make_root(fixture_root, tmp_path) if make_root else fixture_root
    flags = {"--model": "vae", "--dataset": "mnist", "--data-root": str(root), "--out": str(tmp_path / "run"), **changes}
    args = ["train", *TINY] + [f"{flag}={value}" for flag, value in flags.items()]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert re.search(message, err), err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_unwritable_output_is_detected_before_training(fixture_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = _file_in_the_way(tmp_path)
    assert main(["train", "--model", "gan", "--dataset", "mnist", *TINY, "--data-root", str(fixture_root), "--out", out]) == 2
    assert "cannot write to the output directory" in capsys.readouterr().err



def test_bad_input_never_touches_an_existing_run(fixture_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    base = ["train", "--model", "vae", "--dataset", "mnist", *TINY, "--data-root", str(fixture_root), "--out", str(run)]
    assert main(base) == 0
    before = folder_digest(run)
    assert main(base) == 2  # again without --resume
    assert "already holds a run: pass --resume" in capsys.readouterr().err
    other = [a if a != "8" else "16" for a in base]  # another latent size
    assert main(other + ["--resume"]) == 2
    assert "latent_dim: 16 wanted, checkpoint has 8" in capsys.readouterr().err
    assert main(base + ["--lr", "0"]) == 2
    assert folder_digest(run) == before


def test_cpu_fast_preset_fills_in_what_was_not_given_and_explicit_flags_win(fixture_root: Path, tmp_path: Path) -> None:
    import json

    from gencore.engine.config import DATASETS, MODELS, TrainConfig
    from gencore.engine.errors import GencoreError
    from gencore.engine.presets import preset_settings

    for model in MODELS:
        for dataset in DATASETS:
            settings = preset_settings("cpu-fast", model, dataset)
            assert settings["time_budget"] == (5.0 if dataset == "mnist" else 10.0)
            TrainConfig(model=model, dataset=dataset, **settings)  # every preset is a valid configuration
    with pytest.raises(GencoreError, match="unknown preset 'gpu-fast'"):
        preset_settings("gpu-fast", "gan", "mnist")
    run = tmp_path / "run"
    assert main(["train", "--model", "wgan-gp", "--dataset", "mnist", "--latent-dim", "8", "--epochs", "1", "--preset",
                 "cpu-fast", "--lr", "1e-3", "--subset", "64", "--no-progress", "--data-root", str(fixture_root),
                 "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["width"], config["n_critic"], config["time_budget"]) == (16, 2, 5.0)  # from the preset
    assert (config["lr"], config["subset"]) == (1e-3, 64)  # given on the command line


def test_the_book_built_from_executed_notebooks_refuses_missing_or_stale_runs(tmp_path: Path) -> None:
    """`book --executed DIR` copies runs made elsewhere (CI's notebook tests) instead of running the
    notebooks again: a folder without them, or a run of another version of a notebook, is refused."""
    import nbformat

    from gencore.course.book import build_book
    from gencore.engine.errors import GencoreError
    from gencore.engine.paths import NOTEBOOKS

    (tmp_path / "runs").mkdir()
    with pytest.raises(GencoreError, match=r"lacks the executed 00_start_here.ipynb, 01_vae_mnist.ipynb"):
        build_book(tmp_path / "book", notebooks_dir=NOTEBOOKS, executed=tmp_path / "runs")
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if path.stem == "00_start_here":
            notebook.cells[1].source += "\nprint('edited since')"
        nbformat.write(notebook, tmp_path / "runs" / path.name)
    with pytest.raises(GencoreError, match="00_start_here.ipynb was run from another version of 00_start_here.ipynb"):
        build_book(tmp_path / "book", notebooks_dir=NOTEBOOKS, executed=tmp_path / "runs", log=lambda line: None)
