"""Model builders: every size comes from the image shape and the configuration."""

from __future__ import annotations

from torch import nn

from ..config import TrainConfig
from .gan import Critic, Discriminator, Generator
from .vae import VAE

__all__ = ["VAE", "Generator", "Discriminator", "Critic", "build_models"]


def build_models(config: TrainConfig, image_shape: tuple[int, int, int]) -> dict[str, nn.Module]:
    """The networks of one run, by role: {'vae'} or {'generator', 'discriminator' | 'critic'}."""
    if config.model == "vae":
        return {"vae": VAE(image_shape, config.latent_dim, config.width)}
    judge = Discriminator if config.model == "gan" else Critic
    return {
        "generator": Generator(image_shape, config.latent_dim, config.width),
        "critic" if config.model == "wgan-gp" else "discriminator": judge(image_shape, config.width),
    }
