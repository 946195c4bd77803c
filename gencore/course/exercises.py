"""The course's exercises and their checks. A learner writes a function (the reparameterisation,
the KL term, the GAN and WGAN-GP losses, the gradient penalty, a Gaussian likelihood, a
checkerboard measure, a rank correlation, the class as image channels, the diffusion
forward process and a DDIM step); ``check(name, fn)`` tests it against closed forms,
case by case, and says which case failed with the expected and the obtained value. The exercises
of the MNIST notebooks are parts of a family's step (gencore.engine.families), so the function that
passes can train a model: ``Trainer(config, overrides={name: fn})``.

Each exercise is a record (``EXERCISES``): the notebook that asks for it, its points, its cases,
gencore's own answer and, where the answer is deterministic, hidden cases for a grader (its
output agrees with gencore's on inputs the learner never saw). Under a grader (nbgrader's
autograde or validate, or ``GENCORE_GRADING=1``) an unanswered exercise fails its check; working
alone, a learner's unanswered exercise falls back to gencore's function so the notebook runs on.

The answer is one import away (the notebooks import the package that holds it), so a check
watches every Python call made while its cases run the learner's function (``sys.setprofile``):
code from the gencore package, apart from this checker's own cases and fixtures, means the
function handed the work to gencore, by whatever route (the module attribute, a name taken
before the check, a family's parts, ``reference``). Under a grader the check then fails with one
line saying so; working alone, it passes with a note that a grader would not accept it.
``reference`` hands out no answer under a grader or in the student edition.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from gencore.course import lessons
from gencore.engine import losses
from gencore.engine.families import FAMILIES, Family


class ExerciseFailed(AssertionError):
    """A learner's function gave a wrong value in one of the check's cases."""


@dataclass
class Case:
    """One check: a description, and a function of the learner's function returning
    (passed, expected, obtained)."""

    description: str
    run: Callable[[Callable[..., Any]], tuple[bool, Any, Any]]


def _close(obtained: Any, expected: float, rel: float = 1e-4, abs_: float = 1e-6) -> tuple[bool, Any, Any]:
    value = float(obtained.detach()) if isinstance(obtained, torch.Tensor) and obtained.numel() == 1 else obtained
    if not isinstance(value, float):
        return False, f"a single number close to {expected:.6g}", _describe(obtained)
    return math.isclose(value, expected, rel_tol=rel, abs_tol=abs_), round(expected, 6), round(value, 6)


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}" + (f" = {value.item():.6g}" if value.numel() == 1 else "")
    return repr(value)[:80]


def _parts(result: Any) -> tuple[Any, Any]:
    """(loss, estimate) from a NamedTuple with .loss and a second field, or any pair."""
    if isinstance(result, tuple) and len(result) == 2:
        return result[0], result[1]
    raise TypeError(f"expected (loss, estimate), got {_describe(result)}")


# ---------------------------------------------------------------------- the VAE


def _reparameterize_cases() -> list[Case]:
    def shape(fn: Callable) -> tuple[bool, Any, Any]:
        z = fn(torch.zeros(3, 5), torch.zeros(3, 5))
        return isinstance(z, torch.Tensor) and tuple(z.shape) == (3, 5), "shape (3, 5)", _describe(z)

    def no_variance(fn: Callable) -> tuple[bool, Any, Any]:
        mean = torch.tensor([[0.5, -1.5, 3.0]])
        z = fn(mean, torch.full_like(mean, -60.0))  # sigma = exp(-30): z must be the mean
        return torch.allclose(z, mean, atol=1e-6), mean.tolist(), [round(v, 6) for v in z.flatten().tolist()]

    def moments(fn: Callable) -> tuple[bool, Any, Any]:
        torch.manual_seed(0)
        mean = torch.tensor([1.0, -2.0]).repeat(200_000, 1)
        log_var = torch.tensor([math.log(4.0), math.log(0.25)]).repeat(200_000, 1)  # sigma = 2 and 0.5
        z = fn(mean, log_var)
        got = [round(v, 3) for v in z.mean(0).tolist() + z.std(0).tolist()]
        ok = all(math.isclose(a, b, abs_tol=0.02, rel_tol=0.02) for a, b in zip(got, [1.0, -2.0, 2.0, 0.5]))
        return ok, "means [1, -2], standard deviations [2, 0.5] (sigma = exp(log_var / 2))", f"means {got[:2]}, sds {got[2:]}"

    def gradients(fn: Callable) -> tuple[bool, Any, Any]:
        mean = torch.tensor([[0.3, -0.2]], requires_grad=True)
        log_var = torch.tensor([[0.4, -1.0]], requires_grad=True)
        z = fn(mean, log_var)
        if not z.requires_grad:
            return False, "z depends on mean and log_var through autograd", "z has no gradient (sampled outside the graph?)"
        z.sum().backward()
        expected_log_var_grad = 0.5 * (z.detach() - mean.detach())  # dz/dlog_var = eps * sigma / 2
        ok = (mean.grad is not None and torch.allclose(mean.grad, torch.ones_like(mean))
              and log_var.grad is not None and torch.allclose(log_var.grad, expected_log_var_grad, atol=1e-6))
        return ok, "dz/dmean = 1, dz/dlog_var = (z - mean) / 2", f"{mean.grad}, {log_var.grad}"

    def seeded(fn: Callable) -> tuple[bool, Any, Any]:
        draws = []
        for _ in range(2):
            torch.manual_seed(7)
            draws.append(fn(torch.zeros(4, 3), torch.zeros(4, 3)))
        different = not torch.equal(draws[0], fn(torch.zeros(4, 3), torch.zeros(4, 3)))
        return torch.equal(draws[0], draws[1]) and different, "eps from torch's seeded generator (randn_like)", \
            "the same seed gave different draws, or every draw is the same"

    return [Case("z has the shape of mean", shape), Case("with no variance, z is the mean", no_variance),
            Case("z ~ N(mean, exp(log_var)): the draws' means and standard deviations", moments),
            Case("gradients flow to mean and log_var (the reparameterisation trick)", gradients),
            Case("eps comes from torch's seeded random generator", seeded)]


def _kl_cases() -> list[Case]:
    def prior(fn: Callable) -> tuple[bool, Any, Any]:
        return _close(fn(torch.zeros(4, 6), torch.zeros(4, 6)), 0.0)

    def closed_form(fn: Callable) -> tuple[bool, Any, Any]:
        torch.manual_seed(1)
        mean, log_var = torch.randn(4, 3), torch.randn(4, 3)
        q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
        p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
        return _close(fn(mean, log_var), float(torch.distributions.kl_divergence(q, p).sum()), rel=1e-5)

    def summed(fn: Callable) -> tuple[bool, Any, Any]:
        mean, log_var = torch.tensor([[1.0, -0.5]]), torch.tensor([[0.5, -0.3]])
        one = float(fn(mean, log_var))
        return _close(fn(mean.repeat(3, 1), log_var.repeat(3, 1)), 3 * one)

    def gradients(fn: Callable) -> tuple[bool, Any, Any]:
        mean = torch.tensor([[0.7, -1.2]], requires_grad=True)
        log_var = torch.tensor([[0.2, -0.6]], requires_grad=True)
        fn(mean, log_var).backward()
        expected = mean.detach().tolist() + (0.5 * (log_var.detach().exp() - 1)).tolist()
        obtained = (mean.grad.tolist() if mean.grad is not None else None, log_var.grad.tolist() if log_var.grad is not None else None)
        ok = mean.grad is not None and log_var.grad is not None and torch.allclose(mean.grad, mean.detach()) and \
            torch.allclose(log_var.grad, 0.5 * (log_var.detach().exp() - 1), atol=1e-6)
        return ok, f"dKL/dmean = mean, dKL/dlog_var = (exp(log_var) - 1) / 2: {expected}", obtained

    return [Case("zero when q(z|x) is the prior N(0, I)", prior),
            Case("equals torch.distributions' KL(N(mean, sigma^2) || N(0, 1)), summed", closed_form),
            Case("summed over the batch, not averaged (3 equal rows give 3 times one row)", summed),
            Case("its gradients are mean and (exp(log_var) - 1) / 2", gradients)]


# ---------------------------------------------------------------------- the GAN


def _discriminator_cases() -> list[Case]:
    def guessing(fn: Callable) -> tuple[bool, Any, Any]:
        loss, jsd = _parts(fn(torch.zeros(16), torch.zeros(16)))  # logit 0: D = 1/2 everywhere
        ok_loss, _, got_loss = _close(loss, 2 * math.log(2))
        ok_jsd, _, got_jsd = _close(jsd, 0.0)
        return ok_loss and ok_jsd, f"loss 2 log 2 = {2 * math.log(2):.6f}, jsd 0", f"loss {got_loss}, jsd {got_jsd}"

    def certain(fn: Callable) -> tuple[bool, Any, Any]:
        loss, jsd = _parts(fn(torch.full((8,), 20.0), torch.full((8,), -20.0)))
        ok_loss, _, got_loss = _close(loss, 0.0, abs_=1e-6)
        ok_jsd, _, got_jsd = _close(jsd, math.log(2))
        return ok_loss and ok_jsd, f"loss 0, jsd log 2 = {math.log(2):.6f}", f"loss {got_loss}, jsd {got_jsd}"

    def bce(fn: Callable) -> tuple[bool, Any, Any]:
        torch.manual_seed(2)
        real, fake = torch.randn(6), torch.randn(10)
        expected = float(-F.logsigmoid(real).mean() - F.logsigmoid(-fake).mean())
        return _close(_parts(fn(real, fake))[0], expected, rel=1e-5)

    def optimal(fn: Callable) -> tuple[bool, Any, Any]:
        p, q = torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.1, 0.3, 0.6])
        d_star = p / (p + q)
        logits = torch.log(d_star / (1 - d_star))
        real = logits.repeat_interleave((p * 10).round().long())
        fake = logits.repeat_interleave((q * 10).round().long())
        m = (p + q) / 2
        jsd = float(0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum())
        return _close(_parts(fn(real, fake))[1], jsd, rel=1e-5)

    def trains(fn: Callable) -> tuple[bool, Any, Any]:
        real = torch.tensor([0.5, -1.0], requires_grad=True)
        loss, _ = _parts(fn(real, torch.zeros(3)))
        loss.backward()
        expected = (-(1 - torch.sigmoid(real.detach())) / 2).tolist()
        ok = real.grad is not None and torch.allclose(real.grad, torch.tensor(expected), atol=1e-6)
        return ok, f"dL_D/d(real logits) = -(1 - D(x)) / B = {[round(v, 4) for v in expected]}", \
            None if real.grad is None else [round(v, 4) for v in real.grad.tolist()]

    return [Case("D guesses (every logit 0): L_D = 2 log 2 and the JSD estimate is 0", guessing),
            Case("D is certain and right: L_D = 0 and the JSD estimate is log 2", certain),
            Case("L_D = BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean, from logits", bce),
            Case("the JSD estimate is exact at the optimal D* = p / (p + q) (Goodfellow et al. 2014, Theorem 1)", optimal),
            Case("the loss trains D: its gradient reaches the real logits", trains)]


def _generator_cases() -> list[Case]:
    def value(fn: Callable) -> tuple[bool, Any, Any]:
        logits = torch.tensor([-3.0, 0.0, 2.0])
        return _close(fn(logits), float(-F.logsigmoid(logits).mean()), rel=1e-5)

    def non_saturating(fn: Callable) -> tuple[bool, Any, Any]:
        logits = torch.full((4,), -10.0, requires_grad=True)  # D(G(z)) = 4.5e-5: D rejects every sample
        fn(logits).backward()
        got = None if logits.grad is None else float(logits.grad.abs().sum())
        return got is not None and got > 0.9, "|gradient| near 1 (summed over the batch), as for -log D(G(z))", \
            f"{got} (log(1 - D(G(z))) would give 4.5e-5: the saturating loss)"

    return [Case("BCE(D(G(z)), 1) = -mean log D(G(z)), from logits", value),
            Case("non-saturating: the gradient stays large while D rejects the samples", non_saturating)]


# ---------------------------------------------------------------------- the WGAN-GP


class _Linear(nn.Module):
    """f(x) = w . x + b: its gradient is w everywhere, so its penalty is (||w|| - 1)^2."""

    def __init__(self, norm: float, shape: tuple[int, ...] = (1, 4, 4)) -> None:
        super().__init__()
        w = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
        self.w = nn.Parameter(w / w.norm() * norm)
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w.flatten() + self.b


def _critic_cases() -> list[Case]:
    def gap(fn: Callable) -> tuple[bool, Any, Any]:
        loss, emd = _parts(fn(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, 0.0])))
        ok_emd, _, got_emd = _close(emd, 2.5)
        ok_loss, _, got_loss = _close(loss, -2.5)
        return ok_emd and ok_loss, "emd = mean f(x) - mean f(G(z)) = 2 - (-0.5) = 2.5, loss = -2.5", \
            f"emd {got_emd}, loss {got_loss}"

    def gradient(fn: Callable) -> tuple[bool, Any, Any]:
        real = torch.tensor([1.0, 2.0], requires_grad=True)
        fake = torch.tensor([0.0, 1.0, 5.0, 2.0], requires_grad=True)
        _parts(fn(real, fake))[0].backward()
        got = (None if real.grad is None else real.grad.tolist(), None if fake.grad is None else fake.grad.tolist())
        ok = got[0] == [-0.5, -0.5] and got[1] == [0.25] * 4
        return ok, "the critic raises f(x) and lowers f(G(z)): gradients -1/2 per real, +1/4 per fake score", got

    return [Case("the Earth Mover estimate is the score gap of the means, and the loss its negative", gap),
            Case("minimising the loss widens the gap (the sign and the means)", gradient)]


def _penalty_cases() -> list[Case]:
    def run_linear(fn: Callable, norm: float, batch: int) -> tuple[Any, _Linear]:
        torch.manual_seed(4)
        critic = _Linear(norm)
        return fn(critic, torch.randn(batch, 1, 4, 4), torch.randn(batch, 1, 4, 4)), critic

    def lipschitz(fn: Callable) -> tuple[bool, Any, Any]:
        return _close(run_linear(fn, 1.0, 8)[0], 0.0, abs_=1e-5)

    def per_sample(fn: Callable) -> tuple[bool, Any, Any]:
        value, _ = run_linear(fn, 3.0, 16)
        ok, expected, obtained = _close(value, 4.0, rel=1e-4)
        note = " (a norm over the whole batch gives (4 * 3 - 1)^2 = 121)" if isinstance(obtained, float) and obtained > 50 else ""
        return ok, expected, f"{obtained}{note}"

    def uniform_alpha(fn: Callable) -> tuple[bool, Any, Any]:
        # f(x) = ||x||^2 / 2 has gradient x. With real = 2 and fake = 0, x_hat = 2 alpha and the norm is |2 alpha|,
        # so E[(|2 alpha| - 1)^2] = 1/3 for alpha ~ U[0, 1]; alpha = 1 (real points only) gives 1, and alpha ~ N(0, 1)
        # gives 5 - 4 sqrt(2/pi), about 1.81.
        torch.manual_seed(5)
        quadratic = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731
        return _close(fn(quadratic, torch.full((200_000, 1, 1, 1), 2.0), torch.zeros(200_000, 1, 1, 1)), 1 / 3, rel=0.02)

    def drawn_per_sample(fn: Callable) -> tuple[bool, Any, Any]:
        torch.manual_seed(6)
        quadratic = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731
        values = [float(fn(quadratic, torch.full((2000, 1, 1, 1), 2.0), torch.zeros(2000, 1, 1, 1)).detach())
                  for _ in range(20)]
        ok = all(abs(v - 1 / 3) < 0.05 for v in values)
        spread = max(values) - min(values)
        note = " (one alpha shared by a whole batch varies like this from batch to batch)" if spread > 0.3 else ""
        return ok, "1/3 +- 0.05 in each of 20 batches (one alpha per sample averages out)", \
            f"from {min(values):.3f} to {max(values):.3f}{note}"

    def trains(fn: Callable) -> tuple[bool, Any, Any]:
        value, critic = run_linear(fn, 3.0, 8)
        if not value.requires_grad:
            return False, "a penalty the critic's weights can be trained by", "no graph to the critic (create_graph=True?)"
        value.backward()
        got = None if critic.w.grad is None else float(critic.w.grad.norm())
        return got is not None and math.isclose(got, 4.0, rel_tol=1e-4), \
            "||d penalty / dw|| = 2 (||w|| - 1) = 4", got

    return [Case("a critic of gradient norm 1 everywhere has no penalty", lipschitz),
            Case("per-sample gradient norms: a linear critic of norm 3 gives (3 - 1)^2 = 4 on a batch of 16", per_sample),
            Case("interpolates x_hat = alpha x + (1 - alpha) G(z) with alpha ~ U[0, 1]", uniform_alpha),
            Case("alpha is drawn per sample, not once per batch", drawn_per_sample),
            Case("the penalty trains the critic (the gradient's graph is kept)", trains)]


# ---------------------------------------------------------------------- 02: the decoder's likelihood


def _gaussian_nll_cases() -> list[Case]:
    def closed_form(fn: Callable) -> tuple[bool, Any, Any]:
        torch.manual_seed(11)
        x, mean, log_var = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4), torch.randn(3, 1, 4, 4) - 2
        expected = float(-torch.distributions.Normal(mean, (0.5 * log_var).exp()).log_prob(x).sum())
        return _close(fn(x, mean, log_var), expected, rel=1e-5)

    def half_variance(fn: Callable) -> tuple[bool, Any, Any]:
        torch.manual_seed(12)
        x, mean = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
        expected = float((x - mean).pow(2).sum()) + x.numel() / 2 * math.log(math.pi)
        return _close(fn(x, mean, torch.tensor(math.log(0.5))), expected, rel=1e-5)

    def fitted_variance(fn: Callable) -> tuple[bool, Any, Any]:
        torch.manual_seed(13)
        x, mean = torch.rand(4, 1, 6, 6), torch.rand(4, 1, 6, 6)
        mse = float((x - mean).pow(2).mean())
        slopes = []
        for factor in (0.5, 1.0, 2.0):  # below, at and above the mean squared error
            log_var = torch.tensor(math.log(mse * factor), requires_grad=True)
            value = fn(x, mean, log_var)
            if not isinstance(value, torch.Tensor) or not value.requires_grad:
                return False, "a likelihood that depends on log_var through autograd", _describe(value)
            (slope,) = torch.autograd.grad(value, log_var)
            slopes.append(float(slope))
        ok = slopes[0] < 0 and abs(slopes[1]) < 1e-3 * x.numel() and slopes[2] > 0
        return ok, "d/d log_var < 0 below the mean squared error, 0 at it, > 0 above", [round(s, 4) for s in slopes]

    def one_variance(fn: Callable) -> tuple[bool, Any, Any]:
        x, mean = torch.zeros(2, 1, 3, 3), torch.full((2, 1, 3, 3), 0.5)
        expected = 18 * 0.5 * (math.log(2 * math.pi) + math.log(0.1) + 0.25 / 0.1)
        return _close(fn(x, mean, torch.tensor(math.log(0.1))), expected, rel=1e-5)

    return [Case("equals torch.distributions' -log N(x; mean, exp(log_var)), summed over pixels and batch", closed_form),
            Case("a single log_var (one variance for every pixel) broadcasts", one_variance),
            Case("at variance 1/2 it is the summed squared error + (n/2) log(pi): the seed's loss", half_variance),
            Case("the best single variance is the mean squared error (the slope in log_var is 0 there)", fitted_variance)]


# ---------------------------------------------------------------------- 04: checkerboards in the spectrum


def _pattern(kind: str, size: int = 32) -> torch.Tensor:
    i, j = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return {"checkerboard": (-1.0) ** (i + j), "stripes": (-1.0) ** j,
            "wave": torch.cos(2 * math.pi * 3 * j / size)}[kind].float().view(1, 1, size, size)


def _nyquist_cases() -> list[Case]:
    def checkerboard(fn: Callable) -> tuple[bool, Any, Any]:
        return _close(fn(0.5 + 0.25 * _pattern("checkerboard")), 1.0, rel=1e-5)

    def stripes(fn: Callable) -> tuple[bool, Any, Any]:
        return _close(fn(0.5 + 0.25 * _pattern("stripes").repeat(2, 3, 1, 1)), 1.0, rel=1e-5)

    def smooth(fn: Callable) -> tuple[bool, Any, Any]:
        return _close(fn(0.5 + 0.25 * _pattern("wave")), 0.0, abs_=1e-6)

    def mixture(fn: Callable) -> tuple[bool, Any, Any]:
        # Parseval: a checkerboard of amplitude a has energy a^2 per pixel, a cosine of amplitude b has b^2 / 2.
        images = 0.5 + 0.1 * _pattern("checkerboard") + 0.2 * _pattern("wave")
        return _close(fn(images), 0.01 / (0.01 + 0.04 / 2), rel=1e-4)

    def constant(fn: Callable) -> tuple[bool, Any, Any]:
        return _close(fn(torch.full((2, 1, 8, 8), 0.7)), 0.0, abs_=1e-9)

    def noise(fn: Callable) -> tuple[bool, Any, Any]:
        torch.manual_seed(14)
        return _close(fn(torch.rand(400, 1, 16, 16)), (16 + 16 - 1) / (16 * 16 - 1), rel=0.03)

    return [Case("a checkerboard (period 2 in both directions) has all its power at Nyquist: 1", checkerboard),
            Case("stripes of period 2 (one direction) count too, over images and channels: 1", stripes),
            Case("a smooth wave (3 cycles per image) has none: 0", smooth),
            Case("a mixture: the checkerboard's share of the energy, a^2 / (a^2 + b^2 / 2) = 1/3", mixture),
            Case("each image's mean is removed first: a constant image gives 0, not 0/0", constant),
            Case("white noise: (H + W - 1) / (H W - 1) of its power, within 3%", noise)]


# ---------------------------------------------------------------------- 06: a rank correlation


def _spearman_cases() -> list[Case]:
    def rising(fn: Callable) -> tuple[bool, Any, Any]:
        return _close(fn([0.3, 1.2, 2.0, 7.5, 9.0], [-5.0, 0.1, 0.2, 3.0, 100.0]), 1.0, rel=1e-6)

    def falling(fn: Callable) -> tuple[bool, Any, Any]:
        return _close(fn([1.0, 2.0, 3.0, 4.0], [0.9, 0.5, 0.1, -2.0]), -1.0, rel=1e-6)

    def formula(fn: Callable) -> tuple[bool, Any, Any]:
        # ranks (1..6) and (2, 1, 4, 3, 6, 5): sum d^2 = 6, so rho = 1 - 6 * 6 / (6 * 35) = 29/35
        return _close(fn([10.0, 20.0, 30.0, 40.0, 50.0, 60.0], [0.2, 0.1, 0.4, 0.3, 0.6, 0.5]), 29 / 35, rel=1e-6)

    def ranks_only(fn: Callable) -> tuple[bool, Any, Any]:
        a, b = [0.1, 0.7, 0.3, 0.9, 0.5], [3.0, 1.0, 2.0, 5.0, 4.0]
        one = fn(a, b)
        return _close(fn([math.exp(20 * v) for v in a], b), float(one), rel=1e-6)

    return [Case("one list always rises with the other: +1", rising),
            Case("one always falls as the other rises: -1", falling),
            Case("1 - 6 sum d^2 / (n (n^2 - 1)) = 29/35 for ranks that swap in pairs", formula),
            Case("only the order counts: a rising transform of one list leaves rho unchanged", ranks_only)]


# ---------------------------------------------------------------------- 08: the class as image channels


def _class_channel_cases() -> list[Case]:
    def tensor_of(obtained: Any, shape: tuple[int, ...]) -> str | None:
        if not isinstance(obtained, torch.Tensor):
            return f"not a tensor: {_describe(obtained)}"
        return None if tuple(obtained.shape) == shape else f"shape {tuple(obtained.shape)}"

    def image_kept(fn: Callable) -> tuple[bool, Any, Any]:
        images = torch.rand(2, 1, 3, 3, generator=torch.Generator().manual_seed(8))
        out = fn(images, torch.tensor([2, 0]), 4)
        wrong = tensor_of(out, (2, 5, 3, 3))
        if wrong:
            return False, "shape (2, 5, 3, 3): 1 image channel + 4 class channels", wrong
        return bool(torch.equal(out[:, :1], images)), "the first C channels are the images themselves", \
            "they differ from the images" if not torch.equal(out[:, :1], images) else "kept"

    def class_maps(fn: Callable) -> tuple[bool, Any, Any]:
        out = fn(torch.zeros(2, 1, 3, 3), torch.tensor([2, 0]), 4)
        if tensor_of(out, (2, 5, 3, 3)):
            return False, "shape (2, 5, 3, 3)", tensor_of(out, (2, 5, 3, 3))
        per_channel = out[:, 1:].float().mean(dim=(2, 3))  # (B, K): 1 for the class's channel, 0 for the others
        expected = torch.tensor([[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
        return bool(torch.equal(per_channel, expected) and out[:, 1:].min() >= 0), \
            "channel C + y all ones, the other class channels all zeros: " + str(expected.tolist()), \
            "channel means " + str(per_channel.tolist())

    def colour(fn: Callable) -> tuple[bool, Any, Any]:
        images = torch.rand(3, 3, 2, 2, generator=torch.Generator().manual_seed(9)) * 2 - 1
        out = fn(images, torch.tensor([9, 0, 5]), 10)
        wrong = tensor_of(out, (3, 13, 2, 2))
        if wrong:
            return False, "shape (3, 13, 2, 2) for 3 colour images and 10 classes", wrong
        hot = [int(out[i, 3:].float().mean(dim=(1, 2)).argmax()) for i in range(3)]
        ok = torch.equal(out[:, :3], images) and hot == [9, 0, 5] and float(out[:, 3:].sum()) == 3 * 4
        return ok, "images in channels 0-2, then one all-ones map per image at 3 + y: classes [9, 0, 5]", \
            f"the ones in class channels {hot}, {float(out[:, 3:].sum()):g} ones in all"

    def gradient(fn: Callable) -> tuple[bool, Any, Any]:
        images = torch.rand(2, 1, 2, 2, requires_grad=True, generator=torch.Generator().manual_seed(10))
        out = fn(images, torch.tensor([1, 1]), 3)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            return False, "the generator learns through it: gradients reach the images", "no gradient path to the images"
        out.sum().backward()
        got = None if images.grad is None else images.grad.tolist()
        return images.grad is not None and bool((images.grad == 1).all()), "d(sum of the output)/d(image) = 1 everywhere", got

    return [Case("the output is (B, C + K, H, W) and its first C channels are the images", image_kept),
            Case("class channel k is all ones for an image of class k, and zero for the other classes", class_maps),
            Case("colour images and 10 classes: the class maps come after the 3 colour channels", colour),
            Case("gradients pass through to the images (the generator is trained through the discriminator)", gradient)]


# ---------------------------------------------------------------------- hidden cases: agreement with gencore's answer


def _agrees(name: str, inputs: Callable[[torch.Generator], tuple[Any, ...]], draws: int = 3) -> list[Case]:
    """Cases a grader keeps hidden: the learner's output equals gencore's on fresh random inputs (a number to
    rounding, or a whole tensor where gencore's answer is one, such as 08's image with its class channels)."""
    def run(fn: Callable) -> tuple[bool, Any, Any]:
        generator = torch.Generator().manual_seed(2026)
        expected: list[Any] = []
        obtained: list[Any] = []
        for _ in range(draws):
            args = inputs(generator)
            theirs = fn(*args)
            with _checkers_own_call():  # gencore's answer, called by the check itself: not the learner's call
                ours = EXERCISES[name].answer()(*args)
            if isinstance(ours, tuple):
                theirs, ours = _parts(theirs)[0], ours[0]
            if isinstance(ours, torch.Tensor) and ours.numel() > 1:  # a tensor answer: the same shape and values
                same = isinstance(theirs, torch.Tensor) and theirs.shape == ours.shape and torch.allclose(theirs.float(), ours)
                expected.append("gencore's tensor")
                obtained.append("gencore's tensor" if same else _describe(theirs))
                continue
            obtained.append(round(float(theirs), 5) if isinstance(theirs, (torch.Tensor, float)) else _describe(theirs))
            expected.append(round(float(ours), 5))
        ok = all(o == e if isinstance(e, str) else isinstance(o, float) and math.isclose(o, e, rel_tol=1e-4, abs_tol=1e-5)
                 for o, e in zip(obtained, expected))
        return ok, expected, obtained

    return [Case(f"{name} agrees with gencore's on {draws} inputs you have not seen", run)]


# ---------------------------------------------------------------------- 09: the forward process and a reverse step


def _tensor_close(obtained: Any, expected: torch.Tensor, what: str, atol: float = 1e-5) -> tuple[bool, Any, Any]:
    if not isinstance(obtained, torch.Tensor) or obtained.shape != expected.shape:
        return False, f"{what}: a tensor of shape {tuple(expected.shape)}", _describe(obtained)
    gap = float((obtained.float() - expected).abs().max())
    return gap <= atol, f"{what} (largest difference at most {atol:g})", f"largest difference {gap:.3g}"


def _q_sample_cases() -> list[Case]:
    from gencore.engine import diffusion

    schedule = diffusion.linear_schedule(1000)

    def closed_form(fn: Callable) -> tuple[bool, Any, Any]:
        g = torch.Generator().manual_seed(21)
        x0, noise = torch.rand(3, 1, 4, 4, generator=g) * 2 - 1, torch.randn(3, 1, 4, 4, generator=g)
        t = torch.tensor([0, 499, 999])
        abar = schedule.alphas_cumprod[t].view(3, 1, 1, 1)
        return _tensor_close(fn(x0, t, noise, schedule), abar.sqrt() * x0 + (1 - abar).sqrt() * noise,
                             "sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, each image at its own t")

    def moments(fn: Callable) -> tuple[bool, Any, Any]:
        g = torch.Generator().manual_seed(22)
        x0 = torch.full((4000, 1, 2, 2), 0.8)  # one image, many noise draws
        t = torch.full((4000,), 300)
        x_t = fn(x0, t, torch.randn(4000, 1, 2, 2, generator=g), schedule)
        abar = float(schedule.alphas_cumprod[300])
        mean, variance = float(x_t.mean()), float(x_t.var())
        ok = abs(mean - abar**0.5 * 0.8) < 0.02 and abs(variance - (1 - abar)) < 0.03
        return ok, f"mean sqrt(abar) x0 = {abar**0.5 * 0.8:.3f}, variance 1 - abar = {1 - abar:.3f} (t = 300)", \
            f"mean {mean:.3f}, variance {variance:.3f}"

    def start_and_end(fn: Callable) -> tuple[bool, Any, Any]:
        x0, noise = torch.full((2, 1, 3, 3), -1.0), torch.full((2, 1, 3, 3), 0.5)
        x_t = fn(x0, torch.tensor([0, 999]), noise, schedule)
        if not isinstance(x_t, torch.Tensor) or x_t.shape != x0.shape:
            return False, "a tensor of shape (2, 1, 3, 3)", _describe(x_t)
        first, last = float(x_t[0].mean()), float(x_t[1].mean())
        ok = abs(first + 1) < 0.01 and abs(last - 0.5) < 0.01
        return ok, "t = 0 keeps almost all of x0 (-1.00); t = 999 is almost all noise (0.50)", f"{first:.3f} and {last:.3f}"

    return [Case("equals the closed form, q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), per image", closed_form),
            Case("over many noise draws, its mean is sqrt(abar_t) x_0 and its variance 1 - abar_t", moments),
            Case("at t = 0 it is nearly x_0; at the last step nearly the noise alone", start_and_end)]


def _ddim_step_cases() -> list[Case]:
    from gencore.engine import diffusion

    schedule = diffusion.linear_schedule(1000)

    def exact(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.rand(2, 1, 3, 3, generator=g) * 1.8 - 0.9, torch.randn(2, 1, 3, 3, generator=g)

    def same_trajectory(fn: Callable) -> tuple[bool, Any, Any]:
        x0, eps = exact(torch.Generator().manual_seed(23))
        with _checkers_own_call():  # the case's fixtures, made with gencore's forward process
            x_t = diffusion.q_sample(x0, torch.tensor([600, 600]), eps, schedule)
            expected = diffusion.q_sample(x0, torch.tensor([400, 400]), eps, schedule)
        return _tensor_close(fn(eps, 600, 400, x_t, schedule), expected,
                             "with the true eps, x_600 steps to x_400 of the same x0 and eps", atol=1e-4)

    def last_step(fn: Callable) -> tuple[bool, Any, Any]:
        x0, eps = exact(torch.Generator().manual_seed(24))
        with _checkers_own_call():
            x_t = diffusion.q_sample(x0, torch.tensor([20, 20]), eps, schedule)
        return _tensor_close(fn(eps, 20, -1, x_t, schedule), x0, "t_prev = -1 (abar = 1) lands on x0 itself", atol=1e-4)

    def clipped(fn: Callable) -> tuple[bool, Any, Any]:
        eps = torch.zeros(1, 1, 2, 2)
        abar = schedule.alphas_cumprod[100]
        x_t = abar.sqrt() * torch.tensor([[[[3.0, -3.0], [0.5, 1.0]]]])  # x0_hat = 3, -3, 0.5, 1 with eps = 0
        return _tensor_close(fn(eps, 100, -1, x_t, schedule), torch.tensor([[[[1.0, -1.0], [0.5, 1.0]]]]),
                             "x0_hat clipped to the data's [-1, 1] before the step", atol=1e-4)

    return [Case("given the true noise, a step from t to t_prev stays on the same path: q(x_t_prev | x0) with that eps",
                 same_trajectory),
            Case("the last step (t_prev = -1) gives the clean image", last_step),
            Case("the predicted clean image is clipped to [-1, 1]", clipped)]


def _ddim_inputs(g: torch.Generator) -> tuple[Any, ...]:
    from gencore.engine import diffusion

    t = int(torch.randint(50, 900, (1,), generator=g))
    with _checkers_own_call():
        schedule = diffusion.linear_schedule(1000)
    return (torch.randn(3, 1, 4, 4, generator=g), t, t - int(torch.randint(1, 50, (1,), generator=g)),
            torch.randn(3, 1, 4, 4, generator=g), schedule)


def _q_sample_inputs(g: torch.Generator) -> tuple[Any, ...]:
    from gencore.engine import diffusion

    with _checkers_own_call():
        schedule = diffusion.linear_schedule(1000)
    return (torch.rand(4, 1, 5, 5, generator=g) * 2 - 1, torch.randint(0, 1000, (4,), generator=g),
            torch.randn(4, 1, 5, 5, generator=g), schedule)



def _logits(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return 3 * torch.randn(12, generator=g), 3 * torch.randn(20, generator=g)


HIDDEN: dict[str, Callable[[], list[Case]]] = {
    "kl_divergence": lambda: _agrees("kl_divergence", lambda g: (torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g))),
    "discriminator_loss": lambda: _agrees("discriminator_loss", _logits),
    "generator_loss": lambda: _agrees("generator_loss", lambda g: (3 * torch.randn(17, generator=g),)),
    "critic_loss": lambda: _agrees("critic_loss", _logits),
    "gaussian_nll": lambda: _agrees("gaussian_nll", lambda g: (torch.rand(2, 3, 5, 5, generator=g), torch.rand(2, 3, 5, 5, generator=g),
                                                              torch.randn(1, generator=g) - 3)),
    "nyquist_share": lambda: _agrees("nyquist_share", lambda g: (torch.rand(3, 3, 8, 8, generator=g).pow(3),)),
    "with_class_channels": lambda: _agrees("with_class_channels", lambda g: (torch.randn(4, 2, 3, 3, generator=g),
                                                                         torch.randint(0, 6, (4,), generator=g), 6)),
    "q_sample": lambda: _agrees("q_sample", _q_sample_inputs),
    "ddim_step": lambda: _agrees("ddim_step", _ddim_inputs),
    "spearman": lambda: _agrees("spearman", lambda g: (torch.randn(9, generator=g).tolist(), torch.randn(9, generator=g).tolist())),
}


# ---------------------------------------------------------------------- the registry and the check


@dataclass(frozen=True)
class Exercise:
    """One exercise: where it is asked, what it is worth, how it is checked, and gencore's answer."""

    name: str
    notebook: str  # the course notebook that asks for it
    points: int  # nbgrader's points for passing every case (python -m gencore course --nbgrader)
    cases: Callable[[], list[Case]]
    answer: Callable[[], Callable[..., Any]]  # gencore's own function, looked up when asked
    hidden: Callable[[], list[Case]] | None = field(default=None)  # a grader's hidden cases, where answers are deterministic


