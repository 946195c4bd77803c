"""Images from latent points: the one way every part of the kit samples a trained model."""

from __future__ import annotations

from typing import Callable, cast

import torch
from torch import nn

from gencore.engine.families import FAMILIES


def sample_roles() -> tuple[str, ...]:
    """The roles of the families' sampling networks, registered ones included."""
    return tuple(dict.fromkeys(family.sample_role for family in FAMILIES.values()))


def generate(models: dict[str, nn.Module], z: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] decoded from z by the run's sampling network (its family's sample_role),
    with batch norm in inference mode."""
    net = next(models[role] for role in sample_roles() if role in models)
    was_training = net.training
    net.eval()
    try:
        return cast(Callable[[torch.Tensor], torch.Tensor], net.sample)(z)  # each family's sampling network has one
    finally:
        net.train(was_training)


def sample_images(models: dict[str, nn.Module], latent_dim: int, n: int, seed: int = 0,
                  device: torch.device | str = "cpu", batch: int = 1024) -> torch.Tensor:
    """n images in [0, 1] from z ~ N(0, I) drawn from their own seeded generator (never the
    run's RNG), decoded ``batch`` at a time; the same seed gives the same images."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    return torch.cat([generate(models, chunk.to(device)).float().cpu() for chunk in z.split(batch)])
