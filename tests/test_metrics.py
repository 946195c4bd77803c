"""Sample-quality metrics: the Fréchet distance behaves like a distance, coverage catches
collapse, the VAE's bound matches its likelihood, and a trained generator beats a fresh one."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import REPO, TINY, tiny_recipe
from gencore.engine.config import TrainConfig
from gencore.engine.data import load_dataset, to_float
from gencore.engine.errors import CheckpointError, GencoreError
from gencore.engine.losses import discretised_gaussian_nll
from gencore.engine.models import build_models
from gencore.quality.classifier import (
    classifier_path,
    get_classifier,
    load_classifier,
    save_classifier,
    train_classifier,
)
from gencore.quality.metrics import QualityMeter, evaluate_models, frechet_metric, inception_fd, vae_bound
from gencore.runs.start import start_run


@pytest.fixture
def meter(classifier_cache: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> QualityMeter:
    monkeypatch.setenv("GENCORE_CLASSIFIERS", str(classifier_cache))
    test = load_dataset("mnist", "test", str(data_root))
    return QualityMeter(get_classifier("mnist", str(data_root), train_if_missing=False), test.images)


def _real_train(data_root: Path, n: int = 2000) -> torch.Tensor:
    return to_float(load_dataset("mnist", "train", str(data_root), subset=n, seed=1).images, "unit")


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    from torchvision.transforms.functional import gaussian_blur

    size = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur(images, [size, size], [sigma, sigma])


# ---------------------------------------------------------------------- the Fréchet distance


class _Identity(nn.Module):
    num_features = 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


def test_frechet_distance_matches_the_closed_form_for_gaussian_statistics() -> None:
    """For Y = A X + b with A diagonal: ||mu_x - mu_y||^2 + sum (s_x - s_y)^2 when the sample
    covariances are diagonal; we compute it from the same samples with NumPy."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    x = (x - x.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(x.T))).T  # whitened: cov exactly I
    y = x * np.array([2.0, 0.5, 1.0]) + np.array([3.0, -1.0, 0.0])
    metric = frechet_metric(_Identity())
    metric.update(torch.tensor(x, dtype=torch.float64).view(-1, 3, 1, 1), real=True)
    metric.update(torch.tensor(y, dtype=torch.float64).view(-1, 3, 1, 1), real=False)
    expected = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.sum((x.std(0, ddof=1) - y.std(0, ddof=1)) ** 2)
    assert float(metric.compute()) == pytest.approx(expected, rel=1e-4)
    assert expected == pytest.approx(9 + 1 + 1 + 0.25, rel=1e-6)


def test_real_images_score_near_zero_and_noise_and_blur_raise_it_monotonically(meter: QualityMeter, data_root: Path) -> None:
    real = _real_train(data_root)
    base = meter.measure(real)["fd"]
    generator = torch.Generator().manual_seed(0)
    noisy = [meter.measure((real + s * torch.randn(real.shape, generator=generator)).clamp(0, 1))["fd"]
             for s in (0.1, 0.2, 0.4, 0.8)]
    blurred = [meter.measure(_blur(real, s))["fd"] for s in (0.5, 1.0, 2.0, 3.0)]
    assert all(a < b for a, b in zip([base] + noisy, noisy)), (base, noisy)
    assert all(a < b for a, b in zip([base] + blurred, blurred)), (base, blurred)
    assert base < 0.1 * noisy[1] and base < 0.1 * blurred[2], (base, noisy, blurred)  # "near 0" next to damage


def test_one_repeated_image_covers_one_class(meter: QualityMeter, data_root: Path) -> None:
    real = _real_train(data_root, 200)
    collapsed = real[:1].repeat(500, 1, 1, 1)
    result = meter.measure(collapsed)
    assert result["classes_covered"] == 1
    assert meter.measure(real)["classes_covered"] == 10
    assert result["fd"] > meter.measure(real)["fd"]


