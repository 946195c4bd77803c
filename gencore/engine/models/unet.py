"""A small U-Net that predicts the noise in x_t (Ho et al. 2020, appendix B, cut down for a CPU):
residual blocks with group norm and SiLU at two resolutions below the image's (28 -> 14 -> 7,
32 -> 16 -> 8), skip connections across, and the timestep (plus, optionally, the class) added to
every block. Ho et al.'s CIFAR-10 network has four resolutions, two blocks each, self-attention at
16x16 and 128 base channels (35.7M parameters); this one keeps the shape of the idea at about 0.5M
parameters at width 32, with no attention (its cost grows with the square of the pixels).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gencore.engine.errors import GencoreError

__all__ = ["ResidualBlock", "UNet", "timestep_embedding"]


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """The Transformer's sinusoidal position code of each timestep (Vaswani et al. 2017; Ho et al.
    2020 use it for t): t (B,) -> (B, dim), sin(t f_k) then cos(t f_k) for frequencies f_k from 1
    down to 1/10000, geometrically spaced. Nearby timesteps get nearby codes at every scale."""
    half = dim // 2
    steps = torch.arange(half, device=t.device, dtype=torch.float32)  # (dim/2,)
    frequencies = torch.exp(-math.log(10_000) * steps / half)  # (dim/2,): 1 down to 1/10000
    angles = t.float()[:, None] * frequencies[None, :]  # (B, dim/2)
    code = torch.cat([angles.sin(), angles.cos()], dim=1)  # (B, 2 * (dim // 2))
    return nn.functional.pad(code, (0, dim - code.shape[1]))  # (B, dim): one zero column when dim is odd


def _group_norm(channels: int) -> nn.GroupNorm:
    """Group norm over groups of channels, per image (never across the batch, so a prediction does not
    depend on the other images in its batch): 8 groups where the channels divide, as few as needed otherwise."""
    return nn.GroupNorm(math.gcd(8, channels), channels)


class ResidualBlock(nn.Module):
    """x (B, c_in, H, W), emb (B, E) -> (B, c_out, H, W): norm-SiLU-conv, plus the embedding projected to
    one shift per channel, then norm-SiLU-conv, added to x (through a 1x1 conv when the widths differ)."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int) -> None:
        super().__init__()
        self.norm1 = _group_norm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)  # (B, c_out, H, W)
        self.emb = nn.Linear(emb_dim, c_out)  # (B, c_out): where the block learns what t (and the class) asks of it
        self.norm2 = _group_norm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)  # (B, c_out, H, W)
        nn.init.zeros_(self.conv2.weight)  # each block starts as its skip path (Ho et al.'s code scales it by 1e-10)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()  # (B, c_out, H, W)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x)))  # (B, c_out, H, W)
        h = h + self.emb(self.act(emb))[:, :, None, None]  # (B, c_out, H, W): the same shift at every pixel
        h = self.conv2(self.act(self.norm2(h)))  # (B, c_out, H, W)
        return h + self.skip(x)


