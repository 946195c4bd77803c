"""The training loop: repeatability, learning on real (or fixture) data, the run directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from conftest import needs_real_data, real_data_root
from gencore.engine.config import TrainConfig
from gencore.engine.families import FAMILIES
from gencore.engine.families.base import TEST_BATCH
from gencore.runs.figures import figure_latents
from gencore.runs.start import start_run, train

MODELS = ("vae", "gan", "wgan-gp")


def tiny(model: str, root: Path, **overrides) -> TrainConfig:  # noqa: ANN003
    """A configuration that trains in about a second on two CPU cores."""
    settings = dict(model=model, dataset="mnist", latent_dim=8, epochs=1, batch_size=32, width=8,
                    subset=256, data_root=str(root), device="cpu", n_critic=2)
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_gives_identical_history_and_samples(model: str, fixture_root: Path) -> None:
    runs = [start_run(tiny(model, fixture_root, epochs=2), progress=False) for _ in range(3)]
    runs[2] = start_run(tiny(model, fixture_root, epochs=2, seed=1), progress=False)
    results = [t.fit() for t in runs]
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(5))
    samples = [t.generate(z) for t in runs]
    assert results[0].history == results[1].history and runs[0].trace == runs[1].trace
    assert torch.equal(samples[0], samples[1])
    assert results[0].history != results[2].history
    assert not torch.equal(samples[0], samples[2])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_every_model_trains_on_every_dataset(model: str, dataset: str, fixture_root: Path, tmp_path: Path) -> None:
    result = train(tiny(model, fixture_root, dataset=dataset, subset=100), tmp_path / "run", progress=False)
    assert result.status == "finished" and result.epochs_done == 1
    row = result.history[0]
    expected = set(FAMILIES[model].metrics) | ({"test_kl", "test_mse", "test_total"} if model == "vae" else set())
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


def test_loss_plot_shows_the_curves_inside_an_epoch() -> None:
    from gencore.runs.plots import plot_losses

    history = [{"epoch": 1, "d_loss": 1.2, "g_loss": 0.9, "jsd": 0.1, "d_real": 0.6, "d_fake": 0.4}]
    trace = [{"epoch": e / 4, "d_loss": 1.4 - e / 10, "g_loss": 0.8, "jsd": 0.05 * e, "d_real": 0.6, "d_fake": 0.4} for e in range(1, 5)]
    alone, traced = plot_losses(history, "gan"), plot_losses(history, "gan", trace=trace)
    assert [len(ax.lines) for ax in alone.axes] == [2, 3, 2]  # one point per metric (+ the JSD reference lines)
    assert [len(ax.lines) for ax in traced.axes] == [4, 4, 4]  # and a thin line per metric
    losses = traced.axes[0]
    assert list(losses.lines[1].get_xdata()) == [0.25, 0.5, 0.75, 1.0]
    assert losses.get_xlim()[0] == 0


def test_seed_settings_are_the_defaults() -> None:
    vae, gan, wgan = TrainConfig(model="vae"), TrainConfig(model="gan"), TrainConfig(model="wgan-gp")
    assert (vae.lr, vae.batch_size) == (1e-4, 128)
    assert (gan.lr, gan.batch_size) == (1e-4, 64)
    assert (wgan.lr, wgan.batch_size, wgan.n_critic, wgan.gp_weight) == (5e-5, 64, 5, 10.0)


def test_the_seed_study_grid_uses_the_seeds_optimiser_settings_whatever_the_notebook_trains_with(tmp_path: Path) -> None:
    from gencore.course.explore import seed_study_runs
    from gencore.runs.start import run_name

    notebook = TrainConfig(model="gan", dataset="cifar10", latent_dim=8, epochs=1, lr=2e-4, subset=512)
    rows = seed_study_runs(notebook, tmp_path)
    assert [(r["latent_dim"], r["epochs"]) for r in rows] == [(64, 20), (64, 100), (512, 20), (512, 100)]
    seed = TrainConfig(model="gan", dataset="cifar10", latent_dim=64, epochs=20)
    assert rows[0]["folder"] == tmp_path / run_name(seed) and not rows[0]["exists"]
    assert "--lr 0.0001 " in rows[0]["command"] and "--batch-size 64 " in rows[0]["command"]


def test_wgan_updates_the_generator_once_per_n_critic_steps(fixture_root: Path) -> None:
    trainer = start_run(tiny("wgan-gp", fixture_root, n_critic=3, subset=96 * 3), progress=False)  # 9 steps
    trainer.fit()
    assert trainer.optimizers["critic"].state[next(iter(trainer.models["critic"].parameters()))]["step"] == 9
    assert trainer.optimizers["generator"].state[next(iter(trainer.models["generator"].parameters()))]["step"] == 3


def _vae_learns(root: Path, subset: int) -> tuple[float, float]:
    trainer = start_run(TrainConfig(model="vae", dataset="mnist", latent_dim=2, epochs=1, subset=subset,
                                  data_root=str(root), device="cpu"), progress=False)
    torch.manual_seed(0)
    before = trainer.family.epoch_metrics(trainer.models, trainer.test_data.images, trainer.device, TEST_BATCH)["test_total"]
    after = trainer.fit().history[0]["test_total"]
    return before, after


@needs_real_data
def test_vae_test_loss_drops_in_one_epoch_on_real_mnist() -> None:
    before, after = _vae_learns(real_data_root(), subset=2048)
    assert after < before - 5.0  # measured: about 181 -> 170 per image


@needs_real_data
def test_gan_samples_change_in_one_epoch_on_real_mnist() -> None:
    trainer = start_run(TrainConfig(model="gan", dataset="mnist", latent_dim=64, epochs=1, subset=2048, width=32,
                                  data_root=str(real_data_root()), device="cpu"), progress=False)
    before = trainer.generate(figure_latents(trainer.config))
    trainer.fit()
    after = trainer.generate(figure_latents(trainer.config))
    assert (after - before).abs().mean() > 0.02


def test_vae_test_loss_drops_on_fixture_data(fixture_root: Path) -> None:
    before, after = _vae_learns(fixture_root, subset=600)
    assert after < before
