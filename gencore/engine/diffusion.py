"""Denoising diffusion, one small function per equation: the forward process and its loss (Ho et
al. 2020, "DDPM"), the ancestral sampler (their Algorithm 2), the deterministic DDIM sampler
(Song et al. 2021) and classifier-free guidance (Ho & Salimans 2022).

Notation (Ho et al. 2020): beta_t is the variance of the noise added at step t, alpha_t = 1 - beta_t,
and abar_t = alpha_0 alpha_1 ... alpha_t (the ``alphas_cumprod``), so that

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)                          (Ho et al. eq. 4)

Timesteps count from 0, as in the ``diffusers`` library: t = 0, ..., T-1 here is the paper's
t = 1, ..., T, and abar at t = -1 is 1 (the clean image). Every tensor is float32, as diffusers'
schedulers are, so the two agree to float32 rounding (tests/test_diffusion.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gencore.engine.errors import GencoreError

__all__ = ["BETA_END", "BETA_START", "NoiseSchedule", "classifier_free_guidance", "ddim_step", "ddpm_step",
           "drop_labels", "linear_schedule", "noise_prediction_loss", "posterior_mean", "posterior_variance",
           "predict_x0", "q_sample", "sampling_timesteps"]

BETA_START = 1e-4  # Ho et al. 2020, section 4: betas rise linearly from 1e-4 ...
BETA_END = 0.02  # ... to 0.02 over T = 1000 steps, so that abar_T is near 0 (4.0e-5): x_T is almost pure noise


@dataclass(frozen=True)
class NoiseSchedule:
    """The forward process's variances, each (T,) float32: beta_t, alpha_t = 1 - beta_t and
    abar_t = prod_{s <= t} alpha_s."""

    betas: torch.Tensor
    alphas: torch.Tensor
    alphas_cumprod: torch.Tensor

    @property
    def steps(self) -> int:
        """T, the number of noising steps."""
        return int(self.betas.shape[0])

    def alpha_bar(self, t: int) -> torch.Tensor:
        """abar_t as a 0-d tensor; 1 for t < 0 (no noise at all: x_{-1} is the clean image x_0)."""
        if t >= self.steps:
            raise GencoreError(f"timestep {t} is past the schedule's last, {self.steps - 1}.")
        return self.alphas_cumprod[t] if t >= 0 else self.alphas_cumprod.new_ones(())

    def to(self, device: torch.device | str) -> "NoiseSchedule":
        """The same schedule on another device."""
        return NoiseSchedule(self.betas.to(device), self.alphas.to(device), self.alphas_cumprod.to(device))


def linear_schedule(steps: int = 1000, beta_start: float = BETA_START, beta_end: float = BETA_END) -> NoiseSchedule:
    """Ho et al. 2020's linear schedule: beta_t evenly spaced from beta_start to beta_end over T steps.
    With the default ends, T much below 1000 leaves signal in x_T (abar_T ~ exp(-0.0101 T))."""
    if not isinstance(steps, int) or steps < 1:
        raise GencoreError(f"a noise schedule needs a whole number of steps of at least 1, got {steps!r}.")
    betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float32)  # (T,)
    alphas = 1.0 - betas  # (T,)
    return NoiseSchedule(betas, alphas, torch.cumprod(alphas, dim=0))


def _per_image(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, 1, 1), one number per image broadcast over its pixels."""
    return values.view(-1, *([1] * (like.dim() - 1)))


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """The forward process in closed form (Ho et al. eq. 4): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.
    x0 and noise (B, C, H, W), t (B,) int64 on the schedule's device."""
    abar = _per_image(schedule.alphas_cumprod[t], x0)  # (B, 1, 1, 1)
    return abar.sqrt() * x0 + (1.0 - abar).sqrt() * noise


def noise_prediction_loss(noise: torch.Tensor, predicted_noise: torch.Tensor) -> torch.Tensor:
    """Ho et al.'s simple loss (eq. 14), E ||eps - eps_theta(x_t, t)||^2, as a mean over pixels and
    images: one number per batch (predicting eps_theta = 0 scores 1, the variance of eps)."""
    return (noise - predicted_noise).pow(2).mean()


def drop_labels(labels: torch.Tensor, p_uncond: float, null_class: int) -> torch.Tensor:
    """Classifier-free guidance's training (Ho & Salimans 2022, Algorithm 1): each label (B,) replaced
    by the null class with probability p_uncond, so one network learns eps_theta(x_t, t, y) and, on
    the null class, the unconditional eps_theta(x_t, t). A uniform number is drawn per label even
    when p_uncond is 0, so the random stream does not depend on it."""
    dropped = torch.rand(labels.shape, device=labels.device) < p_uncond  # (B,) True with probability p_uncond
    return torch.where(dropped, torch.full_like(labels, null_class), labels)


