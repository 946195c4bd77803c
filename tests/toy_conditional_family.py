"""A toy conditional family, registered from outside the package: this file and one
``register(CONDITIONAL_FAMILY)`` line. Its generator adds a learnt image per class to the toy's
affine map of z; its step pulls each class's samples towards that class's mean image, so it
needs the batch's labels, and its sampler draws the classes it is given."""

from __future__ import annotations

import math

import torch
from torch import nn

from gencore.engine.families import Family, Settings

CLASSES = 10


class ClassGenerator(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.from_z = nn.Linear(latent_dim, math.prod(image_shape))  # (B, C*H*W)
        self.per_class = nn.Embedding(CLASSES, math.prod(image_shape))  # (B, C*H*W): one learnt image per class

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(0.1 * self.from_z(z) + self.per_class(labels)).view(-1, *self.image_shape)


def class_step(models, optimizers, x, labels, config, step, parts):  # noqa: ANN001, ANN201 - the step signature
    fake = models["generator"](torch.randn(x.shape[0], config.latent_dim, device=x.device), labels)
    loss = (fake - x).pow(2).flatten(1).sum(1).mean()  # each sample towards a real image of its own class
    optimizers["generator"].zero_grad(set_to_none=True)
    loss.backward()
    optimizers["generator"].step()
    return {"class_gap": loss.detach()}


def sample(models, config, n, generator, classes, device):  # noqa: ANN001, ANN201 - the sampler signature
    z = torch.randn(n, config.latent_dim, generator=generator)
    if classes is None:  # no class asked for: classes drawn uniformly, from the same generator
        classes = torch.randint(0, CLASSES, (n,), generator=generator)
    return models["generator"](z.to(device), classes.to(device)).float().cpu()


CONDITIONAL_FAMILY = Family(
    name="toy-conditional",
    title="Toy (conditional)",
    build=lambda config, shape: {"generator": ClassGenerator(shape, config.latent_dim)},
    step=class_step,
    parts={},
    sample_role=None,
    sampler=sample,
    sampling_networks=("generator",),
    conditional=True,
    value_range="unit",
    metrics=("class_gap",),
    loss_panels=(("Gap to the class's images", ("class_gap",)),),
    labels={"class_gap": "squared gap"},
    reference_lines={},
    seed_settings=Settings(64, 5e-2, (0.9, 0.999), "a toy: Adam, lr 5e-2, batch 64"),
    paper_settings=Settings(64, 5e-2, (0.9, 0.999), "a toy: Adam, lr 5e-2, batch 64"),
    notebooks={"mnist": "toy_mnist.ipynb"},
)
