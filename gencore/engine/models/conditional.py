"""The class given to both networks: a conditional VAE (Sohn et al. 2015) and a conditional
DCGAN (Mirza & Osindero 2014, in DCGAN's layers). The class y enters every network one of two
ways: as a one-hot vector beside a vector input (the VAE's flattened image, the latent z), or as
K constant image channels beside an image input (``with_class_channels``: channel k is all ones
for class k, zeros elsewhere). Each network is the kit's unconditional one built one input wider:
the conditional GAN's discriminator is DCGAN's own with C + K input channels (families.cgan).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gencore.engine.models.gan import Generator
from gencore.engine.models.vae import VAE


def one_hot(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Labels (B,) int64 -> (B, K) float: a 1 in each row's class column. Rows of class weights
    (B, K) float pass through as they are: a mix such as 0.7 * one_hot(3) + 0.3 * one_hot(8) asks
    for a point between two classes (notebook 08's interpolation)."""
    if labels.is_floating_point():
        if labels.dim() != 2 or labels.shape[1] != classes:
            raise ValueError(f"class weights must be (B, {classes}), got {tuple(labels.shape)}")
        return labels.float()
    return F.one_hot(labels.long(), classes).float()


def with_class_channels(images: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Images (B, C, H, W) and labels (B,) -> (B, C + K, H, W): K channels after the image's own,
    channel C + y all ones and the others zero, so every pixel a convolution sees carries the class."""
    b, _, h, w = images.shape
    maps = one_hot(labels, classes).to(images.dtype)[:, :, None, None].expand(b, classes, h, w)  # (B, K, H, W)
    return torch.cat([images, maps], dim=1)


class ConditionalVAE(nn.Module):
    """The seed's MLP VAE with the class given to both halves: q(z | x, y) reads [x, one_hot(y)],
    p(x | z, y) reads [z, one_hot(y)]. Hidden sizes 8, 4 and 2 times ``width``, as the VAE's."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int, classes: int) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.latent_dim, self.classes = latent_dim, classes
        pixels = math.prod(image_shape)
        h1, h2, h3 = 8 * width, 4 * width, 2 * width
        self.encoder = nn.Sequential(
            nn.Linear(pixels + classes, h1), nn.ReLU(),  # (B, h1) from [flattened x, one_hot(y)]
            nn.Linear(h1, h2), nn.ReLU(),  # (B, h2)
            nn.Linear(h2, h3), nn.ReLU(),  # (B, h3)
        )
        self.to_mean = nn.Linear(h3, latent_dim)  # (B, latent)
        self.to_log_var = nn.Linear(h3, latent_dim)  # (B, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim + classes, h3), nn.ReLU(),  # (B, h3) from [z, one_hot(y)]
            nn.Linear(h3, h2), nn.ReLU(),  # (B, h2)
            nn.Linear(h2, h1), nn.ReLU(),  # (B, h1)
            nn.Linear(h1, pixels), nn.Sigmoid(),  # (B, C*H*W) in [0, 1]
            nn.Unflatten(1, self.image_shape),  # (B, C, H, W)
        )

    def encode(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [0, 1] and their classes to q(z | x, y)'s mean and log-variance, each (B, latent)."""
        h = self.encoder(torch.cat([x.flatten(1), one_hot(labels, self.classes).to(x)], dim=1))
        return self.to_mean(h), self.to_log_var(h)

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Latent codes (B, latent) and classes (B,) to images (B, C, H, W) in [0, 1]."""
        return self.decoder(torch.cat([z, one_hot(labels, self.classes).to(z)], dim=1))

    reparameterize = staticmethod(VAE.reparameterize)  # z = mean + eps * exp(0.5 * log_var), the VAE's own

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_var = self.encode(x, labels)
        return self.decode(self.reparameterize(mean, log_var), labels), mean, log_var

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] of the given classes, decoded from prior draws z ~ N(0, I)."""
        return self.decode(z, labels)


class ConditionalGenerator(nn.Module):
    """(z (B, latent), y (B,)) -> image (B, C, H, W) in [-1, 1]: DCGAN's generator reading [z, one_hot(y)]."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int, classes: int) -> None:
        super().__init__()
        self.latent_dim, self.classes = latent_dim, classes
        self.net = Generator(image_shape, latent_dim + classes, width)  # its first layer is K inputs wider

    def inputs(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """What DCGAN's generator reads: [z, one_hot(y)], (B, latent + K)."""
        return torch.cat([z, one_hot(labels, self.classes).to(z)], dim=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(self.inputs(z, labels))  # (B, C, H, W) in [-1, 1]

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] of the given classes from prior draws z ~ N(0, I), as the generator's own sample."""
        return self.net.sample(self.inputs(z, labels))