def test_noise_scores_far_from_real_images_on_every_measure(meter: QualityMeter, data_root: Path) -> None:
    """The classifier alone is fooled by noise (a softmax is confident far from any data); the
    real images' feature range is not: noise gets no class, no confidence and no recognition."""
    real = meter.measure(_real_train(data_root))
    noise = meter.measure(torch.rand((2000, 1, 28, 28), generator=torch.Generator().manual_seed(0)))
    assert real["classes_covered"] == 10 and real["recognised"] > 0.8 and real["confidence"] > 0.5, real
    assert noise["fd"] > 50 * real["fd"], (noise["fd"], real["fd"])
    assert noise["classes_covered"] <= 1 and noise["recognised"] < 0.1 and noise["confidence"] < 0.1, noise


def test_the_same_input_gives_the_same_value(meter: QualityMeter, data_root: Path) -> None:
    real = _real_train(data_root, 500)
    assert meter.measure(real) == meter.measure(real.clone())


# ---------------------------------------------------------------------- trained against fresh


@pytest.mark.slow  # 8 epochs, then evaluate in a subprocess
def test_a_trained_generator_beats_a_fresh_one_of_the_same_configuration(
    classifier_cache: Path, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A VAE, because it learns in seconds; a GAN needs about an epoch of full MNIST before it stops
    collapsing (docs/quality.md has the measured GAN numbers)."""
    monkeypatch.setenv("GENCORE_CLASSIFIERS", str(classifier_cache))
    config = TrainConfig(model="vae", dataset="mnist", latent_dim=2, epochs=8, subset=4096, lr=1e-3, batch_size=32,
                         data_root=str(data_root), device="cpu", eval_every=0)
    start_run(config, tmp_path / "run", progress=False).fit()
    result = subprocess.run([sys.executable, "-m", "gencore", "evaluate", str(tmp_path / "run"), "--n", "1000",
                             "--json", str(tmp_path / "q.json"), "--no-train-classifier"],
                            capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    trained = json.loads((tmp_path / "q.json").read_text())
    assert {"fd", "classes_covered", "confidence", "n"} <= set(trained) and trained["n"] == 1000
    torch.manual_seed(config.seed)
    fresh = evaluate_models(config, {k: m.eval() for k, m in build_models(config, (1, 28, 28)).items()}, n=1000, inception=False)
    assert trained["fd"] < 0.75 * fresh["fd"], (trained["fd"], fresh["fd"])  # CI scale; the full-scale GAN gap is 14x
    assert trained["classes_covered"] > fresh["classes_covered"], (trained["classes_covered"], fresh["classes_covered"])


def test_quality_is_recorded_in_the_history_without_changing_the_training_numbers(
    classifier_cache: Path, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = dict(model="vae", dataset="mnist", latent_dim=8, epochs=2, subset=512, data_root=str(data_root), device="cpu")
    plain = start_run(TrainConfig(**config, eval_every=0), progress=False).fit().history
    monkeypatch.setenv("GENCORE_CLASSIFIERS", str(classifier_cache))
    trainer = start_run(TrainConfig(**config, eval_every=1), tmp_path / "run", progress=False)
    measured = trainer.fit().history
    assert all({"fd", "classes_covered", "confidence"} <= set(row) for row in measured)
    assert [{k: v for k, v in row.items() if k in plain[0]} for row in measured] == plain
    assert len(trainer.epoch_seconds) == 2 and trainer.epoch_seconds[0] <= trainer.epoch_seconds[1]
    from gencore.course.explore import run_quality_points

    points = run_quality_points(tmp_path / "run")
    assert [fd for _, fd, _ in points] == pytest.approx([row["fd"] for row in measured])


# ---------------------------------------------------------------------- the VAE's bound


def _bits(x: torch.Tensor, mean: torch.Tensor, sigma: float) -> float:
    return float(discretised_gaussian_nll(x, mean, sigma).mean()) / (x[0].numel() * math.log(2))


def test_the_discretised_likelihood_is_a_probability_over_the_256_levels() -> None:
    levels = torch.arange(256, dtype=torch.uint8).view(256, 1)  # every level of one pixel
    for mean, sigma in ((0.0, 0.05), (0.3, 0.01), (1.0, 0.2), (0.5, 3.0), (0.02, 1e-4)):
        p = torch.exp(-discretised_gaussian_nll(levels, torch.full((256, 1), mean), sigma))
        assert float(p.sum()) == pytest.approx(1.0, abs=1e-9), (mean, sigma)
    far = discretised_gaussian_nll(torch.full((1, 4), 255, dtype=torch.uint8), torch.zeros(1, 4), 0.001)
    assert torch.isfinite(far).all() and float(far[0]) > 1e5  # 1000 standard deviations away: tiny, not 0


def test_a_uniform_model_scores_8_bits_and_a_sharp_model_fewer_than_a_blurred_one(data_root: Path) -> None:
    x = load_dataset("mnist", "test", str(data_root), subset=200, seed=0).images  # (200, 1, 28, 28) uint8
    unit = to_float(x, "unit")
    assert _bits(x, torch.rand(unit.shape), 1e6) == pytest.approx(8.0, abs=1e-6)  # a Gaussian this wide is uniform
    sharp = (unit + 0.01 * torch.randn(unit.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    blurred = _blur(unit, 1.0)
    fitted = lambda recon: float((recon - unit).pow(2).mean()) ** 0.5  # noqa: E731 - the variance the bound fits
    sharp_bits, blurred_bits = _bits(x, sharp, fitted(sharp)), _bits(x, blurred, fitted(blurred))
    assert sharp_bits < blurred_bits - 1 and blurred_bits < 8, (sharp_bits, blurred_bits)


def test_the_vae_bound_adds_the_kl_to_the_discrete_likelihood_and_keeps_the_seeds_continuous_one() -> None:
    numbers = {"test_mse": 20.0, "test_kl": 30.0, "decoder_sigma": 0.16, "test_nll_discrete": 1500.0}
    bound = vae_bound(numbers, (1, 28, 28))
    assert bound["bits_per_dim"] == pytest.approx((1500.0 + 30.0) / (784 * math.log(2)))
    # The seed's loss is the Gaussian likelihood with variance 1/2, continuous: sum of squares + D/2 log(pi).
    assert bound["neg_elbo_nats"] == pytest.approx(20.0 + 30.0 + 392 * math.log(math.pi))


# ---------------------------------------------------------------------- the classifier and its cache


def test_the_classifier_learns_and_its_cache_round_trips(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENCORE_CLASSIFIERS", str(tmp_path))
    trained = train_classifier("mnist", str(data_root), tiny_recipe(TINY), device="cpu", progress=False)
    assert trained.test_accuracy > 0.5, trained.describe()  # chance is 0.1
    path = tmp_path / "c.pt"
    save_classifier(trained, path)
    loaded = load_classifier(path)
    assert loaded.test_accuracy == trained.test_accuracy and loaded.recipe == tiny_recipe(TINY)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(loaded.model(x), trained.model.eval()(x))


def test_a_missing_or_damaged_classifier_says_what_to_do(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENCORE_CLASSIFIERS", str(tmp_path))
    with pytest.raises(GencoreError, match="python -m gencore classifier --dataset mnist"):
        get_classifier("mnist", str(data_root), train_if_missing=False)
    path = classifier_path("mnist", load_dataset("mnist", "test", str(data_root)))
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="delete it"):
        get_classifier("mnist", str(data_root))
    assert path.read_bytes() == b"not a checkpoint"  # reported, not silently replaced


def test_inception_distance_is_skipped_with_a_reason_when_its_weights_are_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    value, note = inception_fd(torch.rand(4, 1, 28, 28), torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8))
    assert value is None and "never downloaded" in note and str(tmp_path) in note
    assert not (tmp_path / "torch").exists()  # nothing was fetched or created


def test_inception_distance_is_computed_when_weights_are_on_the_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models import inception_v3

    from gencore.quality.metrics import inception_weights_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = inception_weights_path()
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=True).state_dict(), path)  # stand-in weights
    images = torch.rand(3, 1, 28, 28)
    value, note = inception_fd(images, (images * 255).to(torch.uint8))
    assert value is not None and math.isfinite(value) and path.name in note
