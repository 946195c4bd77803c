"""fd's own noise (gencore.studies.fd_noise) and the comparisons that use it (results.tell_apart)."""

from __future__ import annotations

from pathlib import Path

import torch

from gencore.studies.fd_noise import _csv, _row, fd_noise, frechet_from_features, noise_row, sampling_sd
from gencore.studies.results import tell_apart


def _cell(fd: float, sd: float | None, n: int) -> dict:
    return {"fd": fd, "fd_sd": sd, "fd_n": n}


def test_sampling_noise_sets_the_least_spread_of_a_comparison() -> None:
    a, b = _cell(10.0, 0.1, 3), _cell(10.5, 0.1, 3)
    assert tell_apart(a, b) is True  # 0.5 against 0.1 + 0.1
    assert tell_apart(a, b, noise_sd=0.2) is True  # 0.5 against 0.2 + 0.2: the noise raises each spread
    assert tell_apart(a, b, noise_sd=0.3) is False  # within the two cells' sampling noise
    one, other = _cell(10.0, None, 1), _cell(10.3, None, 1)
    assert tell_apart(one, other) is None  # one seed each, nothing borrowed: no verdict
    assert tell_apart(one, other, noise_sd=0.2) is False  # but a gap within sampling noise is within any spread
    assert tell_apart(one, _cell(12.0, None, 1), noise_sd=0.2) is None  # beyond the noise: still no seed spread


def test_frechet_from_features_is_torchmetrics_fid() -> None:
    from torchmetrics.image.fid import FrechetInceptionDistance

    class Identity(torch.nn.Module):
        num_features = 6

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    generator = torch.Generator().manual_seed(0)
    real, fake = torch.randn(300, 6, generator=generator), 0.5 + 1.3 * torch.randn(200, 6, generator=generator)
    metric = FrechetInceptionDistance(feature=Identity(), reset_real_features=False, normalize=True)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    assert abs(float(metric.compute()) - frechet_from_features(metric, fake.double())) < 1e-4


def test_the_noise_file_round_trips(tmp_path: Path) -> None:
    rows = [_row("ref:gan-mnist", "mnist", 2000, (0, 1), [4.0, 4.2, 4.4], "cpu"),
            _row("real", "mnist", 2000, (0, 1), [0.2, 0.3, 0.25], "cpu")]
    (tmp_path / "fd_noise.csv").write_text(_csv(rows))
    read = fd_noise(tmp_path)
    assert read[0]["fds"] == [4.0, 4.2, 4.4] and read[0]["draws"] == 3 and abs(read[0]["fd_sd"] - 0.2) < 1e-9
    assert noise_row("gan", "mnist", 2000, tmp_path) == read[0] and noise_row("real", "mnist", 2000, tmp_path) == read[1]
    assert sampling_sd("gan", "mnist", 10_000, tmp_path) is None and sampling_sd("vae", "mnist", 2000, tmp_path) is None
