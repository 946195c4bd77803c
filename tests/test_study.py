"""The seed study command: one run per latent size whose shorter epochs are kept, every kept
epoch measured once, the table in the columns the issue names; and the study the kit ships."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from conftest import GAN_TEST_PRECISION
from gencore.course import STUDY
from gencore.studies.results import (
    COLUMNS,
    FLOOR_MODEL,
    cells,
    floor_row,
    largest_spread,
    spread_text,
    tell_apart,
    write_table,
)
from gencore.studies.study import run_study, study_configs, study_run_name

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
    floors = [r for r in rows if r["model"] == FLOOR_MODEL]  # the shipped floor of MNIST, first
    assert rows[: len(floors)] == floors and [r["dataset"] for r in floors] == ["mnist"]
    rows = rows[len(floors):]
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
    """The shipped study's measurement rows (the floor rows aside)."""
    with (STUDY / "results.csv").open() as f:
        return [r for r in csv.DictReader(f) if r["model"] != FLOOR_MODEL]


def test_the_shipped_table_has_the_contract_columns_and_one_row_per_run_and_kept_epoch() -> None:
    with (STUDY / "results.csv").open() as f:
        assert tuple(csv.DictReader(f).fieldnames[: len(CONTRACT)]) == CONTRACT
    rows = shipped_rows()
    keys = [(r["model"], r["dataset"], int(r["latent_dim"]), int(r["epochs"]), int(r["seed"] or 0)) for r in rows]
    assert len(keys) == len(set(keys))
    seed_grid = {(m, d, z) for m in ("vae", "gan", "wgan-gp") for d, zs in (("mnist", (2, 64)), ("cifar10", (64, 512)))
                 for z in zs}
    for model, dataset, latent, epochs, seed in keys:
        assert (model, dataset, latent) in seed_grid and epochs in (20, 100)
        if seed == 0:
            assert (model, dataset, latent, 120 - epochs, 0) in keys  # both lengths come from the same run
    for r in rows:
        assert r["device"] and int(r["width"]) > 0 and r["precision"] in ("fp32", "bf16")  # where and how it ran
        assert float(r["lr"]) == {"vae": 1e-4, "gan": 1e-4, "wgan-gp": 5e-5}[r["model"]]
        assert int(r["n"]) == 10_000 and 0 < float(r["fd"]) < 1000
        # A row measured before the real-range check keeps its old counts under their own names, never as the new ones.
        assert (r["classes_covered"] == "") == (r["recognised"] == "") == (r["classes_guessed"] != "")
    floors = [r for r in csv.DictReader((STUDY / "results.csv").open()) if r["model"] == FLOOR_MODEL]
    assert {r["dataset"] for r in floors} == {"mnist", "cifar10"} and all(int(r["n"]) == 10_000 for r in floors)


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


# ---------------------------------------------------------------------- seeds, spread and the floor


def _row(latent: int, epochs: int, seed: int, fd: float, classes: int | None = 10) -> dict:
    return {"model": "vae", "dataset": "mnist", "latent_dim": latent, "epochs": epochs, "width": 64, "precision": "fp32",
            "lr": 1e-4, "batch_size": 128, "subset": None, "seed": seed, "fd": fd, "classes_covered": classes,
            "confidence": 0.5 if classes is not None else None, "train_seconds": 60.0, "device": "cpu (test)", "n": 10_000}


def test_cells_give_each_settings_mean_and_spread_and_comparisons_are_made_only_beyond_the_spread() -> None:
    rows = ([_row(2, 20, s, fd) for s, fd in enumerate((10.0, 11.0, 12.0))]
            + [_row(64, 20, s, fd) for s, fd in enumerate((20.0, 21.0, 22.0))]
            + [_row(2, 100, s, fd) for s, fd in enumerate((11.5, 12.5, 13.5))]
            + [_row(64, 100, 0, 30.0, classes=None)])
    a, b, c, d = cells(rows)
    assert (a["seeds"], a["fd"], a["fd_sd"], a["fd_n"]) == ("0 1 2", 11.0, 1.0, 3)
    assert spread_text(a) == "11.00 ± 1.00 (3 seeds)" and spread_text(d) == "30.00 (1 seed)"
    assert "classes_covered_n" not in d  # measured before the range check: no number, not a zero
    assert tell_apart(a, b) is True  # a gap of 10 against a spread of 1 + 1
    assert tell_apart(a, c) is False  # 1.5 against 2: the seeds cannot tell them apart
    assert tell_apart(a, d) is None  # one seed, nothing to borrow: no verdict
    assert tell_apart(a, d, borrowed_sd=largest_spread([a, b, c])["fd_sd"]) is True  # 19 against 1 + 1
    assert cells([floor_row("mnist", {"fd": 0.04, "classes_covered": 10, "confidence": 0.9, "recognised": 0.98, "n": 10})]) == []


def test_the_study_table_shows_the_floor_first_the_spread_and_which_rows_predate_the_range_check(tmp_path: Path) -> None:
    from gencore.course.study_view import study_comparisons, study_rows, study_table

    rows = [_row(2, 20, s, fd) for s, fd in enumerate((10.0, 11.0, 12.0))] + [_row(64, 20, 0, 30.0, classes=None)]
    write_table(tmp_path, rows, [floor_row("mnist", {"fd": 0.044, "classes_covered": 10, "confidence": 0.888,
                                                     "recognised": 0.98, "n": 10_000})])
    assert len(study_rows("vae", "mnist", tmp_path)) == 4  # the floor is not a study row
    lines = study_table("vae", "mnist", tmp_path).splitlines()
    assert lines[2].startswith("| real images | (the floor) |") and "0.04" in lines[2]
    assert "| 2 | 20 |" in lines[3] and "11.00 ± 1.00 (3 seeds)" in lines[3] and "10.0 ± 0.0 (3 seeds)" in lines[3]
    assert "| 64 | 20 |" in lines[4] and "30.00 (1 seed)" in lines[4] and "| – | – |" in lines[4]
    # The pair's shipped reference sits beside the study's rows, its own setting named under the table.
    assert lines[5].startswith("| 2 (`ref:vae-mnist`) |") and "(1 seed)" in lines[5]
    assert "The `ref:vae-mnist` row is the shipped reference, at its own setting (lr 0.001, batch 128" in lines[-1]
    (comparison,) = study_comparisons("vae", "mnist", tmp_path)
    assert comparison.startswith("latent 64, 20 epochs against latent 2, 20 epochs: fd 30.00 (1 seed) against 11.00")
    assert "latent 2, 20 epochs is closer to the data, by more than the spread (1.00" in comparison
    assert (tmp_path / "cells.csv").exists() and "± 1.00" in (tmp_path / "results.md").read_text()


def test_seeds_give_their_runs_their_own_folders() -> None:
    configs = study_configs(["vae"], ["mnist"], 16, epochs=20, data_root=None, seeds=(0, 1, 2))
    assert [(study_run_name(c), c.seed) for c in configs if c.latent_dim == 2] == [
        ("vae-mnist-z2", 0), ("vae-mnist-z2-s1", 1), ("vae-mnist-z2-s2", 2)]
