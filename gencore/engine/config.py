"""Training configuration: one dataclass, every default explained, validated on creation."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from gencore.engine.errors import GencoreError
from gencore.engine.families import FAMILIES, Family, get_family
from gencore.engine.models.gan import CRITIC_NORMS

MODELS = tuple(FAMILIES)  # "vae", "gan", "wgan-gp": one record each in gencore.engine.families
DATASETS = ("mnist", "cifar10")
MAX_LATENT_DIM = 4096  # larger than any study needs; a typo like 64000 would exhaust memory
PRECISIONS = ("fp32", "bf16", "auto")

# Fields that fix the shapes of the saved weights: a checkpoint must agree on all of them.
ARCHITECTURE_FIELDS = ("model", "dataset", "latent_dim", "width", "critic_norm")
# Fields that change the numbers a run produces: resuming with another value would mix two runs.
TRAINING_FIELDS = ("batch_size", "lr", "betas", "n_critic", "gp_weight", "decoder_variance", "seed", "subset", "precision")

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass
class TrainConfig:
    """Everything that defines a training run. A checkpoint carries a copy of it."""

    model: str = MODELS[0]  # one of MODELS; the first family (the VAE), where the course starts
    dataset: str = "mnist"  # one of DATASETS
    latent_dim: int = 64  # the one size the seed study uses on both datasets
    epochs: int = 20  # the seed's shorter setting; the study compares 20 with 100
    # The next three may be given as None: __post_init__ fills in the family's value, so after
    # construction they always hold a number (their types say what a built config holds).
    batch_size: int = None  # type: ignore[assignment]  # None: the seed's value for the family (VAE 128, GANs 64)
    lr: float = None  # type: ignore[assignment]  # None: the seed's value (VAE and GAN 1e-4, WGAN-GP 5e-5)
    betas: tuple[float, float] = None  # type: ignore[assignment]  # None: the family's Adam betas (DCGAN's 0.5, WGAN-GP's (0, 0.9))
    width: int = 64  # DCGAN's base channel count (ngf = ndf = 64); the VAE's hidden sizes are 8x, 4x, 2x it
    n_critic: int = 5  # WGAN-GP: critic steps per generator step (Gulrajani et al. 2017)
    gp_weight: float = 10.0  # WGAN-GP: gradient penalty weight lambda (Gulrajani et al. 2017)
    # WGAN-GP: the critic's normalisation. "none" is the seed's critic; "layer" is the per-image layer norm that
    # Gulrajani et al. 2017 (section 4) recommend in batch norm's place: on CIFAR-10 it keeps the critic seeing
    # what the unnormalised one stops seeing (docs/speed.md).
    critic_norm: str = "none"
    # VAE: the Gaussian decoder's variance sigma^2. The loss weighs squared error by 1/(2 sigma^2) against the KL,
    # so 1/2 is the seed's plain summed squared error; a smaller variance (one fitted to the errors) weighs it more.
    decoder_variance: float = 0.5
    subset: int | None = None  # None: the full training split; N: a seeded, class-balanced sample of N images
    data_root: str | None = None  # None: $GENCORE_DATA, else a cache folder that torchvision downloads into
    seed: int = 0  # seeds Python, NumPy, torch and the data order
    device: str = "auto"  # auto picks CUDA, then MPS, then CPU
    time_budget: float | None = None  # minutes; training stops cleanly, saved, when it is spent
    eval_every: int = 5  # epochs between sample-quality rows in the history (and always the last); 0: never.
    # Measured with the shipped classifier (seconds each); it never changes the training numbers.
    precision: str = "fp32"  # GAN and WGAN-GP steps: "bf16" autocast, or "auto" (bf16 only where native and faster)
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes carried into config.json

    def __post_init__(self) -> None:
        self.model = _choice("model", self.model, tuple(FAMILIES))  # MODELS, and any family registered since
        self.dataset = _choice("dataset", self.dataset, DATASETS)
        self.latent_dim = parse_int("latent_dim", self.latent_dim, 1, MAX_LATENT_DIM)
        self.epochs = parse_int("epochs", self.epochs, 1, None)
        self.width = parse_int("width", self.width, 1, 1024)
        self.n_critic = parse_int("n_critic", self.n_critic, 1, 100)
        self.seed = parse_int("seed", self.seed, 0, 2**63 - 1)
        self.eval_every = parse_int("eval_every", self.eval_every, 0, None)
        defaults = self.family.seed_settings
        if self.batch_size is None:
            self.batch_size = defaults.batch_size
        self.batch_size = parse_int("batch_size", self.batch_size, 1, None)
        if self.lr is None:
            self.lr = defaults.lr
        self.lr = _positive_float("lr", self.lr)
        if self.betas is None:
            self.betas = defaults.betas
        self.betas = _betas(self.betas)
        self.precision = _choice("precision", self.precision, PRECISIONS)
        if self.precision == "bf16" and "bf16" not in self.family.precisions:
            raise GencoreError(f"the {self.model} trains in fp32 only (bf16 is for the GAN and WGAN-GP steps): "
                               "use precision fp32 or auto.")
        self.gp_weight = _float("gp_weight", self.gp_weight, minimum=0.0)
        self.critic_norm = _choice("critic_norm", self.critic_norm, CRITIC_NORMS)
        self.decoder_variance = _positive_float("decoder_variance", self.decoder_variance)
        if self.subset is not None:
            self.subset = parse_int("subset", self.subset, 1, None)
        if self.time_budget is not None:
            self.time_budget = _positive_float("time_budget", self.time_budget)
        if self.data_root is not None and not isinstance(self.data_root, str):
            self.data_root = str(self.data_root)
        if not isinstance(self.device, str) or not _DEVICE_PATTERN.match(self.device):
            raise GencoreError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}."
            )
        if not isinstance(self.extra, dict):
            raise GencoreError(f"extra must be a dict, got {type(self.extra).__name__}.")

    @property
    def family(self) -> Family:
        """The model's family record: its networks, step, defaults and plots (gencore.engine.families)."""
        return get_family(self.model)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["betas"] = list(self.betas)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GencoreError(f"unknown configuration field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        data = dict(data)
        if data.get("betas") is not None:
            data["betas"] = tuple(data["betas"])
        return cls(**data)

    def own_settings(self) -> dict[str, str]:
        """The fields only this model's family reads (the WGAN-GP's n_critic, gp_weight and critic_norm,
        the VAE's decoder_variance), as text: what labels a run beside its shared settings."""
        return {name: value if isinstance(value := getattr(self, name), str) else format(value, "g")
                for name in self.family.own_fields}

    def differences(self, other: "TrainConfig", fields: tuple[str, ...]) -> list[str]:
        """Names and values of the given fields where the two configurations disagree."""
        return [
            f"{name}: {getattr(self, name)!r} vs {getattr(other, name)!r}"
            for name in fields
            if getattr(self, name) != getattr(other, name)
        ]


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str) and value.lower().replace("_", "-") in choices:
        return value.lower().replace("_", "-")
    raise GencoreError(f"unknown {name} {value!r}: choose one of {', '.join(choices)}.")


