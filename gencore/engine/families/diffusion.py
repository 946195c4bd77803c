"""The DDPM family: a U-Net trained to predict the noise in x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps
(Ho et al. 2020), sampled by running the reverse process from x_T ~ N(0, I): the deterministic DDIM
sampler (Song et al. 2021) by default, or Ho et al.'s ancestral one. It has no latent vector and
many network passes per image. It is conditional with classifier-free guidance (Ho & Salimans
2022): trained with each label replaced by a "null" class with probability p_uncond, one network
gives eps_theta(x_t, t, y) and eps_theta(x_t, t), and sampling moves along their difference.

The mathematics is in gencore.engine.diffusion, one function per equation; this file only puts
it into a training step and a sampler. Left out of Ho et al.'s recipe, for short CPU runs: the
exponential moving average of the weights (decay 0.9999 averages over ~10,000 steps, more than a
CPU run takes), the learning-rate warm-up, gradient clipping, dropout and self-attention.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from gencore.engine import diffusion
from gencore.engine.datasets import get_dataset
from gencore.engine.errors import GencoreError
from gencore.engine.families.base import SAMPLE_BATCH, Family, balanced_classes, Metrics, Models, Optimizers, Parts, RunConfig, Settings
from gencore.engine.families.settings import setting
from gencore.engine.models.unet import UNet

SAMPLERS = ("ddim", "ddpm")  # the reverse processes the sampler can run (DdpmSettings.sampler)


@dataclass(frozen=True)
class DdpmSettings:
    """The DDPM's own settings: the noise schedule's length, how it samples, and classifier-free guidance."""

    # The network's t means "noise level abar_t of a T-step schedule": no weight changes shape with T, but
    # weights trained for one T mean something else under another, so T counts among the fields a
    # checkpoint's weights depend on (config.architecture_fields), which shapes_weights marks.
    diffusion_steps: int = setting(1000, help="DDPM noising steps T (default 1000; betas from 1e-4 to 0.02 over them)",
                                   why="Ho et al. 2020: T = 1000, which brings abar_T to 4e-5 (x_T almost pure noise)",
                                   minimum=1, above=True, maximum=10_000, shapes_weights=True)
    sampling_steps: int = setting(50, help="DDPM reverse steps per sample (default 50): every (T // n)-th timestep "
                                           "(diffusers' leading spacing); set it to T for Ho et al.'s full chain",
                                  why="Song et al. 2021, Table 1: 50 DDIM steps come close to the 1000-step chain, "
                                      "at 1/20 of its cost", minimum=1, maximum=10_000)
    sampler: str = setting("ddim", help="DDPM sampler: ddim (default, deterministic, Song et al. 2021) or ddpm "
                                        "(ancestral, Ho et al. 2020 Algorithm 2, fresh noise at every step)",
                           why="with few steps, DDIM's deterministic jumps lose less than ancestral ones "
                               "(Song et al. 2021)",
                           choices=SAMPLERS)
    guidance: float = setting(0.3, help="DDPM classifier-free guidance w: eps = (1 + w) eps(x, y) - w eps(x) "
                                        "(default 0.3; 0: the conditional prediction alone, one pass per step)",
                              why="Ho & Salimans 2022: the best FID came with a little guidance (w 0.1-0.3); "
                                  "more trades diversity for class fidelity", minimum=0.0, maximum=100.0)
    p_uncond: float = setting(0.1, help="DDPM probability of training on the null class instead of the label "
                                        "(default 0.1): what makes the unconditional prediction for guidance",
                              why="Ho & Salimans 2022 trained with 0.1 and 0.2, both better than 0.5",
                              minimum=0.0, maximum=0.5)


@functools.lru_cache(maxsize=8)
def noise_schedule(steps: int, device: torch.device) -> diffusion.NoiseSchedule:
    """Ho et al.'s linear schedule of T steps on a device, made once per (T, device)."""
    return diffusion.linear_schedule(steps).to(device)


