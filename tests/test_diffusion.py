"""The DDPM family's mathematics, pinned: closed forms of the forward process and the reverse
steps (in float64, where rounding cannot hide a wrong coefficient), agreement with the field's
implementation (diffusers' DDPMScheduler and DDIMScheduler, in float32 as they compute), the
U-Net's shapes, and the family trained, sampled and resumed by the real Trainer on a tiny subset."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest
import torch
from torch import nn

from gencore.engine import diffusion
from gencore.engine.config import TrainConfig
from gencore.engine.diffusion import NoiseSchedule
from gencore.engine.errors import CheckpointError, GencoreError
from gencore.engine.families import FAMILIES, register
from gencore.engine.families.diffusion import DDPM_FAMILY, sample
from gencore.engine.models.unet import UNet, timestep_embedding
from gencore.engine.sampling import sample_images
from gencore.runs.start import start_run

FLOAT32_EPS = torch.finfo(torch.float32).eps  # 1.19e-7: float32's spacing at 1
# Diffusers' schedulers and gencore.engine.diffusion do the same float32 operations in the same order and
# agree bit for bit on this machine; values here are at most ~5 in size (x_t, and noise within 5 sigma),
# so 1e-6 (a few float32 roundings at that size) only allows another kernel's rounding order.
DIFFUSERS_ATOL = 1e-6
# In float64 the closed forms hold to rounding (1e-16 relative) amplified by at most 1/sqrt(abar_T) ~ 160
# (recovering x_0 at t = T-1) and 1/beta_0 = 1e4 (the posterior's coefficients at t = 1): 1e-9 is ample,
# and far below any coefficient's error (a wrong alpha for alpha-bar at t = 500 is off by ~1e-1).
FLOAT64_ATOL = 1e-9
TIMESTEPS = (0, 1, 10, 100, 500, 999)


def float64_schedule(steps: int = 1000) -> NoiseSchedule:
    """Ho et al.'s linear schedule computed in float64: the reference for the closed forms."""
    betas = torch.linspace(diffusion.BETA_START, diffusion.BETA_END, steps, dtype=torch.float64)
    return NoiseSchedule(betas, 1.0 - betas, torch.cumprod(1.0 - betas, dim=0))


