"""The GAN family: DCGAN's generator and discriminator trained on binary cross-entropy
(Goodfellow et al. 2014; Radford et al. 2016), with the Jensen-Shannon estimate logged."""

from __future__ import annotations

import math
from typing import cast

import torch

from gencore.engine import losses
from gencore.engine.families.base import Family, Metrics, Models, Optimizers, Parts, RunConfig, Settings
from gencore.engine.models.gan import Discriminator, Generator


def build(config: RunConfig, image_shape: tuple[int, int, int]) -> Models:
    return {"generator": Generator(image_shape, config.latent_dim, config.width),
            "discriminator": Discriminator(image_shape, config.width)}


def gan_step(models: Models, optimizers: Optimizers, x: torch.Tensor, labels: torch.Tensor, config: RunConfig,
             step: int, parts: Parts) -> Metrics:
    """One GAN update on a batch x in [-1, 1] (its labels unused: the GAN is unconditional): first
    the discriminator, then the generator through the freshly updated discriminator."""
    generator, discriminator = models["generator"], cast(Discriminator, models["discriminator"])
    z = torch.randn(x.shape[0], config.latent_dim, device=x.device)  # (B, latent) ~ N(0, I)
    fake = generator(z)  # (B, C, H, W) in [-1, 1]
    # Discriminator: real and fake in separate passes, so batch norm sees one distribution each;
    # fake.detach() keeps this update from reaching the generator.
    real_logits = discriminator.logits(x)  # (B,) pre-sigmoid scores
    fake_logits = discriminator.logits(fake.detach())
    d = parts["discriminator_loss"](real_logits, fake_logits)  # BCE(D(x), 1) + BCE(D(G(z)), 0), and the JSD estimate
    optimizers["discriminator"].zero_grad(set_to_none=True)
    d.loss.backward()
    optimizers["discriminator"].step()
    # Generator: the non-saturating loss BCE(D(G(z)), 1) through the updated discriminator,
    # whose weights are frozen for this backward pass.
    discriminator.requires_grad_(False)
    g_loss = parts["generator_loss"](discriminator.logits(fake))
    optimizers["generator"].zero_grad(set_to_none=True)
    g_loss.backward()
    optimizers["generator"].step()
    discriminator.requires_grad_(True)
    return {
        "d_loss": d.loss.detach(),
        "g_loss": g_loss.detach(),
        "jsd": d.jsd.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),  # mean D(x)
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),  # mean D(G(z))
    }


GAN_FAMILY = Family(
    name="gan",
    title="GAN",
    build=build,
    step=gan_step,
    parts={"discriminator_loss": losses.discriminator_loss, "generator_loss": losses.generator_loss},
    sample_role="generator",
    value_range="symmetric",  # the generator ends in tanh
    metrics=("d_loss", "g_loss", "jsd", "d_real", "d_fake"),
    loss_panels=(
        ("Losses", ("d_loss", "g_loss")),
        ("Jensen-Shannon estimate (nats)", ("jsd",)),
        ("Discriminator outputs", ("d_real", "d_fake")),
    ),
    labels={"d_loss": "discriminator", "g_loss": "generator", "jsd": "JSD ~ log 2 - L_D / 2",
            "d_real": "mean D(x)", "d_fake": "mean D(G(z))"},
    reference_lines={"jsd": ((math.log(2), "log 2 (perfect D)", "--"), (0.0, "0 (D guesses)", ":"))},
    seed_settings=Settings(64, 1e-4, (0.5, 0.999), "the seed study: Adam, lr 1e-4, batch 64"),
    paper_settings=Settings(128, 2e-4, (0.5, 0.999), "DCGAN (Radford et al. 2016): Adam, lr 2e-4, beta1 0.5, batch 128"),
    layout=torch.channels_last,  # oneDNN and cuDNN convolve it without layout conversions (5-15% faster steps)
    precisions=("fp32", "bf16"),
    notebooks={"mnist": "03_gan_mnist.ipynb", "cifar10": "04_gan_cifar10.ipynb"},
    # cpu-fast: DCGAN's own lr 2e-4 (Radford et al. 2016) at half width: ~4x the images per second.
    # precision auto: bf16 where the CPU has it natively and a probe measures it faster. At equal
    # steps (2 epochs of MNIST, 3 seeds) bf16 scored fd 7.01 +- 0.51 against fp32's 6.97 +- 0.29 for the
    # GAN, and 13.18 +- 2.47 against 13.96 +- 0.68 for the WGAN-GP: no worse (docs/speed.md, "bf16 where the CPU has it").
    presets={"cpu-fast": {"mnist": {"width": 32, "lr": 2e-4, "time_budget": 5.0, "precision": "auto"},
                          "cifar10": {"width": 32, "lr": 2e-4, "time_budget": 10.0, "precision": "auto"}}},
    in_seed_study=True,
)
