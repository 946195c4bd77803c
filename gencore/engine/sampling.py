"""Drawing images from a trained model: every part of the kit (figures, quality numbers, the
``sample`` command, the study, the widgets) asks the model's family (``Family.sample``), which
draws in as many network passes as its sampler needs."""

from __future__ import annotations

from typing import Any, Callable, Sequence, cast

import torch
from torch import nn

from gencore.engine.datasets import get_dataset
from gencore.engine.errors import GencoreError

__all__ = ["class_labels", "generate", "sample_images"]


def generate(models: dict[str, nn.Module], config: Any, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Images in [0, 1] decoded from latent points z (B, latent_dim) by the family's sampling network
    (a one-pass latent family: the VAE's decoder, a GAN's generator), batch norm in inference mode.
    A conditional family needs ``labels``: classes (B,) int64, or class weights (B, K) for points
    between classes."""
    role = config.family.sample_role
    if role is None or not config.family.has_latent:
        raise GencoreError(f"the {config.model} does not decode latent points: draw images with sample_images.")
    if config.family.conditional and labels is None:
        raise GencoreError(f"the {config.model} is conditional: give the classes to draw (labels=...) beside z.")
    net = models[role]
    was_training = net.training
    net.eval()
    try:
        decode = cast(Callable[..., torch.Tensor], getattr(net, "sample"))
        return decode(z) if labels is None else decode(z, labels.to(z.device))
    finally:
        net.train(was_training)


def class_labels(config: Any, classes: int | Sequence[int] | torch.Tensor | None, n: int) -> torch.Tensor | None:
    """The classes to draw, as (n,) int64: one class for all n images, or one per image; None for
    none. A class the dataset does not have, or a model that takes none, gets one clear error."""
    if classes is None:
        return None
    if not config.family.conditional:
        raise GencoreError(f"the {config.model} is unconditional: it cannot draw a given class "
                           "(train a conditional model for that).")
    count = get_dataset(config.dataset).classes_count
    try:
        labels = torch.as_tensor(classes, dtype=torch.long).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise GencoreError(f"classes must be whole numbers from 0 to {count - 1}, got {classes!r}.") from None
    if labels.numel() == 1:
        labels = labels.expand(n).clone()
    if labels.numel() != n:
        raise GencoreError(f"give one class for all {n} images or one per image, got {labels.numel()} classes.")
    if labels.numel() and (labels.min() < 0 or labels.max() >= count):
        bad = labels[(labels < 0) | (labels >= count)][0].item()
        raise GencoreError(f"class {bad} is not a class of {config.dataset}: choose one from 0 to {count - 1} "
                           f"({', '.join(get_dataset(config.dataset).classes)}).")
    return labels


def sample_images(models: dict[str, nn.Module], config: Any, n: int, seed: int = 0,
                  device: torch.device | str = "cpu", classes: int | Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
    """n images (n, C, H, W) in [0, 1] on the CPU by the family's sampler, every random number drawn
    from their own seeded generator (never the run's RNG): the same seed gives the same images.
    ``classes``: one class for all, or one per image, for a conditional family."""
    labels = class_labels(config, classes, n)
    generator = torch.Generator().manual_seed(seed)
    return config.family.sample(models, config, n, generator, labels, torch.device(device))
