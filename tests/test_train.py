"""The training loop: repeatability, learning on real (or fixture) data, the run directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from conftest import needs_real_data, real_data_root
from gencore.config import TrainConfig
from gencore.steps import METRICS, vae_test_metrics
from gencore.train import Trainer, train

MODELS = ("vae", "gan", "wgan-gp")


def tiny(model: str, root: Path, **overrides) -> TrainConfig:  # noqa: ANN003
    """A configuration that trains in about a second on two CPU cores."""
    settings = dict(model=model, dataset="mnist", latent_dim=8, epochs=1, batch_size=32, width=8,
                    subset=256, data_root=str(root), device="cpu", n_critic=2)
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_gives_identical_history_and_samples(model: str, fixture_root: Path) -> None:
    runs = [Trainer(tiny(model, fixture_root, epochs=2), progress=False) for _ in range(3)]
    runs[2] = Trainer(tiny(model, fixture_root, epochs=2, seed=1), progress=False)
    results = [t.fit() for t in runs]
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(5))
    samples = [t.generate(z) for t in runs]
    assert results[0].history == results[1].history
    assert torch.equal(samples[0], samples[1])
    assert results[0].history != results[2].history
    assert not torch.equal(samples[0], samples[2])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_every_model_trains_on_every_dataset(model: str, dataset: str, fixture_root: Path, tmp_path: Path) -> None:
    result = train(tiny(model, fixture_root, dataset=dataset, subset=100), tmp_path / "run", progress=False)
    assert result.status == "finished" and result.epochs_done == 1
    row = result.history[0]
    expected = set(METRICS[model]) | ({"test_kl", "test_mse", "test_total"} if model == "vae" else set())
    assert expected <= set(row)
    assert all(torch.isfinite(torch.tensor(v)) for v in row.values())


def test_run_directory_holds_config_history_checkpoint_and_figures(fixture_root: Path, tmp_path: Path) -> None:
    config = tiny("vae", fixture_root, latent_dim=2, epochs=2)
    train(config, tmp_path, progress=False)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "checkpoint.pt", "history.csv", "run.json", "samples.png", "real_vs_generated.png",
            "reconstructions.png", "losses.png", "latent_manifold.png"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text())) == config
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["status"] == "finished" and info["epochs_done"] == 2 and info["images_per_s"] > 0
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert checkpoint["config"]["latent_dim"] == 2 and checkpoint["epoch"] == 2


def test_gan_figures_are_drawn(fixture_root: Path, tmp_path: Path) -> None:
    train(tiny("wgan-gp", fixture_root), tmp_path, progress=False)
    assert {"samples.png", "real_vs_generated.png", "losses.png"} <= {p.name for p in tmp_path.iterdir()}


def test_seed_settings_are_the_defaults() -> None:
    vae, gan, wgan = TrainConfig(model="vae"), TrainConfig(model="gan"), TrainConfig(model="wgan-gp")
    assert (vae.lr, vae.batch_size) == (1e-4, 128)
    assert (gan.lr, gan.batch_size) == (1e-4, 64)
    assert (wgan.lr, wgan.batch_size, wgan.n_critic, wgan.gp_weight) == (5e-5, 64, 5, 10.0)


def test_wgan_updates_the_generator_once_per_n_critic_steps(fixture_root: Path) -> None:
    trainer = Trainer(tiny("wgan-gp", fixture_root, n_critic=3, subset=96 * 3), progress=False)  # 9 steps
    trainer.fit()
    assert trainer.optimizers["critic"].state[next(iter(trainer.models["critic"].parameters()))]["step"] == 9
    assert trainer.optimizers["generator"].state[next(iter(trainer.models["generator"].parameters()))]["step"] == 3


def _vae_learns(root: Path, subset: int) -> tuple[float, float]:
    trainer = Trainer(TrainConfig(model="vae", dataset="mnist", latent_dim=2, epochs=1, subset=subset,
                                  data_root=str(root), device="cpu"), progress=False)
    torch.manual_seed(0)
    before = vae_test_metrics(trainer.models["vae"], trainer.test_data.images, 500, trainer.device)["test_total"]
    after = trainer.fit().history[0]["test_total"]
    return before, after


@needs_real_data
def test_vae_test_loss_drops_in_one_epoch_on_real_mnist() -> None:
    before, after = _vae_learns(real_data_root(), subset=2048)
    assert after < before - 5.0  # measured: about 181 -> 170 per image


@needs_real_data
def test_gan_samples_change_in_one_epoch_on_real_mnist() -> None:
    trainer = Trainer(TrainConfig(model="gan", dataset="mnist", latent_dim=64, epochs=1, subset=2048, width=32,
                                  data_root=str(real_data_root()), device="cpu"), progress=False)
    before = trainer.generate(trainer.fixed_z)
    trainer.fit()
    after = trainer.generate(trainer.fixed_z)
    assert (after - before).abs().mean() > 0.02


def test_vae_test_loss_drops_on_fixture_data(fixture_root: Path) -> None:
    before, after = _vae_learns(fixture_root, subset=600)
    assert after < before
