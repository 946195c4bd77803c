"""The files shipped in the package: quality classifiers and reference models, checked against
their recorded sha256 before use, small enough to ship, and usable with an empty cache."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import REPO
from gencore.__main__ import main
from gencore.engine.config import TrainConfig
from gencore.engine.errors import CheckpointError
from gencore.quality.reference import FOLDER, load_reference, manifest, reference_names, sha256, shipped_classifier
from gencore.runs.start import start_run

PAIRS = [f"{m}-{d}" for m in ("vae", "gan", "wgan-gp") for d in ("mnist", "cifar10")]
# 08's conditional models, 02's convolutional VAE, the GANs trained beside them on their machine, and 09's DDPM
PAST_THE_SEED = ["cgan-cifar10", "cgan-mnist", "cvae-cifar10", "cvae-mnist", "ddpm-mnist", "gan-cifar10-twin",
                 "gan-mnist-twin", "vae-conv-cifar10"]


def test_every_pair_has_a_reference_model_and_every_dataset_a_classifier_all_small() -> None:
    data = manifest()
    assert reference_names() == sorted(PAIRS + PAST_THE_SEED)
    assert sorted(data["classifiers"]) == ["cifar10", "mnist"]
    assert sum(e["bytes"] for e in data["classifiers"].values()) < 3_000_000
    assert sum(e["bytes"] for e in data["models"].values()) < 16_000_000  # the package's models, all of them
    for name, entry in data["models"].items():
        # weights only, fp16: about 1 MB; the convolutional VAE's linear heads on 2w x 8 x 8 features make it 1.7 MB
        assert entry["bytes"] < (1_800_000 if name == "vae-conv-cifar10" else 1_300_000), name
        assert {"fd", "classes_covered", "confidence", "trained_by", "epochs_done", "device", "config"} <= set(entry)
        assert entry["trained_by"].startswith("python -m gencore train ")
    for entry in [*data["classifiers"].values(), *data["models"].values()]:
        assert sha256(FOLDER / entry["file"]) == entry["sha256"]
    sizes = [entry["bytes"] / 1e6 for entry in data["models"].values()]
    study = (REPO / "docs" / "study.md").read_text()
    assert f"only in fp16 ({min(sizes):.2f} to {max(sizes):.2f} MB each)" in study


@pytest.mark.parametrize("name", PAIRS)
def test_a_reference_model_loads_and_samples(name: str) -> None:
    reference = load_reference(name)
    config = reference.config
    assert (config.model, config.dataset) == tuple(name.rsplit("-", 1))
    role = config.family.sample_role
    images = reference.models[role].sample(torch.randn(4, config.latent_dim))
    assert images.dtype == torch.float32 and 0 <= images.min() and images.max() <= 1
    assert reference.history and "epoch" in reference.history[0]


@pytest.mark.parametrize("name", PAST_THE_SEED)
def test_each_reference_past_the_seed_loads_and_samples_as_its_family_draws(name: str) -> None:
    from gencore.engine.sampling import sample_images

    reference = load_reference(name)
    config = reference.config
    assert name.startswith(f"{config.model}-") and config.dataset in name
    assert ("conv" in name) == (getattr(config, "vae_network", "mlp") == "conv")
    classes = 3 if config.family.conditional else None
    images = sample_images(reference.models, config, 4, seed=0, classes=classes)
    assert images.dtype == torch.float32 and 0 <= images.min() and images.max() <= 1
    assert ("class_accuracy" in reference.entry) == config.family.conditional


def test_sample_from_a_reference_on_the_command_line(tmp_path: Path) -> None:
    for seed, name in (("1", "a.pt"), ("1", "b.pt")):
        assert main(["sample", "ref:gan-mnist", "--n", "6", "--seed", seed, "--out", str(tmp_path / name)]) == 0
    a, b = (torch.load(tmp_path / n, weights_only=True) for n in ("a.pt", "b.pt"))
    assert a.shape == (6, 1, 28, 28) and torch.equal(a, b)
    assert main(["sample", "ref:gan-svhn", "--n", "2", "--out", str(tmp_path / "c.pt")]) == 2


def test_the_reference_command_lists_models_settings_and_quality(capsys: pytest.CaptureFixture) -> None:
    assert main(["reference"]) == 0
    text = capsys.readouterr().out
    for name in PAIRS:
        assert f"ref:{name}" in text
    assert "fd " in text and "test accuracy" in text and "latent" in text and "lr" in text


def _altered_copy(tmp_path: Path, file: str) -> Path:
    folder = tmp_path / "reference"
    shutil.copytree(FOLDER, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = folder / file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    return folder


def test_an_altered_shipped_file_is_refused_with_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _altered_copy(tmp_path, "classifier-mnist.pt")
    monkeypatch.setenv("GENCORE_REFERENCE", str(folder))
    with pytest.raises(CheckpointError, match=rf"{folder / 'classifier-mnist.pt'} does not match its recorded sha256"):
        shipped_classifier("mnist")
    folder = _altered_copy(tmp_path / "b", "gan-mnist.pt")
    monkeypatch.setenv("GENCORE_REFERENCE", str(folder))
    with pytest.raises(CheckpointError, match="gan-mnist.pt does not match its recorded sha256"):
        load_reference("gan-mnist")


@pytest.mark.slow  # a subprocess measuring 10,000 samples
@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_evaluate_with_an_empty_cache_uses_the_shipped_classifier_within_a_minute(
        dataset: str, data_root: Path, tmp_path: Path) -> None:
    config = TrainConfig(model="gan", dataset=dataset, latent_dim=8, epochs=1, batch_size=32, width=8, subset=128,
                         data_root=str(data_root), device="cpu", eval_every=0)
    start_run(config, tmp_path / "run", progress=False).fit()
    env = {k: v for k, v in os.environ.items() if k != "GENCORE_CLASSIFIERS"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "empty-cache")
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "gencore", "evaluate", str(tmp_path / "run"), "--no-train-classifier",
                             "--json", str(tmp_path / "q.json")], capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    quality = json.loads((tmp_path / "q.json").read_text())
    assert quality["fd"] > 0 and quality["n"] == 10_000 and quality["classifier"].startswith(f"shipped {dataset} classifier")
    assert seconds < 60, f"{seconds:.0f} s"
    assert not (tmp_path / "empty-cache" / "gencore" / "classifiers").exists()  # nothing was trained or cached


def test_by_default_a_cpu_loads_the_reference_and_trains_a_short_run_of_its_own(
        fixture_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from gencore import course
    from gencore.course import reference_runs

    config = TrainConfig(model="gan", dataset="mnist", latent_dim=64, epochs=20, subset=256, data_root=str(fixture_root),
                         device="cpu")
    run = course.train_or_reference(config, tmp_path, use_reference=None)  # None: decided by the machine
    assert isinstance(run, course.ReferenceRun)
    assert "No GPU here" in capsys.readouterr().out and not (tmp_path / "runs").exists()
    figure = course.short_run(config, tmp_path, 0.02, run)  # about a second of the cpu-fast settings
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "time budget" and info["global_step"] > 0 and figure is not None
    assert "Your own run" in figure.get_suptitle() and "cpu-fast" in figure.get_suptitle()
    assert course.short_run(config, tmp_path, 0, run) is None and "own_minutes is 0" in capsys.readouterr().out
    monkeypatch.setattr(reference_runs, "accelerated", lambda config: True)  # a GPU: the full run trains
    trained = course.train_or_reference(TrainConfig(**{**config.to_dict(), "epochs": 1, "width": 8}), tmp_path, None)
    assert not isinstance(trained, course.ReferenceRun) and trained.epoch == 1
    assert course.short_run(config, tmp_path, 1.0, trained) is None


def test_each_reference_is_labelled_with_its_familys_own_settings() -> None:
    """The listing and docs/study.md's table name what only a family reads (the WGAN-GP's critic steps, penalty
    and critic norm; the VAE's decoder variance), so a reference trained off the seed's setting says so."""
    from gencore.quality.reference import describe_references, reference_markdown

    lines = {line.split()[0]: line for line in describe_references().splitlines() if line.strip().startswith("ref:")}
    wgan = manifest()["models"]["wgan-gp-cifar10"]["config"]
    label = f"n_critic {wgan['n_critic']}, gp_weight {wgan['gp_weight']:g}, critic_norm {wgan['critic_norm']}"
    assert label in lines["ref:wgan-gp-cifar10"] and f"| {label} |" in reference_markdown()
    assert "critic_norm none" in lines["ref:wgan-gp-mnist"]  # shipped before the field existed: the default
    assert "n_critic" not in lines["ref:gan-mnist"] and "decoder_variance 0.5" in lines["ref:vae-mnist"]
    assert TrainConfig(model="wgan-gp", critic_norm="layer", gp_weight=2.5).own_settings() == {
        "n_critic": "5", "gp_weight": "2.5", "critic_norm": "layer"}


def test_a_loaded_reference_says_how_its_settings_differ_from_the_first_cells(
        fixture_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """01's first cell at latent 16, width 64, lr 1e-4, 20 epochs loads ref:vae-mnist (latent 2, width 32, lr 1e-3,
    30 epochs): every difference is printed with both values, and the parameter that trains the cell's settings."""
    from gencore import course
    from gencore.course.reference_runs import settings_differences

    config = TrainConfig(model="vae", dataset="mnist", latent_dim=16, epochs=20, width=64, data_root=str(fixture_root),
                         device="cpu")
    run = course.train_or_reference(config, tmp_path, use_reference=True)
    reference = manifest()["models"]["vae-mnist"]
    shipped = reference["config"]
    assert settings_differences(config, run) == [
        ("latent_dim", "16", str(shipped["latent_dim"])), ("width", "64", str(shipped["width"])),
        ("epochs", "20", str(reference["epochs_done"])), ("lr", "0.0001", format(shipped["lr"], "g"))]
    out = capsys.readouterr().out
    assert "differs from the first cell's settings in latent_dim, width, epochs, lr:" in out
    assert re.search(r"^  latent_dim +16 +2$", out, re.M) and "set use_reference = False" in out
    same = TrainConfig(**{**run.config.to_dict(), "epochs": reference["epochs_done"], "data_root": str(fixture_root)})
    assert settings_differences(same, run) == []
    course.train_or_reference(same, tmp_path, use_reference=True)
    assert "The shipped reference has the first cell's settings." in capsys.readouterr().out
