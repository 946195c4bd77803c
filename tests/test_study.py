"""The seed study command: one run per latent size whose shorter epochs are kept, every kept
epoch measured once, the table in the columns the issue names; and the study the kit ships."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from conftest import GAN_TEST_PRECISION
from gencore.course import STUDY
from gencore.studies.results import COLUMNS
from gencore.studies.study import run_study, study_configs

# The columns other tooling reads from results.csv (issue "Ship the study"), in this order.
CONTRACT = ("model", "dataset", "latent_dim", "epochs", "width", "lr", "batch_size", "device", "train_seconds", "fd",
            "classes_covered", "confidence")


def test_the_study_grid_is_the_seeds_with_the_vae_at_its_own_width_and_in_fp32() -> None:
    configs = study_configs(["vae", "gan", "wgan-gp"], ["mnist", "cifar10"], gan_width=16, epochs=100, data_root=None,
                            device="cpu", gan_precision="bf16")
    grid = {(c.model, c.dataset, c.latent_dim) for c in configs}
    assert grid == {(m, d, z) for m in ("vae", "gan", "wgan-gp") for d, zs in (("mnist", (2, 64)), ("cifar10", (64, 512)))
                    for z in zs}
    for c in configs:
        assert c.epochs == 100
        assert (c.width, c.precision) == ((64, "fp32") if c.model == "vae" else (16, "bf16"))
        assert (c.lr, c.batch_size) == {"vae": (1e-4, 128), "gan": (1e-4, 64), "wgan-gp": (5e-5, 64)}[c.model]


@pytest.mark.slow  # a whole study: trains, measures each kept epoch, draws its figures
def test_a_study_keeps_the_shorter_run_measures_each_kept_epoch_once_and_resumes(tmp_path: Path, data_root: Path) -> None:
    config = study_configs(["gan"], ["mnist"], gan_width=8, epochs=2, data_root=str(data_root), device="cpu",
                           gan_precision=GAN_TEST_PRECISION)[0]  # latent 2
    config = dataclasses.replace(config, subset=256)
    out, runs = tmp_path / "out", tmp_path / "runs"
    log: list[str] = []
    run_study(out, runs, [config], keep=(1, 2), n_eval=200, progress=False, log=log.append)

    with (out / "results.csv").open() as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames[: len(CONTRACT)]) == CONTRACT and tuple(reader.fieldnames) == COLUMNS
        rows = list(reader)
    assert [int(r["epochs"]) for r in rows] == [1, 2]
    for row in rows:
        assert (row["model"], row["dataset"], row["width"], row["precision"], row["run"]) == ("gan", "mnist", "8", GAN_TEST_PRECISION,
                                                                                             "gan-mnist-z2")
        assert row["device"].startswith("cpu") and float(row["fd"]) > 0 and int(row["n"]) == 200
    # Epoch 1 is the kept snapshot, not the end: its clock is no later and its samples differ. (On a fast machine both
    # clocks round to the same tenth of a second, so the time alone cannot tell them apart.)
    assert float(rows[0]["train_seconds"]) <= float(rows[1]["train_seconds"]) and rows[0]["fd"] != rows[1]["fd"]
    (run_dir,) = runs.iterdir()
    assert (run_dir / "epoch-001.pt").exists()
    folder = out / "gan-mnist-z2"
    for name in ("samples-e001.png", "samples-e002.png", "losses.png", "history.csv"):
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "samples-e001.png").read_bytes() != (folder / "samples-e002.png").read_bytes()
    assert (out / "grid-gan-mnist.png").stat().st_size > 0
    assert sum("to measure" in line for line in log) == 2

    # Run again: the finished run loads and no row is measured twice.
    before = {p.name: p.read_bytes() for p in folder.glob("row-e*.json")}
    log.clear()
    run_study(out, runs, [config], keep=(1, 2), n_eval=200, progress=False, log=log.append)
    assert not any("to measure" in line for line in log)
    assert {p.name: p.read_bytes() for p in folder.glob("row-e*.json")} == before


def test_the_longest_kept_epoch_must_be_the_runs_length(tmp_path: Path) -> None:
    config = study_configs(["vae"], ["mnist"], 16, epochs=5, data_root=None)[0]
    with pytest.raises(Exception, match="longest kept epoch"):
        run_study(tmp_path / "out", tmp_path / "runs", [config], keep=(1, 3), progress=False, log=lambda _: None)


# ---------------------------------------------------------------------- the shipped study


def shipped_rows() -> list[dict[str, str]]:
    with (STUDY / "results.csv").open() as f:
        return list(csv.DictReader(f))


def test_the_shipped_table_has_the_contract_columns_and_one_row_per_run_and_kept_epoch() -> None:
    with (STUDY / "results.csv").open() as f:
        assert tuple(csv.DictReader(f).fieldnames[: len(CONTRACT)]) == CONTRACT
    rows = shipped_rows()
    keys = [(r["model"], r["dataset"], int(r["latent_dim"]), int(r["epochs"])) for r in rows]
    assert len(keys) == len(set(keys))
    seed_grid = {(m, d, z) for m in ("vae", "gan", "wgan-gp") for d, zs in (("mnist", (2, 64)), ("cifar10", (64, 512)))
                 for z in zs}
    for model, dataset, latent, epochs in keys:
        assert (model, dataset, latent) in seed_grid and epochs in (20, 100)
        assert (model, dataset, latent, 120 - epochs) in keys  # both lengths come from the same run
    for r in rows:
        assert r["device"] and int(r["width"]) > 0 and r["precision"] in ("fp32", "bf16")  # where and how it ran
        assert float(r["lr"]) == {"vae": 1e-4, "gan": 1e-4, "wgan-gp": 5e-5}[r["model"]]
        assert int(r["n"]) == 10_000 and 0 < float(r["fd"]) < 1000


def test_every_shipped_run_has_its_samples_curves_and_history_and_every_pair_its_grid() -> None:
    rows = shipped_rows()
    for r in rows:
        folder = STUDY / r["run"]
        assert (folder / f"samples-e{int(r['epochs']):03d}.png").exists()
        for name in ("losses.png", "history.csv"):
            assert (folder / name).exists(), folder / name
    for model, dataset in {(r["model"], r["dataset"]) for r in rows}:
        assert (STUDY / f"grid-{model}-{dataset}.png").exists()
    assert sum(p.stat().st_size for p in STUDY.rglob("*") if p.is_file()) < 5_000_000  # thumbnails, a few MB
