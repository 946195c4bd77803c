"""Shapes and value ranges for every model, dataset and latent size; the critic's constraints."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gencore.engine.config import TrainConfig
from gencore.engine.data import IMAGE_SHAPES
from gencore.engine.models import VAE, Critic, Discriminator, Generator, build_models
from gencore.engine.models.gan import CRITIC_NORMS

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


@pytest.mark.parametrize("norm", CRITIC_NORMS)
def test_critic_score_of_one_image_does_not_depend_on_the_batch(norm: str) -> None:
    """Without batch norm (none, or layer norm in its place), the per-sample gradient penalty is truly per sample."""
    torch.manual_seed(0)
    critic = Critic(IMAGE_SHAPES["mnist"], width=8, norm=norm).train()
    x = torch.randn(6, *IMAGE_SHAPES["mnist"])
    assert torch.allclose(critic(x)[:1], critic(x[:1]), atol=1e-6)
    # ... while a discriminator's batch norm mixes the images of a batch.
    discriminator = Discriminator(IMAGE_SHAPES["mnist"], width=8).train()
    assert not torch.allclose(discriminator.logits(x)[:1], discriminator.logits(x[:1]), atol=1e-3)


def test_the_layer_norm_critic_normalises_each_image_and_keeps_the_unnormalised_critics_weights() -> None:
    shape = IMAGE_SHAPES["cifar10"]
    layer, plain = Critic(shape, width=8, norm="layer"), Critic(shape, width=8)
    norms = [m for m in layer.modules() if isinstance(m, nn.GroupNorm)]
    assert len(norms) == 1 and norms[0].num_groups == 1 and norms[0].num_channels == 16  # one group: the whole image
    assert not any(isinstance(m, nn.GroupNorm) for m in plain.modules())
    # Only the norm's scale and shift are new: the seed critic's weights keep their names (its checkpoints load).
    assert set(layer.state_dict()) - set(plain.state_dict()) == {"body.3.weight", "body.3.bias"}
    # The layers before the norm are positively homogeneous (no biases, leaky ReLU), so an image scaled by a factor
    # reaches the layer after the norm unchanged: the norm removes the scale. (Large inputs keep the norm's eps,
    # 1e-5, negligible against the variance of DCGAN-initialised activations.)
    body = layer.body[:4]
    x = 100 * torch.randn(2, *shape)
    assert torch.allclose(body(3 * x), body(x), atol=1e-4)
    assert not torch.allclose(plain.body[:4](3 * x), plain.body[:4](x), atol=1e-4)  # without the norm it scales
    with pytest.raises(ValueError, match="critic normalisation"):
        Critic(shape, norm="batch")
