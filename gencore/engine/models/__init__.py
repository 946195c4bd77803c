"""The networks: the seed study's MLP VAE, DCGAN's generator and discriminator, and the
WGAN-GP critic. Which of them a model trains, and with what, is its family's record
(gencore.engine.families)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from gencore.engine.models.gan import Critic, Discriminator, Generator
from gencore.engine.models.vae import VAE

if TYPE_CHECKING:
    from gencore.engine.config import TrainConfig

__all__ = ["VAE", "Generator", "Discriminator", "Critic", "build_models"]


def build_models(config: "TrainConfig", image_shape: tuple[int, int, int]) -> dict[str, nn.Module]:
    """The networks of one run, by role ({'vae'} or {'generator', 'discriminator' | 'critic'}), as
    the configuration's family builds them; every size comes from the image shape and the config."""
    return config.family.build(config, image_shape)