def images(seed: int, n: int = 4, shape: tuple[int, int, int] = (1, 8, 8), low: float = -0.9, high: float = 0.9,
           dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x0 uniform in [low, high] (inside [-1, 1], so clipping x0_hat leaves the true x0 alone), the noise
    eps ~ N(0, I) and an arbitrary model output ~ N(0, I), each (n, C, H, W)."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand((n, *shape), generator=g, dtype=dtype) * (high - low) + low
    return x0, torch.randn(x0.shape, generator=g, dtype=dtype), torch.randn(x0.shape, generator=g, dtype=dtype)


# ---------------------------------------------------------------------- the schedule and the forward process


def test_the_linear_schedule_is_ho_et_als_and_ends_almost_at_pure_noise() -> None:
    schedule = diffusion.linear_schedule()
    assert schedule.steps == 1000 and schedule.betas.dtype == torch.float32
    assert schedule.betas[0].item() == pytest.approx(1e-4) and schedule.betas[-1].item() == pytest.approx(0.02)
    # linear: float32 rounds each beta to 1.9e-9 (its spacing at 0.02), so a difference is off by at most twice that
    assert torch.allclose(schedule.betas.diff(), torch.full((999,), (0.02 - 1e-4) / 999), atol=4e-9)
    assert torch.equal(schedule.alphas, 1 - schedule.betas)
    abar = schedule.alphas_cumprod
    assert (abar.diff() < 0).all() and abar[0].item() == pytest.approx(1 - 1e-4)  # strictly decreasing from alpha_0
    # abar_T = prod(1 - beta_t) = 4.0358e-5 (float64: 4.0358e-5 too): x_T keeps sqrt(abar_T) = 0.6% of x_0
    reference = float64_schedule().alphas_cumprod[-1].item()
    assert reference == pytest.approx(4.0358e-5, rel=1e-4)
    assert abar[-1].item() == pytest.approx(reference, rel=1e-3)  # 1000 float32 products: ~6e-5 relative drift
    assert schedule.alpha_bar(-1).item() == 1.0  # "before step 0": the clean image
    with pytest.raises(GencoreError, match="whole number of steps of at least 1"):
        diffusion.linear_schedule(0)
    with pytest.raises(GencoreError, match="timestep 1000 is past the schedule's last, 999"):
        schedule.alpha_bar(1000)


def test_q_sample_draws_x_t_with_the_closed_form_mean_and_variance() -> None:
    """q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I): N = 20,000 draws per pixel for a fixed x_0.
    The empirical mean's standard error is sqrt((1 - abar_t) / N), the empirical variance's
    (1 - abar_t) sqrt(2 / (N - 1)); each of 16 pixels x 4 timesteps is held to 5 of them (a fixed
    seed: the test is deterministic, and 5 sigma is ~6e-7 per comparison by chance)."""
    schedule = diffusion.linear_schedule()
    n = 20_000
    x0 = torch.linspace(-1, 1, 16).view(1, 1, 4, 4)
    g = torch.Generator().manual_seed(0)
    for t in (0, 100, 500, 999):
        noise = torch.randn((n, 1, 4, 4), generator=g)
        x_t = diffusion.q_sample(x0.expand(n, -1, -1, -1), torch.full((n,), t), noise, schedule)
        abar = schedule.alphas_cumprod[t].item()
        mean_se, var_se = math.sqrt((1 - abar) / n), (1 - abar) * math.sqrt(2 / (n - 1))
        assert ((x_t.mean(0) - math.sqrt(abar) * x0[0]).abs() < 5 * mean_se).all(), t
        assert ((x_t.var(0) - (1 - abar)).abs() < 5 * var_se).all(), t


def test_q_sample_takes_one_timestep_per_image() -> None:
    schedule = float64_schedule()
    x0, noise, _ = images(1)
    t = torch.tensor([0, 10, 500, 999])
    x_t = diffusion.q_sample(x0, t, noise, schedule)
    for i, step in enumerate(t.tolist()):
        abar = schedule.alphas_cumprod[step]
        assert torch.allclose(x_t[i], abar.sqrt() * x0[i] + (1 - abar).sqrt() * noise[i], atol=FLOAT64_ATOL, rtol=0)


def test_the_noise_prediction_loss_is_the_mean_squared_error_per_pixel() -> None:
    _, noise, predicted = images(2, dtype=torch.float32)
    loss = diffusion.noise_prediction_loss(noise, predicted)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(((noise - predicted) ** 2).sum().item() / noise.numel(), rel=1e-6)
    assert diffusion.noise_prediction_loss(noise, noise).item() == 0.0
    big = torch.randn(100_000, generator=torch.Generator().manual_seed(3))
    # predicting 0 scores E[eps^2] = 1; the mean of 1e5 squares has standard error sqrt(2 / 1e5) = 0.0045
    assert diffusion.noise_prediction_loss(big, torch.zeros_like(big)).item() == pytest.approx(1.0, abs=5 * 0.0045)


def test_drop_labels_swaps_a_label_for_the_null_class_with_probability_p_uncond() -> None:
    labels = torch.arange(100_000) % 10
    with torch.random.fork_rng():  # drop_labels draws from torch's global generator, as the training step does
        torch.manual_seed(0)
        assert torch.equal(diffusion.drop_labels(labels, 0.0, 10), labels)
        assert (diffusion.drop_labels(labels, 1.0, 10) == 10).all()
        dropped = diffusion.drop_labels(labels, 0.1, 10)
    kept = dropped != 10
    assert torch.equal(dropped[kept], labels[kept])  # a label is kept or nulled, never changed to another class
    # the fraction nulled: binomial, standard error sqrt(0.1 * 0.9 / 1e5) = 0.00095; held to 5 of them
    assert (~kept).float().mean().item() == pytest.approx(0.1, abs=5 * 0.00095)


# ---------------------------------------------------------------------- the reverse steps, in closed form


@pytest.mark.parametrize("t", TIMESTEPS)
def test_a_ddim_step_with_the_true_noise_lands_on_the_forward_process(t: int) -> None:
    """With eps_theta = the true eps, x0_hat = x_0 exactly, and DDIM (eta = 0) keeps eps: stepping to any
    t_prev gives q_sample(x_0, t_prev, eps), and to t_prev = -1 (abar = 1) gives x_0 itself."""
    schedule = float64_schedule()
    x0, noise, _ = images(4)
    x_t = diffusion.q_sample(x0, torch.full((4,), t), noise, schedule)
    assert torch.allclose(diffusion.ddim_step(noise, t, -1, x_t, schedule), x0, atol=FLOAT64_ATOL, rtol=0)
    assert torch.allclose(diffusion.predict_x0(noise, t, x_t, schedule), x0, atol=FLOAT64_ATOL, rtol=0)
    for t_prev in {t // 2, t - 1} & set(range(t)):  # earlier timesteps (none before t = 0)
        expected = diffusion.q_sample(x0, torch.full((4,), t_prev), noise, schedule)
        assert torch.allclose(diffusion.ddim_step(noise, t, t_prev, x_t, schedule), expected, atol=FLOAT64_ATOL, rtol=0)


def test_a_ddim_step_in_float32_recovers_x0_to_rounding() -> None:
    """The same in float32, as training and sampling run: x0_hat = (x_t - sqrt(1 - abar) eps) / sqrt(abar)
    carries a few roundings of |x_t| divided by sqrt(abar_t), so the tolerance is 8 eps32 (1 + |x_t|) / sqrt(abar_t)
    (1.8e-6 at t = 0, 8e-4 at t = 999, where x_T holds 0.6% of x_0)."""
    schedule = diffusion.linear_schedule()
    x0, noise, _ = images(5, dtype=torch.float32)
    for t in TIMESTEPS:
        x_t = diffusion.q_sample(x0, torch.full((4,), t), noise, schedule)
        tolerance = 8 * FLOAT32_EPS * (1 + x_t.abs().max().item()) / schedule.alphas_cumprod[t].sqrt().item()
        assert (diffusion.ddim_step(noise, t, -1, x_t, schedule) - x0).abs().max().item() <= tolerance, t


@pytest.mark.parametrize("t", TIMESTEPS[1:])
def test_the_ddpm_step_is_the_posterior_of_ho_et_al_eq_7(t: int) -> None:
    """With the true noise, x0_hat = x_0: the step's mean is mu_tilde(x_t, x_0) =
    sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t, and its
    noise is scaled by sqrt(beta_tilde), beta_tilde = (1 - abar_{t-1}) / (1 - abar_t) beta_t (eq. 7)."""
    schedule = float64_schedule()
    beta, alpha, abar, abar_prev = (schedule.betas[t], schedule.alphas[t], schedule.alphas_cumprod[t],
                                    schedule.alphas_cumprod[t - 1])
    x0, noise, z = images(6)
    x_t = diffusion.q_sample(x0, torch.full((4,), t), noise, schedule)
    mu_tilde = abar_prev.sqrt() * beta / (1 - abar) * x0 + alpha.sqrt() * (1 - abar_prev) / (1 - abar) * x_t
    mean = diffusion.ddpm_step(noise, t, x_t, schedule, torch.zeros_like(x_t))
    assert torch.allclose(mean, mu_tilde, atol=FLOAT64_ATOL, rtol=0)
    beta_tilde = (1 - abar_prev) / (1 - abar) * beta
    noisy = diffusion.ddpm_step(noise, t, x_t, schedule, z)
    assert torch.allclose(noisy - mean, beta_tilde.sqrt() * z, atol=FLOAT64_ATOL, rtol=0)


@pytest.mark.parametrize("t", TIMESTEPS[1:])
def test_without_clipping_the_ddpm_step_is_algorithm_2(t: int) -> None:
    """Ho et al.'s Algorithm 2 writes the mean through eps_theta directly:
    1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - abar_t) eps_theta). Any model output, x0_hat unclipped."""
    schedule = float64_schedule()
    _, x_t, output = images(7)
    beta, alpha, abar = schedule.betas[t], schedule.alphas[t], schedule.alphas_cumprod[t]
    algorithm_2 = (x_t - beta / (1 - abar).sqrt() * output) / alpha.sqrt()
    mean = diffusion.ddpm_step(output, t, x_t, schedule, torch.zeros_like(x_t), clip=False)
    assert torch.allclose(mean, algorithm_2, atol=FLOAT64_ATOL, rtol=0)


def test_the_last_ddpm_step_adds_no_noise_and_clips_x0_hat() -> None:
    schedule = float64_schedule()
    _, x_t, output = images(8)
    last = diffusion.ddpm_step(output, 0, x_t, schedule, None)  # t = 0 -> -1: Algorithm 2's z = 0
    assert torch.equal(last, diffusion.predict_x0(output, 0, x_t, schedule).clamp(-1, 1))
    x_far = x_t * 10  # x0_hat far outside [-1, 1]
    assert diffusion.ddpm_step(output, 0, x_far, schedule, None).abs().max().item() <= 1.0
    with pytest.raises(GencoreError, match="adds noise: give it z"):
        diffusion.ddpm_step(output, 5, x_t, schedule, None)
    with pytest.raises(GencoreError, match="an earlier t_prev"):
        diffusion.ddim_step(output, 5, 5, x_t, schedule)
    with pytest.raises(GencoreError, match="eta=1.0 adds noise"):
        diffusion.ddim_step(output, 5, 4, x_t, schedule, eta=1.0)


def test_ddim_with_eta_1_has_the_ddpm_posterior_variance() -> None:
    """Song et al. eq. 16: eta = 1 makes sigma_t^2 the DDPM posterior's beta_tilde; the noise enters scaled by it."""
    schedule = float64_schedule()
    _, x_t, output = images(9)
    z = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    difference = (diffusion.ddim_step(output, 500, 480, x_t, schedule, eta=1.0, noise=z)
                  - diffusion.ddim_step(output, 500, 480, x_t, schedule, eta=1.0, noise=torch.zeros_like(z)))
    expected = diffusion.posterior_variance(500, 480, schedule).sqrt() * z
    assert torch.allclose(difference, expected, atol=FLOAT64_ATOL, rtol=0)


def test_the_leading_timesteps_and_their_errors() -> None:
    assert diffusion.sampling_timesteps(1000, 50).tolist() == list(range(980, -1, -20))
    assert diffusion.sampling_timesteps(1000, 1000).tolist() == list(range(999, -1, -1))
    assert diffusion.sampling_timesteps(1000, 7).tolist() == [852, 710, 568, 426, 284, 142, 0]  # stride 1000 // 7
    assert diffusion.sampling_timesteps(1000, 1).tolist() == [0]
    for bad in (0, 1001):
        with pytest.raises(GencoreError, match="from 1 to the 1000 diffusion steps"):
            diffusion.sampling_timesteps(1000, bad)


def test_classifier_free_guidance_follows_ho_and_salimans() -> None:
    cond, uncond = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 1.0])
    assert torch.equal(diffusion.classifier_free_guidance(cond, uncond, 0.0), cond)  # w = 0: the conditional alone
    assert torch.equal(diffusion.classifier_free_guidance(cond, uncond, -1.0), uncond)  # w = -1: the unconditional
    assert torch.allclose(diffusion.classifier_free_guidance(cond, uncond, 2.0), 3 * cond - 2 * uncond)  # (1+w) c - w u


