"""Precision: fp32 by default, bf16 autocast on request for the GAN steps, and auto choosing bf16
only where the hardware has it natively and it measures faster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import needs_native_bf16
from gencore.engine import steps
from gencore.engine.config import TrainConfig
from gencore.engine.errors import GencoreError
from gencore.runs.start import start_run


def _config(root: Path, **changes) -> TrainConfig:  # noqa: ANN003
    settings = dict(model="gan", dataset="mnist", latent_dim=8, epochs=1, batch_size=32, width=8, subset=128,
                    data_root=str(root), device="cpu", eval_every=0)
    return TrainConfig(**{**settings, **changes})


def test_auto_stays_in_fp32_where_the_cpu_has_no_native_bf16(fixture_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gencore.engine.runtime.cpu_flags", lambda: {"avx2", "fma"})  # an AVX2-only CPU
    assert not steps.native_bf16(torch.device("cpu"))
    assert steps.resolve_precision(_config(fixture_root, precision="auto"), torch.device("cpu")) == "fp32"


def test_auto_uses_bf16_only_where_native_and_measured_faster(fixture_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gencore.engine.runtime.cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    for faster, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(steps, "_bf16_measures_faster", lambda config, device, faster=faster: faster)
        assert steps.resolve_precision(_config(fixture_root, precision="auto"), torch.device("cpu")) == expected
    vae = _config(fixture_root, model="vae", precision="auto")  # the VAE stays in fp32 whatever the CPU
    assert steps.resolve_precision(vae, torch.device("cpu")) == "fp32"


def test_the_vae_refuses_bf16_with_a_clear_message() -> None:
    with pytest.raises(GencoreError, match="the vae trains in fp32 only"):
        TrainConfig(model="vae", precision="bf16")
    with pytest.raises(GencoreError, match="unknown precision 'fp16'"):
        TrainConfig(model="gan", precision="fp16")


@needs_native_bf16
@pytest.mark.parametrize("model", ["gan", "wgan-gp"])
def test_a_bf16_run_trains_and_records_its_precision(model: str, fixture_root: Path, tmp_path: Path) -> None:
    result = start_run(_config(fixture_root, model=model, precision="bf16", n_critic=2), tmp_path, progress=False).fit()
    assert result.status == "finished"
    assert all(torch.isfinite(torch.tensor(v)) for v in result.history[0].values())
    assert json.loads((tmp_path / "run.json").read_text())["precision"] == "bf16"
    plain = start_run(_config(fixture_root, model=model, n_critic=2), progress=False).fit()
    assert plain.history != result.history  # bf16 really ran: the numbers differ from fp32's


def test_the_probe_leaves_every_random_state_as_it_was(fixture_root: Path) -> None:
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    steps._bf16_measures_faster(_config(fixture_root), torch.device("cpu"), steps=1)
    assert torch.equal(torch.rand(3), expected)
