"""The benchmark command: the contract fields, measured values, both loops in the same run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gencore.__main__ import main

FIELDS = {"model", "dataset", "images_per_s", "baseline_images_per_s", "speedup", "flops_fraction", "peak_rss_mb"}


@pytest.mark.slow  # a whole quick benchmark
def test_bench_quick_writes_the_contract_fields(data_root: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "b.json"
    assert main(["bench", "--quick", "--models", "gan", "--datasets", "mnist", "--precisions", "fp32",
                 "--data-root", str(data_root), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "speedup" in printed and "gan      mnist" in printed
    (record,) = json.loads(out.read_text())
    assert FIELDS <= set(record)
    assert (record["model"], record["dataset"]) == ("gan", "mnist")
    assert record["images_per_s"] > 0 and record["baseline_images_per_s"] > 0
    assert abs(record["speedup"] - record["images_per_s"] / record["baseline_images_per_s"]) < 0.02
    assert 0 < record["flops_fraction"] < 2 and 100 < record["peak_rss_mb"] < 4000
    assert record["machine"]["matmul_peak_gflops"] > 0


def test_flop_counter_matches_the_closed_form_for_an_mlp() -> None:
    import torch

    from gencore.studies.bench import _FlopCounter

    layer = torch.nn.Linear(30, 20)
    x = torch.randn(8, 30, requires_grad=True)
    with _FlopCounter() as counter:
        layer(x).sum().backward()
    assert counter.total == 3 * 2 * 8 * 30 * 20  # forward, input gradient, weight gradient


def test_time_estimate_times_the_kits_steps_and_leaves_the_rng_alone() -> None:
    import pytest
    import torch

    from gencore.engine.errors import GencoreError
    from gencore.studies.bench import estimate_training_time, format_estimates

    torch.manual_seed(3)
    expected_next = torch.rand(3)
    torch.manual_seed(3)
    (estimate,) = estimate_training_time("cpu", models=("wgan-gp",), datasets=("mnist",), steps=1, width=4)
    assert torch.equal(torch.rand(3), expected_next)
    assert (estimate.model, estimate.dataset, estimate.device) == ("wgan-gp", "mnist", "cpu")
    assert estimate.images_per_s > 0
    minutes = 60_000 / estimate.images_per_s / 60  # the full MNIST training split
    assert estimate.minutes_per_epoch == pytest.approx(minutes, abs=0.051)
    assert estimate.hours_100_epochs == pytest.approx(100 * minutes / 60, abs=0.051)
    assert "wgan-gp  mnist" in format_estimates([estimate])
    with pytest.raises(GencoreError, match="steps must be at least 1"):
        estimate_training_time("cpu", steps=0)


@pytest.mark.slow  # measures the machine for seconds
def test_bench_measures_the_real_peak_per_precision_and_never_exceeds_it(data_root: Path, tmp_path: Path) -> None:
    import torch

    from gencore.engine.steps import native_bf16

    precisions = ["fp32", "bf16"] if native_bf16(torch.device("cpu")) else ["fp32"]  # emulated bf16 is 20x slower
    out = tmp_path / "b.json"
    assert main(["bench", "--quick", "--models", "gan", "--datasets", "mnist", "--precisions", *precisions,
                 "--data-root", str(data_root), "--json", str(out)]) == 0
    records = json.loads(out.read_text())
    assert [r["precision"] for r in records] == precisions
    machine = records[0]["machine"]
    assert set(machine["flags"]) == {"avx2", "avx512f", "avx512_bf16", "amx_bf16"}
    for record in records:
        peak = machine["peak_gflops"][record["precision"]]
        assert record["peak_source"] == peak["source"] in ("matmul", "conv")
        assert peak["flops"] == max(peak["matmul"], peak["conv"])
        assert 0 < record["flops_fraction"] <= 1