# ---------------------------------------------------------------------- agreement with diffusers


@pytest.fixture(scope="module")
def schedulers() -> object:
    """diffusers' scheduler module (pinned in requirements.txt); these tests skip without it."""
    return pytest.importorskip("diffusers", reason="diffusers is not installed: the agreement with it is not checked")


def test_the_schedule_is_diffusers(schedulers: object) -> None:
    from diffusers import DDIMScheduler, DDPMScheduler

    for steps in (1000, 250):
        ours = diffusion.linear_schedule(steps)
        for theirs in (DDPMScheduler(num_train_timesteps=steps), DDIMScheduler(num_train_timesteps=steps)):
            assert torch.allclose(theirs.betas, ours.betas, atol=DIFFUSERS_ATOL, rtol=0)
            assert torch.allclose(theirs.alphas_cumprod, ours.alphas_cumprod, atol=DIFFUSERS_ATOL, rtol=0)


def test_q_sample_is_diffusers_add_noise(schedulers: object) -> None:
    from diffusers import DDPMScheduler

    x0, noise, _ = images(10, n=6, dtype=torch.float32)
    t = torch.tensor([0, 1, 10, 100, 500, 999])
    ours = diffusion.q_sample(x0, t, noise, diffusion.linear_schedule())
    assert torch.allclose(DDPMScheduler().add_noise(x0, noise, t), ours, atol=DIFFUSERS_ATOL, rtol=0)


