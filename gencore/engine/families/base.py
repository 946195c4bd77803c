"""What a model family is: one record holding everything that differs between the VAE, the
GAN, the WGAN-GP and any family added later. The training loop, the figures, the metrics, the
benchmark and the notebooks ask the record; none of them branches on the model's name.

A step function has the signature ``step(models, optimizers, x, labels, config, step, parts)``:
a batch's images ``x`` (B, C, H, W) and their class labels (B,) int64 (an unconditional family
ignores them). It returns its metrics as detached 0-d tensors (no host sync), keyed by
``metrics``. ``parts`` holds the functions it calls by name (the reparameterisation, the
losses): a learner can replace any of them (``Trainer(config, overrides={...})``).

A family samples through its record too (``Family.sample``): ``n`` images in [0, 1] from a
random generator, optionally for given classes, in as many network passes as its sampler needs.
A one-pass latent model needs only ``sample_role``, the network whose ``.sample(z)`` decodes
z ~ N(0, I) (``.sample(z, labels)`` for a conditional one); any other family gives its own ``sampler``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import torch
from torch import nn

from gencore.engine.datasets import get_dataset
from gencore.engine.errors import GencoreError
from gencore.engine.families.settings import NoSettings, Setting, settings_fields

TEST_BATCH = 500  # images per forward pass when a family measures the test split; bounds memory, not the result
SAMPLE_BATCH = 1024  # images per network pass when sampling; bounds memory, not the result
Metrics = dict[str, torch.Tensor]
Models = dict[str, nn.Module]
Optimizers = dict[str, torch.optim.Optimizer]
Parts = Mapping[str, Callable[..., Any]]


class RunConfig(Protocol):
    """What a family reads of a run's configuration (gencore.engine.config.TrainConfig is one):
    the shared settings, and its own settings as attributes (``config.n_critic``)."""

    @property
    def model(self) -> str: ...
    @property
    def dataset(self) -> str: ...
    @property
    def latent_dim(self) -> Any: ...  # an int, or None for a family without a latent vector
    @property
    def width(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def seed(self) -> int: ...
    def __getattr__(self, name: str) -> Any: ...  # the family's own settings


StepFunction = Callable[[Models, Optimizers, torch.Tensor, torch.Tensor, Any, int, Parts], Metrics]
# (models, config, n, generator, classes (n,) int64 or None, device) -> (n, C, H, W) float32 in [0, 1] on the CPU
SampleFunction = Callable[[Models, Any, int, torch.Generator, "torch.Tensor | None", torch.device], torch.Tensor]


@dataclass(frozen=True)
class Settings:
    """Optimiser settings with where they come from."""

    batch_size: int
    lr: float
    betas: tuple[float, float]
    source: str


@dataclass(frozen=True)
class Family:
    """One model family: how to build, train, sample, plot and default it."""

    name: str  # the --model value
    title: str  # for figures and text
    build: Callable[[Any, tuple[int, int, int]], Models]  # (config, image shape) -> the networks by role
    step: StepFunction  # one optimisation step on one batch
    parts: Parts  # the functions the step calls by name; any may be overridden
    sample_role: str | None  # the network whose .sample(z) gives images in [0, 1] (None: the family has its own sampler)
    value_range: str  # how batches are scaled: "unit" [0, 1] (sigmoid output) or "symmetric" [-1, 1] (tanh)
    metrics: tuple[str, ...]  # the step's history columns, in plotting order
    loss_panels: tuple[tuple[str, tuple[str, ...]], ...]  # (title, columns): the seed study's groupings
    labels: Mapping[str, str]  # legend text per column
    reference_lines: Mapping[str, tuple[tuple[float, str, str], ...]]  # column -> (value, label, line style) guides
    seed_settings: Settings  # the seed study's optimiser settings: the configuration's defaults
    paper_settings: Settings  # the original paper's, which the course notebooks may use
    own_settings: type = NoSettings  # the family's own settings: a frozen dataclass of setting(...) fields
    has_latent: bool = True  # draws from a latent vector z (latent_dim is then a setting of every run)
    conditional: bool = False  # the step uses the labels and the sampler takes classes
    sampler: SampleFunction | None = None  # None: one pass of models[sample_role].sample(z), z ~ N(0, I)
    sampling_networks: tuple[str, ...] = ()  # the networks a shipped model keeps (default: the sample_role's)
    layout: torch.memory_format = torch.contiguous_format  # channels_last for convolutional networks
    precisions: tuple[str, ...] = ("fp32",)  # what the family may train in (bf16 where it measured no worse)
    steps_per_update: Callable[[Any], int] = lambda config: 1  # steps per generator update
    # Numbers on the test split after each epoch: (models, test images, device, batch size, the test labels
    # for a conditional family, else None) -> columns.
    epoch_metrics: Callable[[Models, torch.Tensor, torch.device, int, "torch.Tensor | None"], dict[str, float]] | None = None
    # A discrete likelihood bound's pieces on a test split (models, uint8 images, device, batch size) ->
    # test_kl, test_mse, decoder_sigma, test_nll_discrete per image (the VAE's; see gencore.quality.metrics.vae_bound).
    likelihood: Callable[[Models, torch.Tensor, torch.device, int], dict[str, float]] | None = None
    extra_figures: Callable[[Any, tuple[str, ...] | None], dict[str, Any]] | None = None  # (run view, names wanted)
    # How many latent dimensions the model uses: nats of KL per dimension, averaged over images (the VAE's).
    latent_usage: Callable[[Models, torch.Tensor], torch.Tensor] | None = None
    notebooks: Mapping[str, str] = field(default_factory=dict)  # dataset -> the course notebook that teaches it
    presets: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)  # preset -> dataset -> settings
    # The seed study's width for this family; None: the study's --gan-width (convolutional, narrowed on a CPU).
    study_width: int | None = None
    in_seed_study: bool = False  # one of the seed study's three models (what `python -m gencore study` trains by default)

    def __post_init__(self) -> None:
        if self.sample_role is None and self.sampler is None:
            raise GencoreError(f"the {self.name} family needs a sample_role or a sampler of its own.")
        settings_fields(self.own_settings)  # every field made by setting(...): fails at registration, not later

    @property
    def settings(self) -> tuple[Setting, ...]:
        """The family's own settings, as the kit reads them."""
        return settings_fields(self.own_settings)

    @property
    def own_fields(self) -> tuple[str, ...]:
        """The names of the family's own settings (the WGAN-GP's n_critic, gp_weight, critic_norm)."""
        return tuple(s.name for s in self.settings)

    @property
    def shipped_networks(self) -> tuple[str, ...]:
        """The networks sampling needs: what a shipped reference model keeps."""
        return self.sampling_networks or ((self.sample_role,) if self.sample_role else ())

    def bind(self, overrides: Mapping[str, Callable[..., Any]] | None = None) -> Callable[..., Metrics]:
        """The step with its parts fixed: gencore's, or the caller's where ``overrides`` names one.
        The result has the signature ``(models, optimizers, x, labels, config, step)``."""
        unknown = sorted(set(overrides or {}) - set(self.parts))
        if unknown:
            raise GencoreError(f"the {self.name} step has no part named {', '.join(unknown)}: "
                               f"it calls {', '.join(sorted(self.parts))}.")
        parts = {**self.parts, **(overrides or {})}

        def step(models: Models, optimizers: Optimizers, x: torch.Tensor, labels: torch.Tensor, config: Any,
                 index: int) -> Metrics:
            return self.step(models, optimizers, x, labels, config, index, parts)

        step.__doc__ = self.step.__doc__
        return step

    def sample(self, models: Models, config: Any, n: int, generator: torch.Generator,
               classes: torch.Tensor | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
        """``n`` images (n, C, H, W) in [0, 1] on the CPU, every random number drawn from
        ``generator`` (never the run's own), for the given classes (n,) if the family is
        conditional. Networks in training mode are put in inference mode while they sample."""
        if classes is not None and not self.conditional:
            raise GencoreError(f"the {self.name} is unconditional: it cannot draw a given class "
                               "(train a conditional model for that).")
        device = torch.device(device)
        networks = [models[role] for role in self.shipped_networks if role in models] or list(models.values())
        modes = [net.training for net in networks]
        for net in networks:
            net.eval()
        try:
            with torch.no_grad():
                if self.sampler is not None:
                    return self.sampler(models, config, n, generator, classes, device)
                if self.conditional:
                    labels = balanced_classes(n, config) if classes is None else classes
                    return one_pass_sample(models[str(self.sample_role)], config.latent_dim, n, generator, device, labels)
                return one_pass_sample(models[str(self.sample_role)], config.latent_dim, n, generator, device)
        finally:
            for net, mode in zip(networks, modes):
                net.train(mode)


def one_pass_sample(net: nn.Module, latent_dim: int, n: int, generator: torch.Generator,
                    device: torch.device, labels: torch.Tensor | None = None) -> torch.Tensor:
    """z ~ N(0, I) of shape (n, latent_dim), drawn at once on the CPU (the same seed, the same
    points on any device), decoded SAMPLE_BATCH at a time by ``net.sample`` (given ``labels`` (n,)
    too for a conditional network: ``net.sample(z, labels)``)."""
    z = torch.randn(n, latent_dim, generator=generator)
    decode: Callable[..., torch.Tensor] = getattr(net, "sample")
    if labels is None:
        return torch.cat([decode(chunk.to(device)).float().cpu() for chunk in z.split(SAMPLE_BATCH)])
    return torch.cat([decode(chunk.to(device), classes.to(device)).float().cpu()
                      for chunk, classes in zip(z.split(SAMPLE_BATCH), labels.split(SAMPLE_BATCH))])


def balanced_classes(n: int, config: Any) -> torch.Tensor:
    """The classes a conditional family draws when none are asked for: 0, 1, ..., K-1, 0, 1, ... (n,), every
    class an equal share, in turn in a figure's reading order. (Quality measurements ask for the test split's
    own labels instead: gencore.quality.metrics.asked_classes.)"""
    return torch.arange(n) % get_dataset(config.dataset).classes_count
