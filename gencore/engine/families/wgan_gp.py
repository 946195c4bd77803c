"""The WGAN-GP family: DCGAN's generator against a critic without sigmoid or batch norm, trained
on the Earth Mover estimate with a gradient penalty (Gulrajani et al. 2017, Algorithm 1)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gencore.engine import losses
from gencore.engine.families.base import Family, Metrics, Models, Optimizers, Parts, RunConfig, Settings
from gencore.engine.families.settings import setting
from gencore.engine.models.gan import CRITIC_NORMS, Critic, Generator


@dataclass(frozen=True)
class WganGpSettings:
    """The WGAN-GP's own settings (Gulrajani et al. 2017, Algorithm 1)."""

    n_critic: int = setting(5, help="WGAN-GP critic steps per generator step (default 5)",
                            why="Gulrajani et al. 2017: five critic updates per generator update",
                            minimum=1, maximum=100, always_named=True)
    gp_weight: float = setting(10.0, help="WGAN-GP gradient penalty weight lambda (default 10)",
                               why="Gulrajani et al. 2017: lambda = 10 in every experiment", minimum=0.0,
                               always_named=True)
    # "none" is the seed's critic; "layer" is the per-image layer norm that Gulrajani et al. 2017 (section 4)
    # recommend in batch norm's place: on CIFAR-10 it keeps the critic seeing what the unnormalised one
    # stops seeing (docs/speed.md).
    critic_norm: str = setting("none", help="WGAN-GP critic normalisation: none (default, the seed's critic) or layer "
                                            "(per-image layer norm in batch norm's place, as Gulrajani et al. 2017 recommend)",
                               why="the seed's critic has no normalisation", choices=CRITIC_NORMS, shapes_weights=True)


def build(config: RunConfig, image_shape: tuple[int, int, int]) -> Models:
    return {"generator": Generator(image_shape, config.latent_dim, config.width),
            "critic": Critic(image_shape, config.width, config.critic_norm)}


def critic_update(critic: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, fake: torch.Tensor,
                  gp_weight: float, parts: Parts) -> Metrics:
    """One critic step on real images x and samples fake, both (B, C, H, W) in [-1, 1]."""
    c = parts["critic_loss"](critic(x), critic(fake))  # -(E[f(x)] - E[f(G(z))]), and the Earth Mover estimate
    penalty = parts["gradient_penalty"](critic, x, fake)  # E[(||grad f(x_hat)|| - 1)^2] at random interpolates
    loss = c.loss + gp_weight * penalty
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"critic_loss": loss.detach(), "emd": c.emd.detach(), "gp": penalty.detach()}


def wgan_gp_step(models: Models, optimizers: Optimizers, x: torch.Tensor, labels: torch.Tensor, config: RunConfig,
                 step: int, parts: Parts) -> Metrics:
    """One critic update per batch x in [-1, 1] (its labels unused: the WGAN-GP is unconditional);
    one generator update after every n_critic of them."""
    generator, critic = models["generator"], models["critic"]
    with torch.no_grad():  # the critic's update needs samples, not the generator's gradients
        fake = generator(torch.randn(x.shape[0], config.latent_dim, device=x.device))  # (B, C, H, W)
    metrics = critic_update(critic, optimizers["critic"], x, fake, config.gp_weight, parts)
    if (step + 1) % config.n_critic == 0:
        # Generator: raise the critic's score of fresh samples, -E[f(G(z))], with the critic frozen.
        critic.requires_grad_(False)
        fake = generator(torch.randn(x.shape[0], config.latent_dim, device=x.device))
        g_loss = parts["generator_loss"](critic(fake))
        optimizers["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["generator"].step()
        critic.requires_grad_(True)
        metrics["g_loss"] = g_loss.detach()
    return metrics


WGAN_GP_FAMILY = Family(
    name="wgan-gp",
    title="WGAN-GP",
    build=build,
    step=wgan_gp_step,
    parts={"critic_loss": losses.critic_loss, "gradient_penalty": losses.gradient_penalty,
           "generator_loss": losses.wasserstein_generator_loss},
    sample_role="generator",
    value_range="symmetric",  # the generator ends in tanh
    metrics=("critic_loss", "g_loss", "emd", "gp"),
    loss_panels=(
        ("Losses", ("critic_loss", "g_loss")),
        ("Earth Mover estimate", ("emd",)),
        ("Gradient penalty", ("gp",)),
    ),
    labels={"critic_loss": "critic (incl. penalty)", "g_loss": "generator", "emd": "E[f(x)] - E[f(G(z))]",
            "gp": "penalty (unweighted)"},
    reference_lines={},
    seed_settings=Settings(64, 5e-5, (0.0, 0.9), "the seed study: Adam, lr 5e-5, batch 64"),
    paper_settings=Settings(64, 1e-4, (0.0, 0.9), "Gulrajani et al. 2017, Algorithm 1: Adam, lr 1e-4, betas (0, 0.9), batch 64"),
    layout=torch.channels_last,  # oneDNN and cuDNN convolve it without layout conversions (5-15% faster steps)
    precisions=("fp32", "bf16"),
    own_settings=WganGpSettings,
    steps_per_update=lambda config: config.n_critic,  # one generator update per n_critic critic steps
    notebooks={"mnist": "05_wgan_gp_mnist.ipynb", "cifar10": "06_wgan_gp_cifar10.ipynb"},
    # cpu-fast: WGAN-GP updates its generator once per n_critic batches. MNIST: in 5 CPU minutes the
    # paper's n_critic=5 at width 32 gave ~480 generator steps (blobs); quarter width and 2 critic steps
    # give ~2,300, and at lr 4e-4 they reach fd 6.9 against 9.6 at 2e-4 in the same 5 minutes (n_critic
    # 1 fell to fd 21.9). CIFAR-10: width 16 with 2 critic steps draws checkerboard texture (fd 13.55
    # in 10 minutes); the paper's 5 critic steps at width 32 with a layer-norm critic draw layouts (fd
    # 8.44 in the same 10 minutes, docs/speed.md). The seed's settings remain the defaults.
    presets={"cpu-fast": {
        "mnist": {"width": 16, "n_critic": 2, "lr": 4e-4, "time_budget": 5.0, "precision": "auto"},
        "cifar10": {"width": 32, "n_critic": 5, "critic_norm": "layer", "lr": 2e-4, "time_budget": 10.0,
                    "precision": "auto"}}},
    in_seed_study=True,
)