@pytest.mark.parametrize("sampling_steps", [None, 50, 7])
def test_the_ddpm_step_is_diffusers_ddpm_scheduler(schedulers: object, sampling_steps: int | None) -> None:
    """DDPMScheduler.step with its defaults (variance "fixed_small", x0_hat clipped to [-1, 1]) on an
    arbitrary model output, every step of the chain (None) or of a strided one. The scheduler draws
    its noise as torch.randn(shape, generator=generator) on the CPU: the same seed gives ddpm_step the same z."""
    from diffusers import DDPMScheduler

    scheduler, schedule = DDPMScheduler(), diffusion.linear_schedule()
    if sampling_steps is None:
        timesteps = [999, 500, 100, 10, 1, 0]
        previous = [t - 1 for t in timesteps]
    else:
        scheduler.set_timesteps(sampling_steps)
        timesteps = diffusion.sampling_timesteps(1000, sampling_steps).tolist()
        previous = timesteps[1:] + [-1]
    x0, _, output = images(11, dtype=torch.float32)
    for k, (t, t_prev) in enumerate(zip(timesteps, previous)):
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(k))
        x_t = diffusion.q_sample(x0, torch.full((4,), t), noise, schedule)
        theirs = scheduler.step(output, t, x_t, generator=torch.Generator().manual_seed(100 + k)).prev_sample
        z = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(100 + k))
        ours = diffusion.ddpm_step(output, t, x_t, schedule, z, t_prev=t_prev)
        assert torch.allclose(theirs, ours, atol=DIFFUSERS_ATOL, rtol=0), (t, (theirs - ours).abs().max().item())


