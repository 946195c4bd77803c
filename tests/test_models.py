"""Shapes and value ranges for every model, dataset and latent size; the critic's constraints."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gencore.engine.config import TrainConfig
from gencore.engine.data import IMAGE_SHAPES
from gencore.engine.models import VAE, Critic, Discriminator, Generator, build_models

LATENT_SIZES = (2, 64, 512)


@pytest.mark.parametrize("dataset", sorted(IMAGE_SHAPES))
@pytest.mark.parametrize("latent_dim", LATENT_SIZES)
def test_vae_shapes_and_ranges(dataset: str, latent_dim: int) -> None:
    shape = IMAGE_SHAPES[dataset]
    vae = VAE(shape, latent_dim, width=8)
    x = torch.rand(5, *shape)
    recon, mean, log_var = vae(x)
    assert recon.shape == (5, *shape)
    assert mean.shape == log_var.shape == (5, latent_dim)
    assert 0.0 <= recon.min() and recon.max() <= 1.0
    assert vae.sample(torch.randn(3, latent_dim)).shape == (3, *shape)


@pytest.mark.parametrize("dataset", sorted(IMAGE_SHAPES))
@pytest.mark.parametrize("latent_dim", LATENT_SIZES)
def test_gan_shapes_and_ranges(dataset: str, latent_dim: int) -> None:
    shape = IMAGE_SHAPES[dataset]
    generator = Generator(shape, latent_dim, width=8)
    fake = generator(torch.randn(4, latent_dim))
    assert fake.shape == (4, *shape)
    assert -1.0 <= fake.min() and fake.max() <= 1.0
    sample = generator.sample(torch.randn(4, latent_dim))
    assert 0.0 <= sample.min() and sample.max() <= 1.0
    probabilities = Discriminator(shape, width=8)(fake)
    assert probabilities.shape == (4,)
    assert ((0 < probabilities) & (probabilities < 1)).all()
    assert Critic(shape, width=8)(fake).shape == (4,)


@pytest.mark.parametrize("model", ["vae", "gan", "wgan-gp"])
@pytest.mark.parametrize("dataset", sorted(IMAGE_SHAPES))
def test_build_models_sizes_come_from_config(model: str, dataset: str) -> None:
    config = TrainConfig(model=model, dataset=dataset, latent_dim=7, width=4)
    models = build_models(config, IMAGE_SHAPES[dataset])
    expected = {"vae": {"vae"}, "gan": {"generator", "discriminator"}, "wgan-gp": {"generator", "critic"}}[model]
    assert set(models) == expected
    for module in models.values():
        assert sum(p.numel() for p in module.parameters()) > 0


def test_default_widths_follow_dcgan() -> None:
    generator = Generator(IMAGE_SHAPES["cifar10"], 100, width=64)
    channels = [m.out_channels for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert channels == [256, 128, 64, 3]


def test_critic_has_no_batch_norm_and_no_sigmoid() -> None:
    for dataset, shape in IMAGE_SHAPES.items():
        kinds = {type(m) for m in Critic(shape).modules()}
        assert not any(issubclass(k, nn.modules.batchnorm._BatchNorm) for k in kinds), dataset
        assert nn.Sigmoid not in kinds, dataset
        # ... while the GAN's discriminator has both, as in DCGAN.
        discriminator_kinds = {type(m) for m in Discriminator(shape).modules()}
        assert nn.BatchNorm2d in discriminator_kinds and nn.Sigmoid in discriminator_kinds


def test_critic_score_of_one_image_does_not_depend_on_the_batch() -> None:
    """Without batch norm, the per-sample gradient penalty is truly per sample."""
    torch.manual_seed(0)
    critic = Critic(IMAGE_SHAPES["mnist"], width=8).train()
    x = torch.randn(6, *IMAGE_SHAPES["mnist"])
    assert torch.allclose(critic(x)[:1], critic(x[:1]), atol=1e-6)
