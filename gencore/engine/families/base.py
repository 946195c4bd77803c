"""What a model family is: one record holding everything that differs between the VAE, the
GAN and the WGAN-GP. The training loop, the figures, the metrics, the benchmark and the
notebooks ask the record; none of them branches on the model's name.

A step function has the signature ``step(models, optimizers, x, config, step, parts)`` and
returns its metrics as detached 0-d tensors (no host sync), keyed by ``metrics``. ``parts``
holds the functions it calls by name (the reparameterisation, the losses): a learner can
replace any of them (``Trainer(config, overrides={...})``) and train with their own code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import torch
from torch import nn

from gencore.engine.errors import GencoreError

if TYPE_CHECKING:  # type hints only: config.py imports the registry, not the other way round
    from gencore.engine.config import TrainConfig

TEST_BATCH = 500  # images per forward pass when a family measures the test split; bounds memory, not the result
Metrics = dict[str, torch.Tensor]
Models = dict[str, nn.Module]
Optimizers = dict[str, torch.optim.Optimizer]
Parts = Mapping[str, Callable[..., Any]]
StepFunction = Callable[[Models, Optimizers, torch.Tensor, "TrainConfig", int, Parts], Metrics]


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
    build: Callable[["TrainConfig", tuple[int, int, int]], Models]  # the networks by role
    step: StepFunction  # one optimisation step on one batch
    parts: Parts  # the functions the step calls by name; any may be overridden
    sample_role: str  # the network whose .sample(z) gives images in [0, 1]
    value_range: str  # how batches are scaled: "unit" [0, 1] (sigmoid output) or "symmetric" [-1, 1] (tanh)
    metrics: tuple[str, ...]  # the step's history columns, in plotting order
    loss_panels: tuple[tuple[str, tuple[str, ...]], ...]  # (title, columns): the seed study's groupings
    labels: Mapping[str, str]  # legend text per column
    reference_lines: Mapping[str, tuple[tuple[float, str, str], ...]]  # column -> (value, label, line style) guides
    seed_settings: Settings  # the seed study's optimiser settings: the configuration's defaults
    paper_settings: Settings  # the original paper's, which the course notebooks may use
    layout: torch.memory_format = torch.contiguous_format  # channels_last for convolutional networks
    precisions: tuple[str, ...] = ("fp32",)  # what the family may train in (bf16 where it measured no worse)
    steps_per_update: Callable[["TrainConfig"], int] = lambda config: 1  # steps per generator update
    # Numbers on the test split after each epoch: (models, test images, device, batch size) -> columns.
    epoch_metrics: Callable[[Models, torch.Tensor, torch.device, int], dict[str, float]] | None = None
    # A discrete likelihood bound's pieces on a test split (models, uint8 images, device, batch size) ->
    # test_kl, test_mse, decoder_sigma, test_nll_discrete per image (the VAE's; see gencore.quality.metrics.vae_bound).
    likelihood: Callable[[Models, torch.Tensor, torch.device, int], dict[str, float]] | None = None
    extra_figures: Callable[[Any, tuple[str, ...] | None], dict[str, Any]] | None = None  # (run view, names wanted)
    # How many latent dimensions the model uses: nats of KL per dimension, averaged over images (the VAE's).
    latent_usage: Callable[[Models, torch.Tensor], torch.Tensor] | None = None
    own_fields: tuple[str, ...] = ()  # configuration fields only this family's step reads (recorded commands name them)
    notebooks: Mapping[str, str] = field(default_factory=dict)  # dataset -> the course notebook that teaches it
    presets: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)  # preset -> dataset -> settings
    # The seed study's width for this family; None: the study's --gan-width (convolutional, narrowed on a CPU).
    study_width: int | None = None

    def bind(self, overrides: Mapping[str, Callable[..., Any]] | None = None) -> Callable[..., Metrics]:
        """The step with its parts fixed: gencore's, or the caller's where ``overrides`` names one.
        The result has the signature ``(models, optimizers, x, config, step)``."""
        unknown = sorted(set(overrides or {}) - set(self.parts))
        if unknown:
            raise GencoreError(f"the {self.name} step has no part named {', '.join(unknown)}: "
                               f"it calls {', '.join(sorted(self.parts))}.")
        parts = {**self.parts, **(overrides or {})}

        def step(models: Models, optimizers: Optimizers, x: torch.Tensor, config: "TrainConfig", index: int) -> Metrics:
            return self.step(models, optimizers, x, config, index, parts)

        step.__doc__ = self.step.__doc__
        return step
