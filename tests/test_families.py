"""The family and dataset records admit any generative model and any dataset: three toy families,
each one file and one registration line, and a toy dataset, one record and one line, train,
sample, resume, bench and sweep with no other edit. One has a setting of its own (a flag, a clear
error, a run name and a checkpoint check derived from its field), one is conditional (its step
sees the labels, its sampler draws the class asked for), one has no latent vector and samples in
many network passes."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
from pathlib import Path

import pytest
import torch

from conftest import REPO
from gencore.engine.config import TrainConfig
from gencore.engine.data import load_dataset
from gencore.engine.datasets import DATASETS, register as register_dataset
from gencore.engine.errors import CheckpointError, GencoreError
from gencore.engine.families import FAMILIES, register
from gencore.engine.sampling import sample_images
from gencore.runs.start import run_name, start_run
from toy_conditional_family import CONDITIONAL_FAMILY
from toy_dataset import BLOCKS, make_blocks
from toy_loop_family import LOOP_FAMILY, PASSES
from toy_setting_family import POWER_FAMILY

TOYS = {"toy-power": (POWER_FAMILY, "toy_setting_family.py"), "toy-conditional": (CONDITIONAL_FAMILY, "toy_conditional_family.py"),
        "toy-loop": (LOOP_FAMILY, "toy_loop_family.py")}


@pytest.fixture
def toys() -> object:
    for family, _ in TOYS.values():
        register(family)  # the one registration line a new family needs
    yield
    for name in TOYS:
        FAMILIES.pop(name)


def _config(model: str, root: Path, **settings: object) -> TrainConfig:
    values = {"dataset": "mnist", "epochs": 2, "subset": 256, "data_root": str(root), "device": "cpu", "eval_every": 0,
              **({"latent_dim": 4} if FAMILIES[model].has_latent else {}), **settings}
    return TrainConfig(model=model, **values)


def _cli(argv: list[str]) -> tuple[int, str]:
    from gencore.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("name", TOYS)
def test_each_toy_family_is_one_file_that_imports_only_the_family_record(name: str) -> None:
    tree = ast.parse((REPO / "tests" / TOYS[name][1]).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert {m for m in imported if m.startswith("gencore")} <= {"gencore.engine.families", "gencore.engine.families.settings"}


@pytest.mark.parametrize("name", TOYS)
def test_each_toy_family_trains_resumes_to_the_same_numbers_and_benches(toys: object, name: str, data_root: Path,
                                                                       tmp_path: Path) -> None:
    from gencore.studies.bench import estimate_training_time

    config = _config(name, data_root)
    whole = start_run(config, tmp_path / "whole", progress=False).fit()
    assert whole.status == "finished" and [row["epoch"] for row in whole.history] == [1, 2]
    metric = FAMILIES[name].metrics[0]
    assert whole.history[-1][metric] < whole.history[0][metric]  # it learns
    assert {"samples.png", "losses.png", "checkpoint.pt", "config.json"} <= {p.name for p in (tmp_path / "whole").iterdir()}
    first = start_run(config, tmp_path / "split", progress=False)
    first.add_callback("on_epoch_end", lambda t: t.request_stop("stopped"))
    assert first.fit().status == "stopped"
    resumed = start_run(config, tmp_path / "split", resume=True, progress=False)
    assert resumed.epoch == 1 and resumed.fit().status == "finished"
    assert resumed.history == whole.history  # a resumed run ends with exactly the numbers of an uninterrupted one
    assert torch.equal(resumed.sample(8, seed=3), sample_images(whole.models, config, 8, seed=3))
    (estimate,) = estimate_training_time("cpu", models=(name,), datasets=("mnist",), steps=2)
    assert estimate.model == name and estimate.images_per_s > 0


def test_a_family_setting_gets_its_flag_error_run_name_and_checkpoint_check_from_its_field(
        toys: object, data_root: Path, tmp_path: Path) -> None:
    code, text = _cli(["train", "--help"])
    assert code == 0 and "--power" in text and "the moment gap's exponent" in text
    code, text = _cli(["train", "--model", "toy-power", "--dataset", "mnist", "--latent-dim", "4", "--epochs", "1",
                       "--power", "9", "--out", str(tmp_path / "bad")])
    assert code == 2 and text.strip() == "error: power must be a finite number of at least 1.0 and at most 4, got '9'."
    vae = TrainConfig(model="vae", power=3)  # another family's setting: checked by its rules, unused, not recorded
    assert "power" not in vae.to_dict() and not hasattr(vae, "power")
    with pytest.raises(GencoreError, match="power must be a finite number of at least 1.0 and at most 4, got 0"):
        TrainConfig(model="vae", power=0)
    default, same, other = (_config("toy-power", data_root, **s) for s in ({}, {"power": 2.0}, {"power": 3}))
    assert run_name(default) == run_name(same) != run_name(other) and other.power == 3.0
    start_run(_config("toy-power", data_root, epochs=1), tmp_path / "run", progress=False).fit()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["power"] == 2.0  # flat, like every setting
    with pytest.raises(CheckpointError, match="power: 3.0 wanted, checkpoint has 2.0"):
        start_run(_config("toy-power", data_root, epochs=1, power=3), tmp_path / "run", resume=True, progress=False)


def test_a_conditional_family_sees_the_labels_and_draws_the_class_asked_for(toys: object, data_root: Path,
                                                                           tmp_path: Path) -> None:
    config = _config("toy-conditional", data_root, subset=1000, epochs=3)
    trainer = start_run(config, tmp_path / "run", progress=False)
    trainer.fit()
    train = load_dataset("mnist", "train", str(data_root), 1000, 0)
    means = torch.stack([train.images[train.labels == c].float().mean(0) / 255 for c in range(10)])  # (10, 1, 28, 28)
    for c in range(10):
        images = sample_images(trainer.models, config, 20, seed=c, classes=c)
        nearest = torch.cdist(images.flatten(1), means.flatten(1)).argmin(1)
        assert (nearest == c).float().mean() >= 0.9, (c, nearest.tolist())
    code, text = _cli(["sample", str(tmp_path / "run"), "--n", "6", "--class", "7", "--out", str(tmp_path / "s.pt")])
    assert code == 0 and "all of class 7" in text
    assert torch.load(tmp_path / "s.pt", weights_only=True).shape == (6, 1, 28, 28)
    code, text = _cli(["sample", str(tmp_path / "run"), "--n", "6", "--class", "12", "--out", str(tmp_path / "t.pt")])
    assert code == 2 and "class 12 is not a class of mnist: choose one from 0 to 9" in text and not (tmp_path / "t.pt").exists()
    code, text = _cli(["sample", "ref:gan-mnist", "--n", "6", "--class", "3", "--out", str(tmp_path / "u.pt")])
    assert code == 2 and "the gan is unconditional" in text


def test_a_family_without_a_latent_vector_samples_in_many_passes(toys: object, data_root: Path, tmp_path: Path) -> None:
    config = _config("toy-loop", data_root)
    assert config.latent_dim is None and "latent_dim" not in config.to_dict() and "-z" not in run_name(config)
    with pytest.raises(GencoreError, match="the toy-loop has no latent vector: leave latent_dim out"):
        _config("toy-loop", data_root, latent_dim=2)
    code, text = _cli(["train", "--model", "toy-loop", "--dataset", "mnist", "--epochs", "1", "--subset", "256",
                       "--data-root", str(data_root), "--no-progress", "--out", str(tmp_path / "run")])
    assert code == 0, text
    trainer = start_run(config.replace(epochs=1), tmp_path / "run", resume=True, progress=False)
    net = trainer.models["net"]
    before = net.calls
    images = trainer.sample(5)
    assert net.calls - before == PASSES and images.shape == (5, 1, 28, 28)
    assert (images - net.mean.detach().clamp(0, 1)).abs().max() <= 2**-PASSES  # PASSES halvings leave 2**-8 of the noise


def test_a_dataset_registered_from_a_test_trains_and_is_measured(tmp_path: Path) -> None:
    from gencore.quality.metrics import evaluate_models

    root = make_blocks(tmp_path / "data")
    register_dataset(BLOCKS)  # the one registration line a new dataset needs
    try:
        code, text = _cli(["train", "--help"])
        assert "blocks (1x16x16)" in text
        config = TrainConfig(model="vae", dataset="blocks", latent_dim=2, epochs=2, width=8, data_root=str(root),
                             device="cpu", eval_every=0)
        result = start_run(config, tmp_path / "run", progress=False).fit()
        assert result.status == "finished" and (tmp_path / "run" / "samples.png").exists()
        quality = evaluate_models(config, result.models, n=200, classifier="trained", inception=False)
        assert 0 <= quality["fd"] < float("inf") and 0 <= quality["classes_covered"] <= 10
        assert quality["bits_per_dim"] > 0  # the VAE's bound on the new dataset's test split
        with pytest.raises(GencoreError, match=r"blocks not found in .*expected blocks/\{train,test\}"):
            load_dataset("blocks", "train", str(tmp_path))
    finally:
        DATASETS.pop("blocks")


@pytest.mark.slow
@pytest.mark.parametrize("name", TOYS)
def test_each_toy_family_sweeps_through_its_own_notebook(toys: object, name: str, fixture_root: Path, tmp_path: Path) -> None:
    from test_architecture import write_toy_notebook

    from gencore.studies.results import read_table
    from gencore.studies.sweep import SweepSettings, plan, run_sweep

    notebooks = write_toy_notebook(tmp_path / "notebooks", name, f"from {TOYS[name][1][:-3]} import {_record_name(name)}\n"
                                   f"from gencore.engine.families import register\nregister({_record_name(name)})")
    settings = SweepSettings(str(tmp_path / "results"), str(fixture_root), threads=1, notebooks_dir=str(notebooks))
    environment = dict(os.environ)
    latent = [2] if FAMILIES[name].has_latent else [None]
    records = run_sweep(plan([name], ["mnist"], latent, [1], subset=256), settings, log=lambda line: None)
    assert [r["status"] for r in records] == ["finished"], records
    assert dict(os.environ) == environment
    (row,) = read_table(tmp_path / "results")
    assert row["model"] == name and row["latent_dim"] == latent[0]
    assert (tmp_path / "results" / f"grid-{name}-mnist.png").stat().st_size > 0


def _record_name(name: str) -> str:
    return {"toy-power": "POWER_FAMILY", "toy-conditional": "CONDITIONAL_FAMILY", "toy-loop": "LOOP_FAMILY"}[name]
