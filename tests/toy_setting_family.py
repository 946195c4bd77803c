"""A toy family with a setting of its own, registered from outside the package as a new family
would be: this file and one ``register(POWER_FAMILY)`` line. Its generator is the toy's affine map;
its step matches the batch's mean image under the loss |gap|^power, where ``power`` is its setting."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gencore.engine.families import Family, Settings
from gencore.engine.families.settings import setting
from toy_family import ToyGenerator


@dataclass(frozen=True)
class PowerSettings:
    power: float = setting(2.0, help="toy-power: the moment gap's exponent (default 2: squared error)",
                           why="2 makes the toy's loss the squared gap", minimum=1.0, maximum=4.0)


def power_step(models, optimizers, x, labels, config, step, parts):  # noqa: ANN001, ANN201 - the step signature
    fake = models["generator"](torch.randn(x.shape[0], config.latent_dim, device=x.device))
    loss = (fake.mean(0) - x.mean(0)).abs().pow(config.power).sum()  # the family's own setting, read from the config
    optimizers["generator"].zero_grad(set_to_none=True)
    loss.backward()
    optimizers["generator"].step()
    return {"power_gap": loss.detach()}


POWER_FAMILY = Family(
    name="toy-power",
    title="Toy (power)",
    build=lambda config, shape: {"generator": ToyGenerator(shape, config.latent_dim)},
    step=power_step,
    parts={},
    sample_role="generator",
    value_range="unit",
    metrics=("power_gap",),
    loss_panels=(("Mean-image gap", ("power_gap",)),),
    labels={"power_gap": "|gap|^power"},
    reference_lines={},
    seed_settings=Settings(32, 1e-2, (0.9, 0.999), "a toy: Adam, lr 1e-2, batch 32"),
    paper_settings=Settings(32, 1e-2, (0.9, 0.999), "a toy: Adam, lr 1e-2, batch 32"),
    own_settings=PowerSettings,
    notebooks={"mnist": "toy_mnist.ipynb"},
)
