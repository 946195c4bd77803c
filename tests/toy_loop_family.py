"""A toy family with no latent vector whose sampler runs its network many times, registered from
outside the package: this file and one ``register(LOOP_FAMILY)`` line. Its one network moves an
image halfway towards a learnt mean image; the sampler starts from uniform noise and applies it
PASSES times (a denoising chain in miniature); the step learns the mean image."""

from __future__ import annotations

import torch
from torch import nn

from gencore.engine.families import Family, Settings

PASSES = 8  # network passes per sample: the noise left is 2**-8 of what it was


class HalfwayNet(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.full(image_shape, 0.5))  # (C, H, W)
        self.calls = 0  # forward passes, for the test that counts them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x + 0.5 * (self.mean - x)  # (B, C, H, W), halfway to the mean image


def mean_step(models, optimizers, x, labels, config, step, parts):  # noqa: ANN001, ANN201 - the step signature
    loss = (models["net"].mean - x.mean(0)).pow(2).sum()
    optimizers["net"].zero_grad(set_to_none=True)
    loss.backward()
    optimizers["net"].step()
    return {"mean_gap": loss.detach()}


def sample(models, config, n, generator, classes, device):  # noqa: ANN001, ANN201 - the sampler signature
    net = models["net"]
    x = torch.rand(n, *net.mean.shape, generator=generator).to(device)  # (n, C, H, W) noise
    for _ in range(PASSES):
        x = net(x)
    return x.clamp(0, 1).float().cpu()


LOOP_FAMILY = Family(
    name="toy-loop",
    title="Toy (many passes)",
    build=lambda config, shape: {"net": HalfwayNet(shape)},
    step=mean_step,
    parts={},
    sample_role=None,
    sampler=sample,
    sampling_networks=("net",),
    has_latent=False,
    value_range="unit",
    metrics=("mean_gap",),
    loss_panels=(("Mean-image gap", ("mean_gap",)),),
    labels={"mean_gap": "squared gap"},
    reference_lines={},
    seed_settings=Settings(32, 5e-2, (0.9, 0.999), "a toy: Adam, lr 5e-2, batch 32"),
    paper_settings=Settings(32, 5e-2, (0.9, 0.999), "a toy: Adam, lr 5e-2, batch 32"),
    notebooks={"mnist": "toy_mnist.ipynb"},
)
