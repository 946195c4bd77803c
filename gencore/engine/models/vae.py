"""The seed study's VAE: an MLP encoder to (mean, log-variance) and an MLP decoder with a
sigmoid output (Kingma & Welling 2014); and a convolutional VAE whose decoder is DCGAN's generator."""

from __future__ import annotations

import math

import torch
from torch import nn

from gencore.engine.models.gan import Generator


class VAE(nn.Module):
    """MLP VAE sized from the image shape; hidden sizes are 8, 4 and 2 times ``width``."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int = 64) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        pixels = math.prod(image_shape)
        h1, h2, h3 = 8 * width, 4 * width, 2 * width  # 512, 256, 128 at the default width
        self.encoder = nn.Sequential(
            nn.Flatten(),  # (B, C*H*W)
            nn.Linear(pixels, h1), nn.ReLU(),  # (B, h1)
            nn.Linear(h1, h2), nn.ReLU(),  # (B, h2)
            nn.Linear(h2, h3), nn.ReLU(),  # (B, h3)
        )
        self.to_mean = nn.Linear(h3, latent_dim)  # (B, latent)
        self.to_log_var = nn.Linear(h3, latent_dim)  # (B, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, h3), nn.ReLU(),  # (B, h3)
            nn.Linear(h3, h2), nn.ReLU(),  # (B, h2)
            nn.Linear(h2, h1), nn.ReLU(),  # (B, h1)
            nn.Linear(h1, pixels), nn.Sigmoid(),  # (B, C*H*W), pixel intensities in [0, 1]
            nn.Unflatten(1, self.image_shape),  # (B, C, H, W)
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [0, 1] to the posterior's mean and log-variance, each (B, latent)."""
        h = self.encoder(x)
        return self.to_mean(h), self.to_log_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes (B, latent) to images (B, C, H, W) in [0, 1]."""
        return self.decoder(z)

    @staticmethod
    def reparameterize(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """z = mean + eps * exp(0.5 * log_var), eps ~ N(0, I): sampling that gradients flow through."""
        return mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_var = self.encode(x)
        return self.decode(self.reparameterize(mean, log_var)), mean, log_var

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] decoded from prior draws z ~ N(0, I)."""
        return self.decode(z)


class ConvVAE(nn.Module):
    """A convolutional VAE: the encoder is DCGAN's discriminator body (strided convolutions) ending
    in the posterior's mean and log-variance, the decoder is DCGAN's generator itself, its tanh
    output mapped to [0, 1]. Trained on the VAE's loss, it separates the loss from the network:
    the same generator as the GAN's, the VAE's objective."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int = 32) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        features = 2 * width * (height // 4) * (width_px // 4)
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, w, H/2, W/2)
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),  # (B, 2w, H/4, W/4)
            nn.Flatten(),  # (B, 2w * H/4 * W/4)
        )
        self.to_mean = nn.Linear(features, latent_dim)  # (B, latent)
        self.to_log_var = nn.Linear(features, latent_dim)  # (B, latent)
        self.generator = Generator((channels, height, width_px), latent_dim, width)  # (B, C, H, W) in [-1, 1], the GAN's layer for layer

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [0, 1] to the posterior's mean and log-variance, each (B, latent)."""
        h = self.encoder(x)
        return self.to_mean(h), self.to_log_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes (B, latent) to images (B, C, H, W) in [0, 1]: (tanh + 1) / 2 is a sigmoid of twice the logit."""
        return self.generator(z).add(1.0).div(2.0)

    reparameterize = staticmethod(VAE.reparameterize)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_var = self.encode(x)
        return self.decode(self.reparameterize(mean, log_var)), mean, log_var

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] decoded from prior draws z ~ N(0, I)."""
        return self.decode(z)
