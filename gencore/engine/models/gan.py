"""DCGAN generator, discriminator and WGAN-GP critic (Radford et al. 2016; Gulrajani et al. 2017).

Layer sizes follow the image: 32x32 grows 4 -> 8 -> 16 -> 32; 28x28 grows 7 -> 14 -> 14 -> 28
(a stride-1 layer takes the place of the upsampling that 28 has no room for).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _upsampling_plan(size: int) -> tuple[int, int]:
    """(start size, number of stride-2 layers) so that start * 2**n == size with n <= 3."""
    start, doublings = size, 0
    while start % 2 == 0 and start > 4 and doublings < 3:
        start, doublings = start // 2, doublings + 1
    if doublings == 0:
        raise ValueError(f"image size {size} cannot be reached by doubling; use 28, 32 or 64")
    return start, doublings


class Generator(nn.Module):
    """z (B, latent) -> image (B, C, H, W) in [-1, 1]: ConvT-BN-ReLU x3, then ConvT-tanh."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int = 64) -> None:
        super().__init__()
        channels, height, _ = image_shape
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        start, doublings = _upsampling_plan(height)
        # Channel counts halve as the image grows: 4w, 2w, w (256, 128, 64 at width 64).
        c1, c2, c3 = 4 * width, 2 * width, width
        up: dict[str, Any] = dict(kernel_size=4, stride=2, padding=1, bias=False)  # doubles height and width
        keep: dict[str, Any] = dict(kernel_size=3, stride=1, padding=1, bias=False)  # keeps them
        middle = up if doublings == 3 else keep
        self.net = nn.Sequential(
            nn.Unflatten(1, (latent_dim, 1, 1)),  # (B, latent, 1, 1)
            nn.ConvTranspose2d(latent_dim, c1, start, 1, 0, bias=False),  # (B, 4w, s, s)
            nn.BatchNorm2d(c1), nn.ReLU(True),
            nn.ConvTranspose2d(c1, c2, **up),  # (B, 2w, 2s, 2s)
            nn.BatchNorm2d(c2), nn.ReLU(True),
            nn.ConvTranspose2d(c2, c3, **middle),  # (B, w, 4s, 4s) for 32x32; (B, w, 2s, 2s) for 28x28
            nn.BatchNorm2d(c3), nn.ReLU(True),
            nn.ConvTranspose2d(c3, channels, **up),  # (B, C, H, W)
            nn.Tanh(),  # pixels in [-1, 1], the range the data is normalised to
        )
        self.apply(_dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] from prior draws z ~ N(0, I)."""
        return self.net(z).add(1.0).div(2.0).clamp(0.0, 1.0)


CRITIC_NORMS = ("none", "layer")  # the WGAN-GP critic's normalisation choices (TrainConfig.critic_norm)


def _norm(kind: str, channels: int) -> nn.Module:
    """The normalisation after the second convolution: batch norm (DCGAN's discriminator), layer norm
    over each image's (C, H, W) with a learned scale and shift per channel, or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # one group: statistics of one image only, never of the batch
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}: choose batch, layer or none")


def _conv_body(image_shape: tuple[int, int, int], width: int, norm: str) -> nn.Sequential:
    channels, height, _ = image_shape
    final = height // 4  # two stride-2 convolutions: 28 -> 7, 32 -> 8
    return nn.Sequential(
        nn.Conv2d(channels, width, 4, 2, 1, bias=False),  # (B, w, H/2, W/2)
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),  # (B, 2w, H/4, W/4)
        _norm(norm, 2 * width),  # (B, 2w, H/4, W/4)
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(2 * width, 1, final, 1, 0, bias=True),  # (B, 1, 1, 1): one score per image
        nn.Flatten(0),  # (B,)
    )


class Discriminator(nn.Module):
    """image -> probability of being real: conv-LeakyReLU, conv-BN-LeakyReLU, conv, sigmoid."""

    def __init__(self, image_shape: tuple[int, int, int], width: int = 64) -> None:
        super().__init__()
        self.body = _conv_body(image_shape, width, norm="batch")
        self.head = nn.Sigmoid()
        self.apply(_dcgan_init)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid scores (B,); the losses use these for numerically stable BCE."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class Critic(nn.Module):
    """image -> unbounded score (B,). No sigmoid (the score is a Lipschitz function, not a
    probability) and no batch norm (it would couple the per-sample gradient penalty across
    the batch; Gulrajani et al. 2017, section 4). ``norm="layer"`` puts in its place the layer
    norm that section recommends: per image, so the penalty stays per sample."""

    def __init__(self, image_shape: tuple[int, int, int], width: int = 64, norm: str = "none") -> None:
        super().__init__()
        if norm not in CRITIC_NORMS:
            raise ValueError(f"unknown critic normalisation {norm!r}: choose one of {', '.join(CRITIC_NORMS)}")
        self.body = _conv_body(image_shape, width, norm)
        self.apply(_dcgan_init)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights N(0, 0.02), batch-norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