def _family_part(name: str) -> Callable[[], Callable[..., Any]]:
    return lambda: exercise_family(name).parts[name]


EXERCISES: dict[str, Exercise] = {exercise.name: exercise for exercise in (
    # The MNIST notebooks: parts of a family's step, so an answer that passes also trains the model.
    Exercise("reparameterize", "01_vae_mnist", 2, _reparameterize_cases, _family_part("reparameterize")),
    Exercise("kl_divergence", "01_vae_mnist", 2, _kl_cases, _family_part("kl_divergence"), HIDDEN["kl_divergence"]),
    Exercise("discriminator_loss", "03_gan_mnist", 3, _discriminator_cases, _family_part("discriminator_loss"),
             HIDDEN["discriminator_loss"]),
    Exercise("generator_loss", "03_gan_mnist", 2, _generator_cases, _family_part("generator_loss"), HIDDEN["generator_loss"]),
    Exercise("critic_loss", "05_wgan_gp_mnist", 2, _critic_cases, _family_part("critic_loss"), HIDDEN["critic_loss"]),
    Exercise("gradient_penalty", "05_wgan_gp_mnist", 4, _penalty_cases, _family_part("gradient_penalty")),
    # The CIFAR-10 notebooks: the measurements their lessons rest on.
    Exercise("gaussian_nll", "02_vae_cifar10", 3, _gaussian_nll_cases, lambda: losses.gaussian_nll, HIDDEN["gaussian_nll"]),
    Exercise("nyquist_share", "04_gan_cifar10", 3, _nyquist_cases, lambda: lessons.nyquist_share, HIDDEN["nyquist_share"]),
    Exercise("spearman", "06_wgan_gp_cifar10", 2, _spearman_cases, lambda: lessons.spearman, HIDDEN["spearman"]),
    # 08: the conditional GAN's step pairs each image with its class through this part, so an answer that passes trains it.
    Exercise("with_class_channels", "08_conditional", 3, _class_channel_cases, _family_part("with_class_channels"),
             HIDDEN["with_class_channels"]),
    # 09: the DDPM's step noises each batch through q_sample, so an answer that passes trains it; the sampler
    # path of 09 runs through the learner's ddim_step.
    Exercise("q_sample", "09_diffusion", 3, _q_sample_cases, _family_part("q_sample"), HIDDEN["q_sample"]),
    Exercise("ddim_step", "09_diffusion", 3, _ddim_step_cases, lambda: _ddim_step(), HIDDEN["ddim_step"]),
)}


