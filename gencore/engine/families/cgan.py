"""The conditional GAN family (Mirza & Osindero 2014, in DCGAN's layers): the class given to the
generator beside z and to the discriminator as image channels, trained on the GAN's binary
cross-entropy. The game becomes

    min_G max_D  E_(x,y)~data[log D(x, y)] + E_z,y[log(1 - D(G(z, y), y))],

whose optimum is p_g(x | y) = p_data(x | y) for every class y (Goodfellow et al.'s Theorem 1,
one class at a time)."""

from __future__ import annotations

from typing import cast

import torch

from gencore.engine import losses
from gencore.engine.datasets import get_dataset
from gencore.engine.families.base import Family, Metrics, Models, Optimizers, Parts, RunConfig
from gencore.engine.families.gan import GAN_FAMILY
from gencore.engine.models.conditional import ConditionalGenerator, with_class_channels
from gencore.engine.models.gan import Discriminator


def build(config: RunConfig, image_shape: tuple[int, int, int]) -> Models:
    classes = get_dataset(config.dataset).classes_count
    channels, height, width = image_shape
    return {"generator": ConditionalGenerator(image_shape, config.latent_dim, config.width, classes),
            # DCGAN's discriminator reading an image and its class as C + K channels (with_class_channels)
            "discriminator": Discriminator((channels + classes, height, width), config.width)}


def cgan_step(models: Models, optimizers: Optimizers, x: torch.Tensor, labels: torch.Tensor, config: RunConfig,
              step: int, parts: Parts) -> Metrics:
    """One conditional GAN update on a batch x in [-1, 1] with its classes y: the GAN's step with y
    given to both sides. The fakes are drawn for the batch's own classes, so the discriminator sees
    the same class mix real and fake, and only the images differ. It judges (image, class) pairs,
    so a good image of another class than the one asked for can be caught."""
    generator, discriminator = models["generator"], cast(Discriminator, models["discriminator"])
    classes = cast(ConditionalGenerator, generator).classes
    z = torch.randn(x.shape[0], config.latent_dim, device=x.device)  # (B, latent) ~ N(0, I)
    fake = generator(z, labels)  # (B, C, H, W) in [-1, 1], one image per asked class
    real_pairs = parts["with_class_channels"](x, labels, classes)  # (B, C + K, H, W): each image with its class
    fake_pairs = parts["with_class_channels"](fake, labels, classes)
    real_logits = discriminator.logits(real_pairs)  # (B,) scores of the real (image, class) pairs
    fake_logits = discriminator.logits(fake_pairs.detach())  # (B,) of the generated pairs; no gradient to G
    d = parts["discriminator_loss"](real_logits, fake_logits)  # BCE(D(x, y), 1) + BCE(D(G(z, y), y), 0)
    optimizers["discriminator"].zero_grad(set_to_none=True)
    d.loss.backward()
    optimizers["discriminator"].step()
    discriminator.requires_grad_(False)  # the generator's turn: BCE(D(G(z, y), y), 1) through the updated D
    g_loss = parts["generator_loss"](discriminator.logits(fake_pairs))
    optimizers["generator"].zero_grad(set_to_none=True)
    g_loss.backward()
    optimizers["generator"].step()
    discriminator.requires_grad_(True)
    return {"d_loss": d.loss.detach(), "g_loss": g_loss.detach(), "jsd": d.jsd.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(), "d_fake": torch.sigmoid(fake_logits.detach()).mean()}


CGAN_FAMILY = Family(
    name="cgan",
    title="conditional GAN",
    build=build,
    step=cgan_step,
    parts={"discriminator_loss": losses.discriminator_loss, "generator_loss": losses.generator_loss,
           "with_class_channels": with_class_channels},
    sample_role="generator",  # its .sample(z, labels) draws the given classes
    sampling_networks=("generator",),
    conditional=True,
    value_range="symmetric",
    metrics=GAN_FAMILY.metrics,
    loss_panels=GAN_FAMILY.loss_panels,
    labels=GAN_FAMILY.labels,
    reference_lines=GAN_FAMILY.reference_lines,
    seed_settings=GAN_FAMILY.seed_settings,  # the unconditional GAN's, so the two compare at one setting
    paper_settings=GAN_FAMILY.paper_settings,
    layout=GAN_FAMILY.layout,
    precisions=GAN_FAMILY.precisions,
    notebooks={"mnist": "08_conditional.ipynb", "cifar10": "08_conditional.ipynb"},
    presets=GAN_FAMILY.presets,  # the GAN's cpu-fast settings: conditioning is the only difference
)