def check_settings(config: RunConfig) -> None:
    """The settings that only make sense together, checked before any training or sampling."""
    if config.sampling_steps > config.diffusion_steps:
        raise GencoreError(f"sampling_steps ({config.sampling_steps}) cannot exceed diffusion_steps "
                           f"({config.diffusion_steps}): a sampler visits at most every timestep once.")
    if config.guidance > 0 and config.p_uncond == 0:
        raise GencoreError("guidance needs the unconditional prediction, which p_uncond = 0 never trains: "
                           "set p_uncond above 0 (0.1 is Ho & Salimans') or guidance to 0.")


def build(config: RunConfig, image_shape: tuple[int, int, int]) -> Models:
    """The U-Net at the run's width (the kit's shared setting; the cpu-fast preset and the shipped MNIST
    reference use 16) with one class embedding row per class of the dataset and one for "no class"."""
    check_settings(config)
    return {"unet": UNet(image_shape, config.width, get_dataset(config.dataset).classes_count)}


def ddpm_training_step(models: Models, optimizers: Optimizers, x: torch.Tensor, labels: torch.Tensor,
                       config: RunConfig, step: int, parts: Parts) -> Metrics:
    """One update on a batch x (B, C, H, W) in [-1, 1] with its classes (B,) (Ho et al. 2020, Algorithm 1,
    with Ho & Salimans' label dropout): t ~ Uniform{0, ..., T-1} and eps ~ N(0, I) per image,
    x_t = sqrt(abar_t) x + sqrt(1 - abar_t) eps, and a gradient step on ||eps - eps_theta(x_t, t, y)||^2."""
    unet, optimizer = models["unet"], optimizers["unet"]
    schedule = noise_schedule(config.diffusion_steps, x.device)
    t = torch.randint(0, schedule.steps, (x.shape[0],), device=x.device)  # (B,): one noise level per image
    noise = torch.randn_like(x)  # (B, C, H, W): eps ~ N(0, I)
    x_t = parts["q_sample"](x, t, noise, schedule)  # (B, C, H, W)
    labels = parts["drop_labels"](labels, config.p_uncond, getattr(unet, "null_class"))  # (B,), some now "no class"
    loss = parts["noise_prediction_loss"](noise, unet(x_t, t, labels))  # mean over pixels and images
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"loss": loss.detach()}


def predict_noise(unet: torch.nn.Module, x_t: torch.Tensor, t: int, labels: torch.Tensor,
                  guidance: float) -> torch.Tensor:
    """eps for x_t (B, C, H, W) at timestep t for classes (B,): the conditional prediction, or with
    guidance w > 0, (1 + w) eps(x_t, t, y) - w eps(x_t, t, null) from one pass over both halves."""
    t_batch = torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device)  # (B,)
    if guidance == 0:
        return unet(x_t, t_batch, labels)
    null = torch.full_like(labels, getattr(unet, "null_class"))  # (B,)
    both = unet(torch.cat([x_t, x_t]), torch.cat([t_batch, t_batch]), torch.cat([labels, null]))  # (2B, C, H, W)
    eps_cond, eps_uncond = both.chunk(2)
    return diffusion.classifier_free_guidance(eps_cond, eps_uncond, guidance)


