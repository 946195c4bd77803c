"""A small classifier per dataset, trained by the kit on the real training split. Its
penultimate layer is the feature space in which generated samples are compared with real ones
(gencore.quality.metrics), and its predictions count which classes the samples cover.

Trained classifiers are cached in ``$GENCORE_CLASSIFIERS`` or else
``$XDG_CACHE_HOME/gencore/classifiers`` (next to the default data cache, ``.../gencore/data``), one file per dataset and data folder, holding the
weights, the recipe and the measured test accuracy. Data folders given by the user are often
read-only and shared, so nothing is written into them.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from gencore.engine.data import ImageData, epoch_order, load_dataset, to_float
from gencore.engine.datasets import get_dataset
from gencore.engine.errors import CheckpointError, GencoreError
from gencore.engine.files import atomic_write, torch_bytes
from gencore.engine.runtime import resolve_device



@dataclass(frozen=True)
class Recipe:
    """How a classifier is trained; stored with it so a cached file says what it is."""

    width: int  # channels of the first block; 2x, 4x, 8x it further in
    epochs: int
    batch_size: int = 256  # large enough to keep the CPU's convolutions efficient
    lr: float = 0.2  # peak of the one-cycle schedule (SGD, Nesterov momentum 0.9)
    weight_decay: float = 5e-4  # the usual value for ResNets on CIFAR
    label_smoothing: float = 0.1  # keeps the logits calibrated enough for a confidence measure
    augment: bool = True  # random 4-pixel shifts (and flips for CIFAR-10): more data for free
    subset: int | None = None  # None: the full training split (tests use a small one)
    seed: int = 0


def target_accuracy(dataset: str) -> float:
    """The test accuracy a dataset's classifier must reach before its features are trusted as a
    yardstick (its record's classifier_target_accuracy)."""
    return get_dataset(dataset).classifier_target_accuracy


def default_recipe(dataset: str) -> Recipe:
    """The dataset's classifier recipe from its record: chosen by measuring on 2 CPU cores, the
    fewest epochs that pass the target accuracy."""
    record = get_dataset(dataset)
    return Recipe(width=record.classifier_width, epochs=record.classifier_epochs)


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels), _conv(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class DomainClassifier(nn.Module):
    """A narrow ResNet-9 (Page 2018, "How to train your ResNet"): images in [0, 1] -> 10 logits.
    ``features`` gives the penultimate layer's ``num_features`` values per image."""

    def __init__(self, image_shape: tuple[int, int, int], width: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        channels = image_shape[0]
        w = width
        self.image_shape = tuple(image_shape)
        self.num_features = 8 * w
        self.body = nn.Sequential(
            _conv(channels, w),  # (B, w, H, W)
            _conv(w, 2 * w), nn.MaxPool2d(2),  # (B, 2w, H/2, W/2)
            _Residual(2 * w),  # (B, 2w, H/2, W/2)
            _conv(2 * w, 4 * w), nn.MaxPool2d(2),  # (B, 4w, H/4, W/4)
            _conv(4 * w, 8 * w), nn.MaxPool2d(2),  # (B, 8w, H/8, W/8): 3x3 for 28px, 4x4 for 32px
            _Residual(8 * w),  # (B, 8w, H/8, W/8)
            nn.AdaptiveMaxPool2d(1), nn.Flatten(),  # (B, 8w)
        )
        self.head = nn.Linear(8 * w, num_classes)  # (B, classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, num_features)."""
        return self.body(images * 2.0 - 1.0)  # centred input, as the generators' data is

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


@dataclass
class TrainedClassifier:
    """A classifier with what is known about it."""

    model: DomainClassifier
    dataset: str
    test_accuracy: float
    recipe: Recipe
    seconds: float
    path: Path | None = None
    origin: str = "trained"  # "shipped" (inside the package) or "trained" (by you, in the cache)

    @property
    def meets_target(self) -> bool:
        return self.test_accuracy >= target_accuracy(self.dataset)

    def describe(self) -> str:
        target = target_accuracy(self.dataset)
        verdict = "meets" if self.meets_target else "is BELOW"
        return (f"{self.origin} {self.dataset} classifier: test accuracy {self.test_accuracy:.2%} ({verdict} the {target:.0%} bar), "
                f"width {self.recipe.width}, {self.recipe.epochs} epochs on "
                f"{self.recipe.subset or 'all'} training images")


def classifier_dir() -> Path:
    """$GENCORE_CLASSIFIERS if set (a shared, pre-trained set for a class), else the user cache."""
    if os.environ.get("GENCORE_CLASSIFIERS"):
        return Path(os.environ["GENCORE_CLASSIFIERS"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "gencore" / "classifiers"


def classifier_path(dataset: str, test_data: ImageData) -> Path:
    """One file per dataset and data folder (told apart by the test split that the metrics
    compare against), so a classifier of other data is never reused."""
    digest = hashlib.sha1(test_data.images[:: max(1, len(test_data) // 512)].numpy().tobytes())
    digest.update(str(len(test_data)).encode())
    return classifier_dir() / f"{dataset}-{digest.hexdigest()[:10]}.pt"


def _augment(x: torch.Tensor, generator: torch.Generator, flip: bool) -> torch.Tensor:
    """Shift each image by up to 4 pixels (reflect padding) and, for natural images, flip half."""
    batch, channels, height, width = x.shape
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")  # (B, C, H+8, W+8)
    dy = torch.randint(0, 9, (batch, 1, 1, 1), generator=generator)
    dx = torch.randint(0, 9, (batch, 1, 1, 1), generator=generator)
    rows = (torch.arange(height).view(1, 1, height, 1) + dy).expand(batch, channels, height, width + 8)
    out = padded.gather(2, rows)  # (B, C, H, W+8)
    cols = (torch.arange(width).view(1, 1, 1, width) + dx).expand(batch, channels, height, width)
    out = out.gather(3, cols)  # (B, C, H, W)
    if flip:
        mirror = torch.rand(batch, generator=generator) < 0.5
        out = torch.where(mirror.view(batch, 1, 1, 1), out.flip(3), out)
    return out


@torch.no_grad()
def accuracy(model: nn.Module, data: ImageData, device: torch.device, batch_size: int = 1000) -> float:
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        x = to_float(data.images[start:start + batch_size].to(device), "unit")
        correct += int((model(x).argmax(1).cpu() == data.labels[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / len(data)


def train_classifier(
    dataset: str,
    data_root: str | None = None,
    recipe: Recipe | None = None,
    device: str = "auto",
    progress: bool = True,
    test_data: ImageData | None = None,
) -> TrainedClassifier:
    """Train the dataset's classifier on its real training split and measure it on the test
    split (``test_data`` when the caller has already loaded it)."""
    recipe = recipe or default_recipe(dataset)
    train = load_dataset(dataset, "train", data_root, recipe.subset, recipe.seed)
    test = test_data if test_data is not None else load_dataset(dataset, "test", data_root)
    torch_device = resolve_device(device)
    generator = torch.Generator().manual_seed(recipe.seed)
    torch.manual_seed(recipe.seed)
    model = DomainClassifier(train.image_shape, recipe.width).to(torch_device).to(memory_format=torch.channels_last)
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for parameter in model.parameters():
        (decay if parameter.ndim > 1 else no_decay).append(parameter)  # no decay on BN and biases
    groups: list[dict[str, Any]] = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay}]
    optimizer = torch.optim.SGD(groups,
                                lr=recipe.lr, momentum=0.9, nesterov=True)
    batch_size = min(recipe.batch_size, len(train))
    steps_per_epoch = len(train) // batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.lr, total_steps=recipe.epochs * steps_per_epoch,
                                                   pct_start=0.25)
    flip = get_dataset(dataset).mirror_augment  # a mirrored digit is another symbol; a mirrored truck is a truck
    start = time.monotonic()
    from tqdm.auto import tqdm

    bar = tqdm(total=recipe.epochs * steps_per_epoch, desc=f"{dataset} classifier", disable=not progress, unit="step")
    model.train()
    for epoch in range(recipe.epochs):
        order = epoch_order(len(train), recipe.seed, epoch)
        for step in range(steps_per_epoch):
            indices = order[step * batch_size:(step + 1) * batch_size]
            x = to_float(train.images[indices], "unit")
            if recipe.augment:
                x = _augment(x, generator, flip)
            x = x.to(torch_device).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), train.labels[indices].to(torch_device), label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update(1)
        if not math.isfinite(loss.item()):
            raise GencoreError(f"the {dataset} classifier's loss became {loss.item()}; lower its learning rate.")
    bar.close()
    seconds = time.monotonic() - start
    model.eval()
    return TrainedClassifier(model.cpu().to(memory_format=torch.contiguous_format), dataset,
                             accuracy(model.cpu(), test, torch.device("cpu")), recipe, seconds)


def save_classifier(classifier: TrainedClassifier, path: Path) -> None:
    state = {
        "dataset": classifier.dataset, "image_shape": list(classifier.model.image_shape),
        "recipe": asdict(classifier.recipe), "test_accuracy": classifier.test_accuracy,
        "seconds": classifier.seconds, "weights": classifier.model.state_dict(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(torch_bytes(state)))
    classifier.path = path


def load_classifier(path: Path) -> TrainedClassifier:
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        recipe = Recipe(**state["recipe"])
        with torch.random.fork_rng(devices=[]):  # initial weights, overwritten next, must not move the caller's RNG
            model = DomainClassifier(tuple(state["image_shape"]), recipe.width)
        model.load_state_dict(state["weights"])
    except Exception as error:  # noqa: BLE001 - any damage gets the same advice
        raise CheckpointError(
            f"the cached classifier {path} cannot be read ({type(error).__name__}): delete it and it will be trained again."
        ) from None
    model.eval()
    return TrainedClassifier(model, state["dataset"], float(state["test_accuracy"]), recipe, float(state["seconds"]), path)


def get_classifier(
    dataset: str,
    data_root: str | None = None,
    train_if_missing: bool = True,
    recipe: Recipe | None = None,
    device: str = "auto",
    progress: bool = True,
    test_data: ImageData | None = None,
    retrain: bool = False,
) -> TrainedClassifier:
    """The cached classifier you trained, or a newly trained and cached one (minutes on a CPU;
    see default_recipe); ``retrain`` replaces a cached one. ``test_data``: the dataset's test split,
    when the caller has already loaded it. (The kit measures with its shipped classifiers unless
    told otherwise: see metrics.quality_meter.)"""
    test = test_data if test_data is not None else load_dataset(dataset, "test", data_root)
    path = classifier_path(dataset, test)
    if path.exists() and not retrain:
        return load_classifier(path)
    if not train_if_missing:
        raise GencoreError(
            f"no {dataset} classifier is cached in {path.parent}: train it once with "
            f"'python -m gencore classifier --dataset {dataset} --retrain', or measure with the shipped one "
            "(unset GENCORE_CLASSIFIERS; see docs/quality.md)."
        )
    classifier = train_classifier(dataset, data_root, recipe, device, progress, test)
    save_classifier(classifier, path)
    return classifier