@pytest.mark.parametrize("sampling_steps", [50, 7, 1000])
def test_the_ddim_step_is_diffusers_ddim_scheduler(schedulers: object, sampling_steps: int) -> None:
    """DDIMScheduler.step with eta = 0 and its defaults (x0_hat clipped to [-1, 1], the last step to abar = 1)."""
    from diffusers import DDIMScheduler

    scheduler, schedule = DDIMScheduler(), diffusion.linear_schedule()
    scheduler.set_timesteps(sampling_steps)
    timesteps = diffusion.sampling_timesteps(1000, sampling_steps).tolist()
    x0, noise, output = images(12, dtype=torch.float32)
    chosen = sorted({0, 1, len(timesteps) // 2, len(timesteps) - 2, len(timesteps) - 1} & set(range(len(timesteps))))
    for i in chosen:
        t, t_prev = timesteps[i], (timesteps[i + 1] if i + 1 < len(timesteps) else -1)
        x_t = diffusion.q_sample(x0, torch.full((4,), t), noise, schedule)
        theirs = scheduler.step(output, t, x_t, eta=0.0).prev_sample
        ours = diffusion.ddim_step(output, t, t_prev, x_t, schedule)
        assert torch.allclose(theirs, ours, atol=DIFFUSERS_ATOL, rtol=0), (t, (theirs - ours).abs().max().item())


def test_the_sampling_timesteps_are_diffusers_leading_spacing(schedulers: object) -> None:
    from diffusers import DDIMScheduler, DDPMScheduler

    for steps, n in ((1000, 1), (1000, 7), (1000, 20), (1000, 50), (1000, 999), (1000, 1000), (250, 30)):
        for scheduler in (DDPMScheduler(num_train_timesteps=steps), DDIMScheduler(num_train_timesteps=steps)):
            scheduler.set_timesteps(n)
            assert scheduler.timesteps.tolist() == diffusion.sampling_timesteps(steps, n).tolist(), (steps, n)


class FakeNoise(nn.Module):
    """A stand-in for the U-Net with a known, class-dependent output: the family's sampler can then be
    run beside diffusers' loop on the same function."""

    image_shape = (1, 4, 4)
    null_class = 10

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return 0.9 * x * (t.float() / 1000).view(-1, 1, 1, 1) + 0.05 * (labels.float() - 5).view(-1, 1, 1, 1)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_the_family_sampler_is_diffusers_loop_with_guidance(schedulers: object, sampler: str) -> None:
    """The whole chain: x_T from the generator, then diffusers' loop, which draws the ddpm steps' noise
    from the same generator in the same order, and guidance written as diffusers' pipelines write it,
    eps_u + s (eps_c - eps_u) with s = 1 + w. Twelve float32 steps: 1e-5 on images in [0, 1]."""
    from diffusers import DDIMScheduler, DDPMScheduler

    config = SimpleNamespace(dataset="mnist", diffusion_steps=1000, sampling_steps=12, sampler=sampler, guidance=0.5,
                             p_uncond=0.1)
    net, n, classes = FakeNoise(), 6, torch.tensor([0, 3, 9, 9, 1, 5])
    ours = sample({"unet": net}, config, n, torch.Generator().manual_seed(4), classes, torch.device("cpu"))
    scheduler = DDIMScheduler() if sampler == "ddim" else DDPMScheduler()
    scheduler.set_timesteps(12)
    generator = torch.Generator().manual_seed(4)
    x = torch.randn((n, 1, 4, 4), generator=generator)
    for t in scheduler.timesteps:
        t_batch = torch.full((n,), int(t))
        eps_c, eps_u = net(x, t_batch, classes), net(x, t_batch, torch.full((n,), 10))
        eps = eps_u + (1 + config.guidance) * (eps_c - eps_u)
        step = scheduler.step(eps, t, x, generator=generator) if sampler == "ddpm" else scheduler.step(eps, t, x)
        x = step.prev_sample
    assert torch.allclose(ours, ((x + 1) / 2).clamp(0, 1), atol=1e-5, rtol=0)


# ---------------------------------------------------------------------- the U-Net


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One torch thread for the networks' tests, the previous count restored after: a width-8 U-Net's
    convolutions are too small to share, and on a busy 2-core machine two threads measured 3-30x slower per step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_the_unet_predicts_noise_of_the_image_shape_with_a_null_class(one_thread: None,
                                                                      shape: tuple[int, int, int]) -> None:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = UNet(shape, width=8, classes=10)
    x, t = torch.randn(3, *shape), torch.tensor([0, 500, 999])
    assert torch.equal(net(x, t, torch.tensor([0, 4, 9])), torch.zeros(3, *shape))  # zero-initialised output
    assert net.class_embedding is not None and net.class_embedding.num_embeddings == 11 and net.null_class == 10
    for conv in (m for m in net.modules() if isinstance(m, nn.Conv2d)):  # as if trained: the zero-initialised
        nn.init.normal_(conv.weight, std=0.1)  # convolutions now pass on what x, t and the class make of each block
    out = net(x, t, torch.tensor([0, 4, 9]))
    assert out.shape == (3, *shape) and out.dtype == torch.float32
    assert torch.equal(net(x, t, None), net(x, t, torch.full((3,), 10)))  # no labels: the null class
    assert not torch.equal(out, net(x, t, torch.tensor([1, 4, 9])))  # the class reaches the output
    assert not torch.equal(out, net(x, torch.tensor([1, 500, 999]), torch.tensor([0, 4, 9])))  # so does t
    alone = net(x[:1], t[:1], torch.tensor([0]))  # group norm: no image sees another (to the kernels' rounding)
    assert torch.allclose(alone, out[:1], atol=1e-5, rtol=0)


def test_the_unet_refuses_what_it_cannot_take(one_thread: None) -> None:
    plain = UNet((1, 28, 28), width=4)
    assert plain.class_embedding is None
    with pytest.raises(GencoreError, match="built without classes"):
        plain(torch.randn(1, 1, 28, 28), torch.tensor([3]), torch.tensor([1]))
    with pytest.raises(GencoreError, match="no null class"):
        _ = plain.null_class
    with pytest.raises(GencoreError, match="sides must divide by 4"):
        UNet((1, 30, 30))
    code = timestep_embedding(torch.tensor([0, 7]), 9)  # t = 0: sin 0 = 0, cos 0 = 1; an odd size ends in a 0
    assert code.shape == (2, 9) and torch.equal(code[0], torch.tensor([0.0] * 4 + [1.0] * 4 + [0.0]))


# ---------------------------------------------------------------------- the family through the real Trainer


@pytest.fixture(scope="module")
def ddpm(one_thread: None) -> Iterator[None]:
    """The family registered for this file's tests (it is in FAMILIES; a copy of gencore without that line would
    still run them), and taken out after only if it was not registered before."""
    registered = FAMILIES.get(DDPM_FAMILY.name) is DDPM_FAMILY
    register(DDPM_FAMILY)
    yield
    if not registered:
        FAMILIES.pop(DDPM_FAMILY.name)


def _config(root: Path, **settings: object) -> TrainConfig:
    values = {"dataset": "mnist", "epochs": 2, "subset": 64, "batch_size": 16, "width": 8, "sampling_steps": 4,
              "data_root": str(root), "device": "cpu", "eval_every": 0, **settings}
    return TrainConfig(model="ddpm", **values)


@pytest.fixture(scope="module")
def trained(ddpm: None, data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainConfig, object, Path]:
    """Two short epochs (4 steps each) of a width-8 U-Net on 64 images, with its run folder."""
    folder = tmp_path_factory.mktemp("ddpm") / "whole"
    config = _config(data_root)
    return config, start_run(config, folder, progress=False).fit(), folder


def test_the_family_record_has_no_latent_vector_and_its_settings(ddpm: None, data_root: Path) -> None:
    config = _config(data_root)
    assert config.latent_dim is None and "latent_dim" not in config.to_dict()
    assert (config.lr, config.betas) == (2e-4, (0.9, 0.999))  # Ho et al.'s Adam
    assert TrainConfig(model="ddpm").batch_size == 128
    assert {"diffusion_steps": 1000, "sampling_steps": 4, "sampler": "ddim", "guidance": 0.3,
            "p_uncond": 0.1}.items() <= config.to_dict().items()
    assert "diffusion_steps" in config.architecture_fields() and "guidance" in config.training_fields()
    with pytest.raises(GencoreError, match="unknown sampler 'euler': choose one of ddim, ddpm"):
        _config(data_root, sampler="euler")
    with pytest.raises(GencoreError, match=r"sampling_steps \(40\) cannot exceed diffusion_steps \(20\)"):
        DDPM_FAMILY.build(_config(data_root, diffusion_steps=20, sampling_steps=40), (1, 28, 28))
    with pytest.raises(GencoreError, match="guidance needs the unconditional prediction"):
        DDPM_FAMILY.build(_config(data_root, p_uncond=0.0), (1, 28, 28))


def test_the_family_trains_and_samples_through_the_trainer(trained: tuple[TrainConfig, object, Path]) -> None:
    config, result, folder = trained
    assert getattr(result, "status") == "finished"
    history = getattr(result, "history")
    assert [row["epoch"] for row in history] == [1, 2] and all(0 < row["loss"] < 10 for row in history)
    assert {"samples.png", "losses.png", "checkpoint.pt", "config.json"} <= {p.name for p in folder.iterdir()}
    models = getattr(result, "models")
    drawn = sample_images(models, config, 6, seed=1, classes=3)
    assert drawn.shape == (6, 1, 28, 28) and drawn.dtype == torch.float32 and 0 <= drawn.min() and drawn.max() <= 1
    assert torch.equal(drawn, sample_images(models, config, 6, seed=1, classes=3))  # a seed repeats
    assert not torch.equal(drawn, sample_images(models, config, 6, seed=2, classes=3))  # another does not
    assert not torch.equal(drawn, sample_images(models, config.replace(guidance=0.0), 6, seed=1, classes=3))
    assert not torch.equal(drawn, sample_images(models, config, 6, seed=1, classes=4))  # the class matters
    # no classes asked for: 0, 1, ..., 9, 0, 1 (the balanced classes every conditional family draws)
    assert torch.equal(sample_images(models, config, 12, seed=1), sample_images(models, config, 12, seed=1,
                                                                                classes=torch.arange(12) % 10))
    ancestral = config.replace(sampler="ddpm")
    noisy = sample_images(models, ancestral, 6, seed=1, classes=3)
    assert 0 <= noisy.min() and noisy.max() <= 1 and not torch.equal(noisy, drawn)
    assert torch.equal(noisy, sample_images(models, ancestral, 6, seed=1, classes=3))  # its noise is the seed's too


def test_a_resumed_run_ends_with_the_numbers_of_an_uninterrupted_one(trained: tuple[TrainConfig, object, Path],
                                                                     tmp_path: Path) -> None:
    config, whole, _ = trained
    first = start_run(config, tmp_path / "split", progress=False)
    first.add_callback("on_epoch_end", lambda t: t.request_stop("stopped"))
    assert first.fit().status == "stopped"
    with pytest.raises(CheckpointError, match="diffusion_steps: 500 wanted, checkpoint has 1000"):
        start_run(config.replace(diffusion_steps=500), tmp_path / "split", resume=True, progress=False)
    resumed = start_run(config, tmp_path / "split", resume=True, progress=False)
    assert resumed.epoch == 1 and resumed.fit().status == "finished"
    assert resumed.history == getattr(whole, "history")
    assert torch.equal(resumed.sample(4, seed=3), sample_images(getattr(whole, "models"), config, 4, seed=3))
