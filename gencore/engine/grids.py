"""Image grids: the one way the kit lays out many images, for figures and for thumbnails."""

from __future__ import annotations

import math

import torch


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] to one (H', W', 3) image tiled in rows of ``nrow``."""
    from torchvision.utils import make_grid

    images = images.detach().float().cpu().clamp(0, 1)
    nrow = nrow or max(1, int(math.ceil(math.sqrt(images.shape[0]))))
    grid = make_grid(images, nrow=nrow, padding=padding, pad_value=1.0)
    return grid.permute(1, 2, 0)


def show_grid(ax, images: torch.Tensor, title: str, nrow: int | None = None) -> None:  # noqa: ANN001 - Axes
    """Draw an image grid on matplotlib axes, pixel for pixel, without ticks."""
    ax.imshow(image_grid(images, nrow).numpy(), interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