class UNet(nn.Module):
    """x_t (B, C, H, W), t (B,) int64, labels (B,) int64 or None -> predicted noise (B, C, H, W).

    Channels w, 2w, 2w at full, half and quarter size (w = ``width``). ``classes`` K adds a class
    embedding with K + 1 rows: row K (``null_class``) is "no class", the unconditional prediction
    that classifier-free guidance needs; labels None means that row for every image.

    The default width, 32, is sized for a CPU: 0.49M parameters and 92M multiply-adds per 28x28 image
    (121M at 32x32), a quarter of width 64's (every convolution is width x width); forward and backward
    through 64 MNIST images took 0.75 s on one thread of a busy 2-core CPU."""

    def __init__(self, image_shape: tuple[int, int, int], width: int = 32, classes: int | None = None) -> None:
        super().__init__()
        channels, height, image_width = image_shape
        if height % 4 or image_width % 4:
            raise GencoreError(f"the U-Net halves the image twice: its sides must divide by 4 (28 or 32), "
                               f"got {height}x{image_width}.")
        if width < 1:
            raise GencoreError(f"the U-Net's width must be at least 1 channel, got {width}.")
        self.image_shape = tuple(image_shape)
        self.width = width
        self.classes = classes if classes else None  # K, or None for a network that takes no class
        w, emb_dim = width, 4 * width  # Ho et al.: a time embedding 4x the base channels
        self.time_mlp = nn.Sequential(
            nn.Linear(w, emb_dim),  # (B, 4w) from the (B, w) sinusoidal code
            nn.SiLU(),
            nn.Linear(emb_dim, emb_dim),  # (B, 4w)
        )
        # (B, 4w): one learnt vector per class and one for "no class" (row K), added to the time embedding
        self.class_embedding = nn.Embedding(classes + 1, emb_dim) if classes else None
        self.stem = nn.Conv2d(channels, w, 3, padding=1)  # (B, w, H, W)
        self.down1 = ResidualBlock(w, w, emb_dim)  # (B, w, H, W): kept for the skip connection
        self.halve1 = nn.Conv2d(w, w, 3, stride=2, padding=1)  # (B, w, H/2, W/2): a learnt, strided downsampling
        self.down2 = ResidualBlock(w, 2 * w, emb_dim)  # (B, 2w, H/2, W/2): kept for the skip connection
        self.halve2 = nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1)  # (B, 2w, H/4, W/4)
        self.middle1 = ResidualBlock(2 * w, 2 * w, emb_dim)  # (B, 2w, H/4, W/4)
        self.middle2 = ResidualBlock(2 * w, 2 * w, emb_dim)  # (B, 2w, H/4, W/4)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")  # doubles H and W; the next block convolves
        self.up2 = ResidualBlock(2 * w + 2 * w, 2 * w, emb_dim)  # (B, 2w, H/2, W/2) from upsampled + skip
        self.up1 = ResidualBlock(2 * w + w, w, emb_dim)  # (B, w, H, W) from upsampled + skip
        self.out_norm = _group_norm(w)
        self.out = nn.Conv2d(w, channels, 3, padding=1)  # (B, C, H, W): the predicted noise
        for parameter in self.out.parameters():  # weight and bias 0: the first prediction is 0, a loss of 1
            nn.init.zeros_(parameter)
        self.act = nn.SiLU()

    @property
    def null_class(self) -> int:
        """The class embedding's row for "no class" (K, after the K real classes 0..K-1)."""
        if self.classes is None:
            raise GencoreError("this U-Net takes no classes, so it has no null class.")
        return self.classes

    def embed(self, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """t (B,), labels (B,) or None -> (B, 4w): the time embedding plus the class's (the null class's for None)."""
        emb = self.time_mlp(timestep_embedding(t, self.width))  # (B, 4w)
        if self.class_embedding is None:
            if labels is not None:
                raise GencoreError("this U-Net was built without classes: give it labels=None.")
            return emb
        if labels is None:
            labels = torch.full_like(t, self.null_class)
        return emb + self.class_embedding(labels)  # (B, 4w)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.embed(t, labels)  # (B, 4w)
        h = self.stem(x)  # (B, w, H, W)
        skip1 = self.down1(h, emb)  # (B, w, H, W)
        skip2 = self.down2(self.halve1(skip1), emb)  # (B, 2w, H/2, W/2)
        h = self.halve2(skip2)  # (B, 2w, H/4, W/4)
        h = self.middle2(self.middle1(h, emb), emb)  # (B, 2w, H/4, W/4)
        h = self.up2(torch.cat([self.upsample(h), skip2], dim=1), emb)  # (B, 4w -> 2w, H/2, W/2)
        h = self.up1(torch.cat([self.upsample(h), skip1], dim=1), emb)  # (B, 3w -> w, H, W)
        return self.out(self.act(self.out_norm(h)))  # (B, C, H, W)
