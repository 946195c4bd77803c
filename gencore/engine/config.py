"""Training configuration: one dataclass of the settings every family shares, every default
explained, validated on creation; each family's own settings (the WGAN-GP's n_critic, the VAE's
decoder_variance) come from its record (gencore.engine.families.settings) and read as attributes
of the configuration: ``config.n_critic``. A configuration's dict is flat, as config.json is."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from gencore.engine.datasets import dataset_names
from gencore.engine.errors import CheckpointError, GencoreError
from gencore.engine.families import FAMILIES, Family, get_family
from gencore.engine.families.settings import make_settings
from gencore.engine.parse import parse_choice, parse_float, parse_int

MODELS = tuple(FAMILIES)  # the seed study's vae, gan, wgan-gp, then cvae, cgan, ddpm: one record each in gencore.engine.families
DATASETS = dataset_names()  # "mnist", "cifar10": one record each in gencore.engine.datasets
MAX_LATENT_DIM = 4096  # larger than any study needs; a typo like 64000 would exhaust memory
DEFAULT_LATENT_DIM = 64  # the one size the seed study uses on both datasets
PRECISIONS = ("fp32", "bf16", "auto")

# Shared fields that fix the shapes of the saved weights: a checkpoint must agree on all of them
# (and on the family's own settings that shape weights).
ARCHITECTURE_FIELDS = ("model", "dataset", "latent_dim", "width")
# Shared fields that change the numbers a run produces: resuming with another value would mix two runs
# (and so would the family's other settings).
TRAINING_FIELDS = ("batch_size", "lr", "betas", "seed", "subset", "precision")

# Shared fields added after runs were first named, with the value at which a run's name stays as it was.
UNNAMED_DEFAULTS = {"precision": "fp32"}

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def latent_words(latent_dim: int | None, after: str = ", ") -> str:
    """How a title or a table names the latent size: "latent 64" and then ``after``; nothing for a family without
    a latent vector (the DDPM), so no label reads "latent None"."""
    return "" if latent_dim is None else f"latent {latent_dim}{after}"


@dataclass(init=False)
class TrainConfig:
    """Everything that defines a training run. A checkpoint carries a copy of it.

    ``TrainConfig(model="wgan-gp", n_critic=2)``: the shared settings below by name, and the
    family's own settings by theirs (``Family.own_settings``), held in ``own``. Another family's
    setting is checked by that family's rules and not used (as when every setting was one flat
    field: one set of arguments serves every model)."""

    model: str = MODELS[0]  # one of the registered families; the first (the VAE), where the course starts
    dataset: str = DATASETS[0]  # one of the registered datasets; the first (MNIST), where the course starts
    # None: 64 (DEFAULT_LATENT_DIM) for a family with a latent vector; a family without one keeps None.
    latent_dim: int | None = None
    epochs: int = 20  # the seed's shorter setting; the study compares 20 with 100
    # The next three may be given as None: construction fills in the family's value, so after
    # construction they always hold a number (their types say what a built config holds).
    batch_size: int = None  # type: ignore[assignment]  # None: the seed's value for the family (VAE 128, GANs 64)
    lr: float = None  # type: ignore[assignment]  # None: the seed's value (VAE and GAN 1e-4, WGAN-GP 5e-5)
    betas: tuple[float, float] = None  # type: ignore[assignment]  # None: the family's Adam betas (DCGAN's 0.5, WGAN-GP's (0, 0.9))
    width: int = 64  # DCGAN's base channel count (ngf = ndf = 64); the VAE's hidden sizes are 8x, 4x, 2x it
    subset: int | None = None  # None: the full training split; N: a seeded, class-balanced sample of N images
    data_root: str | None = None  # None: $GENCORE_DATA, else a cache folder that torchvision downloads into
    seed: int = 0  # seeds Python, NumPy, torch and the data order
    device: str = "auto"  # auto picks CUDA, then MPS, then CPU
    time_budget: float | None = None  # minutes; training stops cleanly, saved, when it is spent
    eval_every: int = 5  # epochs between sample-quality rows in the history (and always the last); 0: never.
    # Measured with the shipped classifier (seconds each); it never changes the training numbers.
    precision: str = "fp32"  # GAN and WGAN-GP steps: "bf16" autocast, or "auto" (bf16 only where native and faster)
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes carried into config.json
    own: Any = None  # the family's own settings (an instance of Family.own_settings); None: its defaults

    def __init__(self, **values: Any) -> None:
        shared = {f.name: f for f in dataclasses.fields(self)}
        model = parse_choice("model", values.get("model", MODELS[0]), tuple(FAMILIES))  # any family registered since
        family = get_family(model)
        own_values = {k: values.pop(k) for k in list(values) if k in family.own_fields}
        foreign = {k: values.pop(k) for k in list(values) if k not in shared and _setting_owner(k) is not None}
        unknown = sorted(set(values) - set(shared))
        if unknown:
            raise GencoreError(f"unknown configuration field(s) {', '.join(unknown)}; known: "
                               f"{', '.join(sorted(set(shared) - {'own'} | set(family.own_fields)))}.")
        for name, value in foreign.items():  # another family's setting: checked by its rules, unused by this one
            owner = _setting_owner(name)
            if owner is not None and value is not None:
                owner[1].parse(value)
        for name, item in shared.items():
            if name in values:
                value = values[name]
            elif item.default_factory is not dataclasses.MISSING:
                value = item.default_factory()
            else:
                value = item.default
            object.__setattr__(self, name, value)
        own = values.get("own")
        given = {k: v for k, v in own_values.items() if v is not None}
        self.own = make_settings(family.own_settings, given, base=own, owner=model)
        self._validate()

    def _validate(self) -> None:
        self.model = parse_choice("model", self.model, tuple(FAMILIES))
        self.dataset = parse_choice("dataset", self.dataset, dataset_names())
        if not self.family.has_latent:
            if self.latent_dim is not None:
                raise GencoreError(f"the {self.model} has no latent vector: leave latent_dim out (got {self.latent_dim!r}).")
        else:
            latent = DEFAULT_LATENT_DIM if self.latent_dim is None else self.latent_dim
            self.latent_dim = parse_int("latent_dim", latent, 1, MAX_LATENT_DIM)
        self.epochs = parse_int("epochs", self.epochs, 1, None)
        self.width = parse_int("width", self.width, 1, 1024)
        self.seed = parse_int("seed", self.seed, 0, 2**63 - 1)
        self.eval_every = parse_int("eval_every", self.eval_every, 0, None)
        defaults = self.family.seed_settings
        if self.batch_size is None:
            self.batch_size = defaults.batch_size
        self.batch_size = parse_int("batch_size", self.batch_size, 1, None)
        if self.lr is None:
            self.lr = defaults.lr
        self.lr = parse_float("lr", self.lr, 0.0, above=True)
        if self.betas is None:
            self.betas = defaults.betas
        self.betas = _betas(self.betas)
        self.precision = parse_choice("precision", self.precision, PRECISIONS)
        if self.precision == "bf16" and "bf16" not in self.family.precisions:
            raise GencoreError(f"the {self.model} trains in fp32 only (bf16 is for the GAN and WGAN-GP steps): "
                               "use precision fp32 or auto.")
        if self.subset is not None:
            self.subset = parse_int("subset", self.subset, 1, None)
        if self.time_budget is not None:
            self.time_budget = parse_float("time_budget", self.time_budget, 0.0, above=True)
        if self.data_root is not None and not isinstance(self.data_root, str):
            self.data_root = str(self.data_root)
        if not isinstance(self.device, str) or not _DEVICE_PATTERN.match(self.device):
            raise GencoreError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}."
            )
        if not isinstance(self.extra, dict):
            raise GencoreError(f"extra must be a dict, got {type(self.extra).__name__}.")

    def __getattr__(self, name: str) -> Any:
        """The family's own settings read as attributes: ``config.n_critic``."""
        own = self.__dict__.get("own")
        if own is not None and name in {f.name for f in dataclasses.fields(own)}:
            return getattr(own, name)
        owner = _setting_owner(name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}"
                             + (f": it is a setting of the {owner[0]}, not of the {self.__dict__.get('model')}" if owner else ""))

    def __setattr__(self, name: str, value: Any) -> None:
        own = self.__dict__.get("own")
        if own is not None and name in self.family.own_fields:
            object.__setattr__(self, "own", make_settings(type(own), {name: value}, base=own, owner=self.model))
        else:
            object.__setattr__(self, name, value)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes``: shared settings and the family's own alike (``dataclasses.replace`` does the same)."""
        return dataclasses.replace(self, **changes)

    @property
    def family(self) -> Family:
        """The model's family record: its networks, step, defaults and plots (gencore.engine.families)."""
        return get_family(self.model)

    def to_dict(self) -> dict[str, Any]:
        """Flat, as config.json holds it: the shared settings, then the family's own (a family
        without a latent vector writes no latent_dim)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "own"}
        data["betas"] = list(self.betas)
        data["extra"] = dict(self.extra)
        if not self.family.has_latent:
            del data["latent_dim"]
        data.update({name: getattr(self.own, name) for name in self.family.own_fields})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """A configuration from its flat dict (config.json, a checkpoint's copy). Keys of other
        families' settings, which configurations of every family carried before each family owned
        its settings, are read as what they were: settings the run did not use."""
        shared = {f.name for f in dataclasses.fields(cls)} - {"own"}
        family = get_family(parse_choice("model", data.get("model", MODELS[0]), tuple(FAMILIES)))
        known = shared | set(family.own_fields)
        foreign = {k for k in data if k not in known and _setting_owner(k) is not None}
        unknown = sorted(set(data) - known - foreign)
        if unknown:
            raise GencoreError(f"unknown configuration field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        data = {k: v for k, v in data.items() if k not in foreign}
        if data.get("betas") is not None:
            data["betas"] = tuple(data["betas"])
        return cls(**data)

    def own_settings(self) -> dict[str, str]:
        """The family's own settings (the WGAN-GP's n_critic, gp_weight and critic_norm, the VAE's
        decoder_variance), as text: what labels a run beside its shared settings."""
        return {s.name: s.text(getattr(self.own, s.name)) for s in self.family.settings}

    def architecture_fields(self) -> tuple[str, ...]:
        """The fields a checkpoint's weights depend on: the shared ones and the family's that shape weights."""
        return ARCHITECTURE_FIELDS + tuple(s.name for s in self.family.settings if s.about.shapes_weights)

    def training_fields(self) -> tuple[str, ...]:
        """The fields that change a run's numbers: resuming with another value would mix two runs."""
        return TRAINING_FIELDS + tuple(s.name for s in self.family.settings if not s.about.shapes_weights)

    def differences(self, other: "TrainConfig", fields: tuple[str, ...]) -> list[str]:
        """Names and values of the given fields where the two configurations disagree."""
        return [
            f"{name}: {getattr(self, name, None)!r} vs {getattr(other, name, None)!r}"
            for name in fields
            if getattr(self, name, None) != getattr(other, name, None)
        ]

    def check_fits(self, saved: "TrainConfig", resuming: bool = True) -> None:
        """Refuse a checkpoint's configuration whose networks (or, when resuming, whose training
        settings) differ from this one, naming each differing field."""
        fields = self.architecture_fields() + (self.training_fields() if resuming else ())
        differences = self.differences(saved, tuple(dict.fromkeys(fields + saved.architecture_fields())))
        if differences:
            raise CheckpointError(
                "the checkpoint was made with another configuration (" + "; ".join(
                    d.replace(" vs ", " wanted, checkpoint has ") for d in differences
                ) + "): use a new --out directory, or the checkpoint's settings."
            )


def _setting_owner(name: str) -> tuple[str, Any] | None:
    """(family name, setting) of the registered family that owns a setting of this name, if any."""
    for family in FAMILIES.values():
        for item in family.settings:
            if item.name == name:
                return family.name, item
    return None


def _betas(value: Any) -> tuple[float, float]:
    try:
        beta1, beta2 = (float(v) for v in value)
    except (TypeError, ValueError):
        raise GencoreError(f"betas must be two numbers in [0, 1), got {value!r}.") from None
    if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
        raise GencoreError(f"betas must be two numbers in [0, 1), got {value!r}.")
    return (beta1, beta2)