def predict_x0(model_output: torch.Tensor, t: int, x_t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """The clean image the predicted noise implies, eq. 4 solved for x_0 (Ho et al. eq. 15):
    x0_hat = (x_t - sqrt(1 - abar_t) eps_theta) / sqrt(abar_t)."""
    abar = schedule.alpha_bar(t)
    return (x_t - (1.0 - abar).sqrt() * model_output) / abar.sqrt()


def posterior_mean(x0: torch.Tensor, x_t: torch.Tensor, t: int, t_prev: int, schedule: NoiseSchedule) -> torch.Tensor:
    """mu_tilde(x_t, x_0), the mean of q(x_prev | x_t, x_0) (Ho et al. eq. 7):

        sqrt(abar_prev) beta / (1 - abar_t) x_0 + sqrt(alpha) (1 - abar_prev) / (1 - abar_t) x_t,

    where alpha = abar_t / abar_prev and beta = 1 - alpha: alpha_t and beta_t themselves when t_prev = t - 1
    (up to rounding), the whole stride's when the sampler skips steps (as diffusers computes them)."""
    abar_t, abar_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
    alpha = abar_t / abar_prev
    beta = 1.0 - alpha
    return (abar_prev.sqrt() * beta / (1.0 - abar_t)) * x0 + (alpha.sqrt() * (1.0 - abar_prev) / (1.0 - abar_t)) * x_t


def posterior_variance(t: int, t_prev: int, schedule: NoiseSchedule) -> torch.Tensor:
    """beta_tilde = (1 - abar_prev) / (1 - abar_t) beta, the variance of q(x_prev | x_t, x_0) (Ho et al.
    eq. 7): the smaller of their two choices of sigma_t^2, diffusers' "fixed_small"; 0 when t_prev < 0."""
    abar_t, abar_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
    return (1.0 - abar_prev) / (1.0 - abar_t) * (1.0 - abar_t / abar_prev)


def ddpm_step(model_output: torch.Tensor, t: int, x_t: torch.Tensor, schedule: NoiseSchedule,
              noise: torch.Tensor | None, t_prev: int | None = None, clip: bool = True) -> torch.Tensor:
    """One ancestral step x_t -> x_prev (Ho et al. 2020, Algorithm 2, written through x0_hat):

        x0_hat = predict_x0(eps_theta, t, x_t), clipped to [-1, 1] (diffusers' default: the data's range),
        x_prev = mu_tilde(x_t, x0_hat) + sqrt(beta_tilde) z,   z ~ N(0, I) (``noise``, (B, C, H, W)).

    Without clipping this is Algorithm 2's 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - abar_t) eps_theta) + sigma_t z.
    ``t_prev`` (default t - 1) lets a sampler skip steps, as diffusers' DDPMScheduler does with fewer
    inference steps. The last step (t_prev < 0) adds no noise and ``noise`` may be None there."""
    t_prev = t - 1 if t_prev is None else t_prev
    if not -1 <= t_prev < t:
        raise GencoreError(f"a reverse step goes from t to an earlier t_prev >= -1, got t={t}, t_prev={t_prev}.")
    x0 = predict_x0(model_output, t, x_t, schedule)
    if clip:
        x0 = x0.clamp(-1.0, 1.0)
    mean = posterior_mean(x0, x_t, t, t_prev, schedule)
    if t_prev < 0:
        return mean  # Algorithm 2: z = 0 at the last step, so x_0 is the mean itself
    if noise is None:
        raise GencoreError(f"a DDPM step from t={t} to {t_prev} adds noise: give it z ~ N(0, I) of x_t's shape.")
    return mean + posterior_variance(t, t_prev, schedule).sqrt() * noise


def ddim_step(model_output: torch.Tensor, t: int, t_prev: int, x_t: torch.Tensor, schedule: NoiseSchedule,
              eta: float = 0.0, noise: torch.Tensor | None = None, clip: bool = True) -> torch.Tensor:
    """One DDIM step x_t -> x_prev (Song et al. 2021, eq. 12):

        x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_theta + sigma z,
        sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)     (eq. 16).

    eta = 0 (the default) is deterministic: the same x_T always gives the same image, and the step
    may jump many timesteps at once. x0_hat is clipped to [-1, 1] as diffusers' DDIMScheduler does by
    default, which keeps eps_theta unclipped in the second term. t_prev = -1 ends at abar = 1, x_0."""
    if not -1 <= t_prev < t:
        raise GencoreError(f"a reverse step goes from t to an earlier t_prev >= -1, got t={t}, t_prev={t_prev}.")
    abar_prev = schedule.alpha_bar(t_prev)
    x0 = predict_x0(model_output, t, x_t, schedule)
    if clip:
        x0 = x0.clamp(-1.0, 1.0)
    sigma = eta * posterior_variance(t, t_prev, schedule).sqrt()
    x_prev = abar_prev.sqrt() * x0 + (1.0 - abar_prev - sigma**2).sqrt() * model_output
    if eta > 0:
        if noise is None:
            raise GencoreError(f"a DDIM step with eta={eta} adds noise: give it z ~ N(0, I) of x_t's shape.")
        x_prev = x_prev + sigma * noise
    return x_prev


def sampling_timesteps(steps: int, sampling_steps: int) -> torch.Tensor:
    """The timesteps a sampler visits, (sampling_steps,) int64 from high to low, with "leading"
    spacing (diffusers' default): every (T // n)-th timestep from 0, reversed. T = 1000, n = 50
    gives 980, 960, ..., 20, 0; n = T gives every step, T - 1 down to 0 (Algorithm 2 itself)."""
    if not isinstance(sampling_steps, int) or not 1 <= sampling_steps <= steps:
        raise GencoreError(f"sampling steps must be a whole number from 1 to the {steps} diffusion steps, "
                           f"got {sampling_steps!r}.")
    stride = steps // sampling_steps
    return (torch.arange(sampling_steps, dtype=torch.int64) * stride).flip(0)


def classifier_free_guidance(eps_cond: torch.Tensor, eps_uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans 2022, eq. 6): eps = (1 + w) eps_cond - w eps_uncond,
    i.e. eps_cond + w (eps_cond - eps_uncond). w = 0 is the conditional prediction alone; w > 0 pushes
    further from the unconditional one, towards images typical of the class. diffusers' pipelines
    write eps_uncond + s (eps_cond - eps_uncond): their guidance_scale s is 1 + w."""
    return eps_cond + w * (eps_cond - eps_uncond)
