"""The losses against closed forms and references."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gencore.engine import losses


def test_kl_matches_monte_carlo_and_closed_form() -> None:
    torch.manual_seed(0)
    mean = torch.tensor([[0.5, -1.0, 0.0], [2.0, 0.3, -0.7]])
    log_var = torch.tensor([[0.0, -1.0, 0.8], [-0.5, 0.2, -2.0]])
    x = torch.zeros(2, 1, 2, 2)
    kl = losses.vae_loss(x, x, mean, log_var).kl
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    z = q.sample((400_000,))
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(dim=(1, 2)).mean()
    assert kl.item() == pytest.approx(monte_carlo.item(), rel=0.01)
    assert kl.item() == pytest.approx(torch.distributions.kl_divergence(q, p).sum().item(), rel=1e-5)


def test_kl_is_zero_at_the_prior() -> None:
    zeros = torch.zeros(5, 8)
    x = torch.rand(5, 1, 4, 4)
    assert losses.vae_loss(x, x, zeros, zeros).kl.item() == pytest.approx(0.0, abs=1e-7)


def test_mse_is_a_sum_over_pixels_and_batch() -> None:
    torch.manual_seed(1)
    recon, x = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    loss = losses.vae_loss(recon, x, torch.zeros(3, 2), torch.zeros(3, 2))
    assert loss.mse.item() == pytest.approx(((recon - x) ** 2).sum().item(), rel=1e-6)
    assert loss.total.item() == pytest.approx(loss.mse.item() + loss.kl.item(), rel=1e-6)


def test_jsd_estimate_is_zero_when_d_guesses() -> None:
    half = torch.zeros(64)  # logit 0 is D = 0.5
    d = losses.discriminator_loss(half, half)
    assert d.loss.item() == pytest.approx(2 * math.log(2), rel=1e-6)
    assert d.jsd.item() == pytest.approx(0.0, abs=1e-6)


def test_jsd_estimate_rises_to_log2_as_d_separates() -> None:
    estimates = [losses.discriminator_loss(torch.full((8,), s), torch.full((8,), -s)).jsd.item() for s in (0.5, 2.0, 5.0, 20.0)]
    assert estimates == sorted(estimates)
    assert estimates[-1] == pytest.approx(math.log(2), abs=1e-6)


def test_jsd_estimate_is_exact_at_the_optimal_discriminator() -> None:
    """Goodfellow et al. 2014, Theorem 1: with D* = p / (p + q), log 2 - L_D / 2 = JSD(p || q)."""
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.1, 0.3, 0.6])
    d_star = p / (p + q)
    logits = torch.log(d_star / (1 - d_star))
    # Batches whose empirical distributions are exactly p and q (10 draws each).
    real = logits.repeat_interleave((p * 10).round().long())
    fake = logits.repeat_interleave((q * 10).round().long())
    m = (p + q) / 2
    jsd = 0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()
    assert losses.discriminator_loss(real, fake).jsd.item() == pytest.approx(jsd.item(), rel=1e-5)


def test_generator_loss_is_non_saturating_bce() -> None:
    logits = torch.tensor([-3.0, 0.0, 2.0])
    expected = -torch.log(torch.sigmoid(logits)).mean()
    assert losses.generator_loss(logits).item() == pytest.approx(expected.item(), rel=1e-6)


def test_critic_loss_is_the_negative_score_gap() -> None:
    real, fake = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, 0.0])
    c = losses.critic_loss(real, fake)
    assert c.emd.item() == pytest.approx(2.5)
    assert c.loss.item() == pytest.approx(-2.5)
    assert losses.wasserstein_generator_loss(fake).item() == pytest.approx(0.5)


class Linear(nn.Module):
    """f(x) = w . x + b: its gradient is w everywhere, so the penalty is (||w|| - 1)^2."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w.flatten() + self.b


@pytest.mark.parametrize("norm", [1.0, 0.25, 3.0])
def test_gradient_penalty_of_a_linear_critic(norm: float) -> None:
    torch.manual_seed(2)
    w = torch.randn(1, 8, 8)
    critic = Linear(w / w.norm() * norm)
    real, fake = torch.randn(16, 1, 8, 8), torch.randn(16, 1, 8, 8)
    penalty = losses.gradient_penalty(critic, real, fake)
    assert penalty.item() == pytest.approx((norm - 1.0) ** 2, abs=1e-6)
    penalty.backward()  # the penalty must train the critic: its graph reaches w
    expected = 0.0 if norm == 1.0 else 2 * (norm - 1.0)
    assert critic.w.grad.norm().item() == pytest.approx(abs(expected), abs=1e-4)


def test_gradient_penalty_uses_uniform_alpha_per_sample() -> None:
    """f(x) = ||x||^2 / 2 has gradient x. With real = a, fake = 0, the interpolate is alpha*a,
    so E[(alpha*a - 1)^2] = a^2/3 - a + 1 for alpha ~ U[0, 1] drawn per sample."""
    torch.manual_seed(3)
    a = 3.0
    quadratic = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731
    real, fake = torch.full((200_000, 1, 1, 1), a), torch.zeros(200_000, 1, 1, 1)
    penalty = losses.gradient_penalty(quadratic, real, fake)
    assert penalty.item() == pytest.approx(a * a / 3 - a + 1, rel=0.01)


# ---------------------------------------------------------------------- the decoder variance


def test_the_vae_loss_weighs_the_squared_error_by_one_over_twice_the_decoder_variance() -> None:
    torch.manual_seed(0)
    x, recon = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    mean, log_var = torch.randn(4, 8), torch.randn(4, 8)
    seed = losses.vae_loss(recon, x, mean, log_var)
    assert torch.equal(seed.total, seed.mse + seed.kl)  # variance 1/2: exactly the seed's sum, bit for bit
    fitted = losses.vae_loss(recon, x, mean, log_var, variance=0.02)
    assert torch.allclose(fitted.total, seed.mse / 0.04 + seed.kl) and torch.equal(fitted.mse, seed.mse)
    # The total is the Gaussian likelihood at that variance, up to its constant D/2 log(2 pi sigma^2).
    nll = losses.gaussian_nll(x, recon, torch.tensor(math.log(0.02)))
    assert float(fitted.total - fitted.kl) == pytest.approx(float(nll) - 4 * 784 / 2 * math.log(2 * math.pi * 0.02), rel=1e-5)


def test_the_decoder_variance_is_checked_and_leaves_the_seeds_run_names_alone() -> None:
    from gencore.engine.config import TrainConfig
    from gencore.engine.errors import GencoreError
    from gencore.runs.start import run_name

    for bad in (0, -1, "x"):
        with pytest.raises(GencoreError, match="decoder_variance"):
            TrainConfig(model="vae", decoder_variance=bad)
    assert run_name(TrainConfig(model="vae")) == "vae-mnist-z64-e20-s0-03d65eb1"  # the name it had before the knob
    assert run_name(TrainConfig(model="vae", decoder_variance=0.02)) != run_name(TrainConfig(model="vae"))