def _ddim_step() -> Callable[..., Any]:
    from gencore.engine import diffusion

    return diffusion.ddim_step


def exercise_family(name: str) -> Family:
    """The family whose step calls the exercise's function (the first, where several share it)."""
    return next(family for family in FAMILIES.values() if name in family.parts)


_withheld = False  # the student edition (source.hide_answers): no answer is handed out


def withhold_answers(withheld: bool) -> None:
    """The student edition's switch (``course.hide_answers()`` sets it): ``reference`` then refuses."""
    global _withheld
    _withheld = withheld


def reference(name: str) -> Callable[..., Any]:
    """gencore's own implementation of an exercise (for the MNIST ones, the part of its family's
    step), for the kit's tests and an instructor's notebook. It hands out no answer where a learner
    works on the exercises: under a grader (``grading()``) and in the student edition
    (``course.hide_answers()``, which student copies and the nbgrader release call first)."""
    exercise = _exercise(name)
    if grading() or _withheld:
        where = "under a grader" if grading() else "in the student edition"
        raise ExerciseFailed(f"exercises.reference({name!r}) hands out no answer {where}: "
                             f"the exercise asks for your own {name}.")
    return exercise.answer()


def is_answer(name: str, fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is gencore's own function for the exercise (what ``check`` returns for an
    unanswered one), without handing that function out."""
    return fn is _exercise(name).answer()


def _exercise(name: str) -> Exercise:
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}: choose one of {', '.join(EXERCISES)}")
    return EXERCISES[name]


def grading() -> bool:
    """Whether a grader runs this notebook: nbgrader's autograde or validate (which set
    NBGRADER_EXECUTION), or GENCORE_GRADING=1. Then an unanswered exercise fails its check."""
    return os.environ.get("NBGRADER_EXECUTION") in ("autograde", "validate") or os.environ.get("GENCORE_GRADING") == "1"


# ---------------------------------------------------------------------- whose code ran: the learner's or gencore's


GENCORE_DIR = os.path.realpath(Path(__file__).parents[1])  # the gencore package, wherever it is installed
CHECKER_FILE = os.path.realpath(__file__)  # this file: the checks' own cases and fixtures (a test critic, _Linear)


class _Watch:
    """A profile function (sys.setprofile) that notes the first Python call into gencore's code,
    apart from the checker's own: a learner's function that calls it, directly or through any
    name, hands the exercise to gencore. The functions that hand out the answer (``reference``,
    each exercise's ``answer``) count although they live in this file."""

    def __init__(self) -> None:
        self.offender: str | None = None  # the gencore function called first, as module.qualname
        self.switched_off = False  # the learner's code replaced the watch (sys.setprofile) while it ran
        self.paused = 0  # > 0 while the check itself calls gencore's answer (the hidden cases compare with it)
        self._files: dict[str, bool] = {}
        self._refused = {reference.__code__, *(exercise.answer.__code__ for exercise in EXERCISES.values())}

    def _gencores(self, filename: str) -> bool:
        known = self._files.get(filename)
        if known is None:
            path = os.path.realpath(filename)
            known = self._files[filename] = path.startswith(GENCORE_DIR + os.sep) and path != CHECKER_FILE
        return known

    def reason(self) -> str | None:
        """What the learner's function did that a graded check refuses, or None."""
        if self.offender is not None:
            return f"called {self.offender}, gencore's own code"
        if self.switched_off:
            return "switched off the check's watch of the calls it makes (sys.setprofile)"
        return None

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or self.paused or self.offender is not None:
            return
        code = frame.f_code
        if code in self._refused or self._gencores(code.co_filename):
            module = frame.f_globals.get("__name__", "?")
            self.offender = f"{module}.{getattr(code, 'co_qualname', code.co_name)}"


_watches: list[_Watch] = []  # the watch of the check now running (checks do not nest, but a learner may call one)


@contextmanager
def _watching(watch: _Watch) -> Iterator[None]:
    """Run the block with ``watch`` seeing every Python call, in this thread and in any it starts."""
    previous, previous_threads = sys.getprofile(), threading.getprofile()
    _watches.append(watch)
    sys.setprofile(watch)
    threading.setprofile(watch)
    try:
        yield
    finally:
        switched_off = sys.getprofile() is not watch
        sys.setprofile(previous)
        threading.setprofile(previous_threads)
        _watches.pop()
        watch.switched_off = watch.switched_off or switched_off


@contextmanager
def _checkers_own_call() -> Iterator[None]:
    for watch in _watches:
        watch.paused += 1
    try:
        yield
    finally:
        for watch in _watches:
            watch.paused -= 1


def own_code_message(name: str, reason: str) -> str:
    """The one line a graded check fails with when the learner's function called gencore (``reason``: _Watch.reason)."""
    return (f"{name} asks for your own code: your function {reason}, and a graded check gives no points for that. "
            f"Write {name} yourself (torch and math are yours to use), then run this check again.")


def check(name: str, fn: Callable[..., Any], verbose: bool = True, hidden: bool = False) -> Callable[..., Any]:
    """Test a learner's ``fn`` for the exercise ``name`` case by case (``hidden``: a grader's
    hidden cases instead). Returns ``fn`` when every case passes, and raises ExerciseFailed naming
    the failed cases otherwise. While ``fn`` raises NotImplementedError (a student copy's stub) it
    returns gencore's own function, with a note, so the notebook runs on; under a grader
    (``grading()``) an unanswered exercise fails instead, and so does a function that calls
    gencore's code (every Python call its cases make is watched: see the module's docstring)."""
    exercise = _exercise(name)
    say = print if verbose else (lambda *args: None)
    failures = []
    graded = grading()
    watch = _Watch()
    cases = (exercise.hidden or (lambda: []))() if hidden else exercise.cases()
    for case in cases:
        try:
            with _watching(watch):
                passed, expected, obtained = case.run(fn)
        except NotImplementedError:
            if graded:
                raise ExerciseFailed(f"{name} is not implemented: write the function, then run this check again.") from None
            say(f"{name}: not implemented yet. The cells below use gencore's {name} until yours is written.")
            return exercise.answer()
        except Exception as error:  # noqa: BLE001 - the learner's code failed: report it as the case's result
            passed, expected, obtained = False, "no error", f"{type(error).__name__}: {error}"
        if graded and (reason := watch.reason()) is not None:
            raise ExerciseFailed(own_code_message(name, reason))
        say(f"  {'PASS' if passed else 'FAIL'}  {case.description}" +
            ("" if passed else f"\n          expected {expected}\n          obtained {obtained}"))
        if not passed:
            failures.append(f"'{case.description}' (expected {expected}, obtained {obtained})")
    if (reason := watch.reason()) is not None:
        say(f"{name}: note: your function {reason}. Working alone that is allowed; a graded check fails it, since the "
            "exercise asks for your own code.")
    if failures:
        raise ExerciseFailed(f"{name} failed {len(failures)} case(s): " + "; ".join(failures))
    say(f"{name}: all {'hidden ' if hidden else ''}cases pass.")
    return fn


__all__ = ["EXERCISES", "Exercise", "ExerciseFailed", "check", "exercise_family", "grading", "is_answer", "own_code_message",
           "reference", "withhold_answers"]
