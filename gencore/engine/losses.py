"""Losses as plain functions of tensors. Each returns the value to minimise and the parts
worth logging, so the training loop and the tests see the same numbers."""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

LOG_2 = math.log(2.0)


class VAELoss(NamedTuple):
    total: torch.Tensor  # mse + kl, summed over the batch (the seed's reduction)
    mse: torch.Tensor  # squared error summed over pixels and batch
    kl: torch.Tensor  # KL(q(z|x) || N(0, I)) summed over latent dims and batch


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) in closed form, summed over latent dimensions and
    batch (Kingma & Welling 2014, Appendix B): -0.5 * sum(1 + log_var - mean^2 - exp(log_var))."""
    return -0.5 * torch.sum(1.0 + log_var - mean.pow(2) - log_var.exp())


def vae_loss(recon: torch.Tensor, x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor,
             kl: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = kl_divergence,
             variance: float = 0.5) -> VAELoss:
    """The seed's VAE loss: squared error summed over pixels and batch, plus the KL term
    (``kl``: the closed form above, or a learner's own). ``variance`` is the Gaussian decoder's
    sigma^2: the total weighs the squared error by 1/(2 sigma^2), which is exactly 1 at the seed's 1/2."""
    mse = F.mse_loss(recon, x, reduction="sum")
    kl_value = kl(mean, log_var)
    return VAELoss(mse / (2.0 * variance) + kl_value if variance != 0.5 else mse + kl_value, mse, kl_value)


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """-log N(x; mean, exp(log_var)), summed over pixels and batch like the seed's squared error:
    0.5 * sum(log(2 pi) + log_var + (x - mean)^2 / exp(log_var)). ``log_var`` broadcasts: one number
    (a global decoder variance) or one per pixel. At variance 1/2 it is the summed squared error
    plus n/2 log(pi): the seed's loss is this likelihood with the variance fixed at 1/2."""
    log_var = torch.as_tensor(log_var, dtype=x.dtype, device=x.device).expand_as(x)
    return 0.5 * torch.sum(math.log(2 * math.pi) + log_var + (x - mean).pow(2) / log_var.exp())


class DiscriminatorLoss(NamedTuple):
    loss: torch.Tensor  # L_D = BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean
    jsd: torch.Tensor  # Jensen-Shannon estimate log 2 - L_D / 2, in nats


LEVELS = 256  # 8-bit images: a pixel takes one of 256 intensities


def discretised_gaussian_nll(x: torch.Tensor, mean: torch.Tensor, sigma: float) -> torch.Tensor:
    """-log P(x | mean, sigma) in nats per image (B,), for 8-bit images x (B, ...) uint8 and
    decoder means in [0, 1]: each pixel's probability is the Gaussian's mass over its intensity
    bin [(k - 1/2)/255, (k + 1/2)/255], renormalised over the bins' whole range [-1/2, 255 + 1/2]/255.

    A proper probability over the 256 levels: a very wide Gaussian gives each level 1/256
    (8 bits per pixel), a sharp and correct one approaches 1 (0 bits). In float64 with the
    log-CDF, so far tails stay finite."""
    if x.dtype != torch.uint8:
        raise TypeError("discretised_gaussian_nll takes the 8-bit images themselves (uint8)")
    half = 0.5 / (LEVELS - 1)  # half a bin, in [0, 1] units
    mu = mean.double()
    level = x.double() / (LEVELS - 1)
    log_bin = _log_normal_mass((level - half - mu) / sigma, (level + half - mu) / sigma)
    log_range = _log_normal_mass((-half - mu) / sigma, (1.0 + half - mu) / sigma)
    return -(log_bin - log_range).flatten(1).sum(1)


def _log_normal_mass(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(Phi(b) - Phi(a)) for a < b, stable in both tails (mirrored so both sit left of 0)."""
    right = a > 0
    low, high = torch.where(right, -b, a), torch.where(right, -a, b)
    log_low, log_high = torch.special.log_ndtr(low), torch.special.log_ndtr(high)
    return log_high + torch.log(-torch.expm1(log_low - log_high))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> DiscriminatorLoss:
    """BCE discriminator loss from pre-sigmoid scores, and the Jensen-Shannon estimate it implies.

    At the optimal discriminator, L_D = 2 log 2 - 2 JSD(p_data || p_g) (Goodfellow et al. 2014,
    Theorem 1), so JSD ~ log 2 - L_D / 2: 0 when D cannot tell (D = 1/2), log 2 when it always can.
    For any other discriminator the estimate is, in expectation, a lower bound of the JSD (so a
    batch's estimate can go below 0).
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    loss = real + fake
    return DiscriminatorLoss(loss, LOG_2 - loss.detach() / 2.0)


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss BCE(D(G(z)), 1): the heuristic of Goodfellow et al. 2014,
    section 3, which keeps gradients alive while D still wins easily."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


class CriticLoss(NamedTuple):
    loss: torch.Tensor  # -(E[f(x)] - E[f(G(z))]); the gradient penalty is added by the caller
    emd: torch.Tensor  # Earth Mover estimate E[f(x)] - E[f(G(z))]


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> CriticLoss:
    """The critic maximises the score gap (Arjovsky et al. 2017, eq. 3): for any 1-Lipschitz critic a
    lower bound of W1 (Kantorovich-Rubinstein duality), W1 itself at the best one."""
    emd = real_scores.mean() - fake_scores.mean()
    return CriticLoss(-emd, emd.detach())


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator raises the critic's score of its samples: -E[f(G(z))]."""
    return -fake_scores.mean()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E[(||grad f(x_hat)||_2 - 1)^2] at random interpolates x_hat = a x + (1 - a) x_fake,
    a ~ U[0, 1] per sample (Gulrajani et al. 2017, Algorithm 1). Unweighted: the caller
    multiplies by lambda. The graph is kept so the penalty trains the critic."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    interpolates = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(interpolates)
    (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    # The tiny constant keeps the norm differentiable where a gradient is exactly zero.
    norms = torch.sqrt(gradients.flatten(1).pow(2).sum(1) + 1e-12)
    return (norms - 1.0).pow(2).mean()