def sample(models: Models, config: RunConfig, n: int, generator: torch.Generator, classes: torch.Tensor | None,
           device: torch.device) -> torch.Tensor:
    """n images (n, C, H, W) in [0, 1] on the CPU: x_T ~ N(0, I), then one reverse step per sampling
    timestep (980, 960, ..., 0 for T = 1000 and 50 steps). Every random number (x_T, and the ddpm
    sampler's noise at each step, drawn for all n images at once) comes from ``generator`` on the CPU,
    so a seed gives the same random numbers on any device and however the passes are split into
    batches. No classes asked for: 0, 1, ..., K-1,
    0, 1, ... (every class an equal share, as the other conditional families draw)."""
    check_settings(config)
    unet = models["unet"]
    schedule = noise_schedule(config.diffusion_steps, device)
    if classes is None:
        classes = balanced_classes(n, config)  # 0, 1, ..., K-1, 0, ...: as the other conditional families draw
    labels = classes.to(device)
    shape = (n, *getattr(unet, "image_shape"))
    x = torch.randn(shape, generator=generator).to(device)  # (n, C, H, W): x_T
    timesteps = diffusion.sampling_timesteps(schedule.steps, config.sampling_steps).tolist()
    batch = SAMPLE_BATCH // 2 if config.guidance else SAMPLE_BATCH  # guidance doubles each pass
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1  # -1: the last step lands on x_0
        eps = torch.cat([predict_noise(unet, chunk, t, chunk_labels, config.guidance)
                         for chunk, chunk_labels in zip(x.split(batch), labels.split(batch))])  # (n, C, H, W)
        if config.sampler == "ddim":
            x = diffusion.ddim_step(eps, t, t_prev, x, schedule)
        else:
            noise = torch.randn(shape, generator=generator).to(device) if t_prev >= 0 else None
            x = diffusion.ddpm_step(eps, t, x, schedule, noise, t_prev=t_prev)
    return x.add(1.0).div(2.0).clamp(0.0, 1.0).float().cpu()  # [-1, 1] -> [0, 1]


DDPM_FAMILY = Family(
    name="ddpm",
    title="DDPM",
    build=build,
    step=ddpm_training_step,
    parts={"q_sample": diffusion.q_sample, "drop_labels": diffusion.drop_labels,
           "noise_prediction_loss": diffusion.noise_prediction_loss},
    sample_role=None,  # no one-pass decoder: the sampler runs the U-Net sampling_steps times
    sampler=sample,
    sampling_networks=("unet",),
    has_latent=False,  # x_T has the image's shape: there is no smaller latent vector
    conditional=True,  # with label dropout: one network, conditional and unconditional
    value_range="symmetric",  # the forward process is scaled for data in [-1, 1] (and x0_hat clipped to it)
    metrics=("loss",),
    loss_panels=(("Noise-prediction loss per pixel", ("loss",)),),
    labels={"loss": "mean (eps - eps_theta(x_t, t))^2"},
    reference_lines={"loss": ((1.0, "1 (predicting eps = 0)", "--"),)},
    # No seed study of its own: the defaults are the paper's.
    seed_settings=Settings(128, 2e-4, (0.9, 0.999),
                           "Ho et al. 2020's, the DDPM having no seed study: Adam, lr 2e-4, batch 128"),
    paper_settings=Settings(128, 2e-4, (0.9, 0.999), "Ho et al. 2020, appendix B (CIFAR-10): Adam, lr 2e-4, batch 128"),
    own_settings=DdpmSettings,
    notebooks={"mnist": "09_diffusion.ipynb"},  # the shipped reference is MNIST's (no CIFAR-10 notebook yet)
    # cpu-fast, the shipped MNIST reference's settings, measured on a 2-core AMD EPYC (CPU family 25, model 17): width 16 trains
    # about 590 images/s (width 32: 155) and draws 1,000 images at 50 steps in 79 s (32: 187 s); 25 DDIM steps
    # halve that; lr 1e-3 left a third of 2e-4's loss after 200 steps (0.046 against 0.155); guidance 0 keeps
    # one pass a step. CIFAR-10's are the same, unmeasured beyond its speed; the time budgets are the other
    # families' presets', so the families compare at equal time.
    presets={"cpu-fast": {
        "mnist": {"width": 16, "lr": 1e-3, "sampling_steps": 25, "guidance": 0.0, "time_budget": 5.0},
        "cifar10": {"width": 16, "lr": 1e-3, "sampling_steps": 25, "guidance": 0.0, "time_budget": 10.0}}},
)
