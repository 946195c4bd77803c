"""A toy model family, registered from outside the package, as a new family would be: one
record and nothing else. Its generator is an affine map from z to pixels through a sigmoid; its
step matches the batch's mean image (moment matching), which is enough to train, sample and time.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gencore.engine.families import Family, Settings, register


class ToyGenerator(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.net = nn.Linear(latent_dim, math.prod(image_shape))  # (B, C*H*W)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z)).view(-1, *self.image_shape)  # (B, C, H, W) in [0, 1]

    def sample(self, z: torch.Tensor) -> torch.Tensor:
        return self(z)


def moment_step(models, optimizers, x, labels, config, step, parts):  # noqa: ANN001, ANN201 - the step signature
    fake = models["generator"](torch.randn(x.shape[0], config.latent_dim, device=x.device))
    loss = parts["moment_loss"](fake, x)
    optimizers["generator"].zero_grad(set_to_none=True)
    loss.backward()
    optimizers["generator"].step()
    return {"moment_gap": loss.detach()}


TOY_FAMILY = Family(
    name="toy",
    title="Toy",
    build=lambda config, shape: {"generator": ToyGenerator(shape, config.latent_dim)},
    step=moment_step,
    parts={"moment_loss": lambda fake, real: (fake.mean(0) - real.mean(0)).pow(2).sum()},
    sample_role="generator",
    value_range="unit",
    metrics=("moment_gap",),
    loss_panels=(("Mean-image gap", ("moment_gap",)),),
    labels={"moment_gap": "squared gap"},
    reference_lines={},
    seed_settings=Settings(32, 1e-2, (0.9, 0.999), "a toy: Adam, lr 1e-2, batch 32"),
    paper_settings=Settings(32, 1e-2, (0.9, 0.999), "a toy: Adam, lr 1e-2, batch 32"),
    notebooks={"mnist": "toy_mnist.ipynb"},
    presets={"cpu-fast": {"mnist": {"time_budget": 1.0}}},
)


def register_toy() -> Family:
    return register(TOY_FAMILY)