def _parse_number(name: str, value: Any, what: str) -> int | float:
    """An int stays exact (seeds reach 2**63); text and floats become numbers, or an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise GencoreError(f"{name} must be {what}, got {value!r}.")
    if isinstance(value, int):
        return value
    try:
        text = value.strip() if isinstance(value, str) else None
        return int(text) if text is not None and text.lstrip("+-").isdigit() else float(value)
    except ValueError:
        raise GencoreError(f"{name} must be {what}, got {value!r}.") from None


def parse_int(name: str, value: Any, minimum: int, maximum: int | None) -> int:
    """``value`` (a number or text: "64", "1e2") as a whole number in [minimum, maximum], or one clear error naming ``name``."""
    number = _parse_number(name, value, "a whole number")
    if isinstance(number, float):
        if not math.isfinite(number) or not number.is_integer():
            raise GencoreError(f"{name} must be a whole number, got {value!r}.")
        number = int(number)
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise GencoreError(f"{name} must be {bound}, got {value!r}.")
    return number


def _float(name: str, value: Any, minimum: float) -> float:
    number = float(_parse_number(name, value, "a number"))
    if not math.isfinite(number) or number < minimum:
        raise GencoreError(f"{name} must be a finite number of at least {minimum}, got {value!r}.")
    return number


def _positive_float(name: str, value: Any) -> float:
    number = _float(name, value, minimum=0.0)
    if number <= 0:
        raise GencoreError(f"{name} must be greater than 0, got {value!r}.")
    return number


def _betas(value: Any) -> tuple[float, float]:
    try:
        beta1, beta2 = (float(v) for v in value)
    except (TypeError, ValueError):
        raise GencoreError(f"betas must be two numbers in [0, 1), got {value!r}.") from None
    if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
        raise GencoreError(f"betas must be two numbers in [0, 1), got {value!r}.")
    return (beta1, beta2)
