"""Sample quality, measured instead of judged by eye.

- ``fd``: the Fréchet distance (Heusel et al. 2017) between generated images and the real test
  split, in the features of the kit's domain classifier (gencore.quality.classifier). 0 means the two
  feature distributions have the same mean and covariance; noise, blur and collapse raise it.
  torchmetrics computes it; the classifier is its feature module.
- ``classes_covered``: how many classes get at least 2% of the samples, by the classifier's
  predictions (10 for a healthy model; mode collapse lowers it). ``confidence``: the mean
  top-class probability (low for ambiguous, smudged samples).
- ``inception_fd``: the usual FID in Inception-v3 space, only when torchvision's Inception
  weights are already on the machine; they are never downloaded here.
- For the VAE, the test negative ELBO in nats per image and bits per dimension (``vae_bound``).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gencore.engine.config import TrainConfig
from gencore.engine.data import load_dataset, to_float
from gencore.engine.errors import GencoreError
from gencore.engine.sampling import sample_images
from gencore.quality.classifier import DomainClassifier, TrainedClassifier, classifier_dir, get_classifier
from gencore.quality.reference import shipped_classifier

CLASSIFIERS = ("shipped", "trained")  # the package's classifiers, or ones you trained (python -m gencore classifier --retrain)
HISTORY_SAMPLES = 2000  # samples per quality row in the history: seconds on a CPU, stable to a few %
COVERAGE_SHARE = 0.02  # a class counts as covered from 2% of the samples (10% is its fair share)
EVAL_BATCH = 500  # images per forward pass when measuring; bounds memory, not the result
INCEPTION_WEIGHTS = "inception_v3_google-0cc3c7bd.pth"  # torchvision's IMAGENET1K_V1 file name


class ClassifierFeatures(nn.Module):
    """The feature module torchmetrics' FrechetInceptionDistance calls: images in [0, 1] ->
    (B, num_features) penultimate activations of the domain classifier."""

    def __init__(self, classifier: DomainClassifier) -> None:
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images.float())


def frechet_metric(features: nn.Module):  # noqa: ANN201 - torchmetrics type, imported lazily
    """A FrechetInceptionDistance over ``features`` that keeps its real statistics across resets.
    normalize=True: with a custom module this means float images in [0, 1] go in unchanged."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=features, reset_real_features=False, normalize=True)
    return metric.eval()


def _batches(images: torch.Tensor) -> list[torch.Tensor]:
    """uint8 or float images -> float batches in [0, 1]."""
    return [to_float(chunk, "unit") if chunk.dtype == torch.uint8 else chunk.float() for chunk in images.split(EVAL_BATCH)]


class QualityMeter:
    """Measures image sets against one dataset's real test split. The real side's features
    are computed once; each ``measure`` call then costs one pass over the samples."""

    def __init__(self, classifier: TrainedClassifier, real_images: torch.Tensor) -> None:
        self.classifier = classifier
        self.real_images = real_images  # uint8 (N, C, H, W): kept for the VAE's bound and the Inception FID
        self.fid = frechet_metric(ClassifierFeatures(classifier.model))
        with torch.no_grad():
            for batch in _batches(real_images):
                self.fid.update(batch, real=True)

    @torch.no_grad()
    def measure(self, images: torch.Tensor) -> dict[str, Any]:
        """Fréchet distance, class coverage and confidence of ``images`` (N, C, H, W) in [0, 1]."""
        if images.shape[0] < 2:
            raise ValueError("the Fréchet distance needs at least 2 images")
        self.fid.reset()  # the generated side only; the real statistics stay
        counts = torch.zeros(10, dtype=torch.long)
        confidence = 0.0
        for batch in _batches(images):
            self.fid.update(batch, real=False)
            probabilities = self.classifier.model(batch).softmax(dim=1)
            top, predicted = probabilities.max(dim=1)
            counts += torch.bincount(predicted, minlength=10)
            confidence += float(top.sum())
        shares = counts.double() / images.shape[0]
        return {
            "fd": float(self.fid.compute()),
            "classes_covered": int((shares >= COVERAGE_SHARE).sum()),
            "confidence": confidence / images.shape[0],
            "n": int(images.shape[0]),
            "class_shares": [round(float(s), 4) for s in shares],
        }


def default_classifier() -> str:
    """'trained' when $GENCORE_CLASSIFIERS names a folder of classifiers you trained (an explicit
    choice), else 'shipped': the same network on every machine, so fd is comparable everywhere."""
    return "trained" if os.environ.get("GENCORE_CLASSIFIERS") else "shipped"


def quality_meter(dataset: str, data_root: str | None = None, train_if_missing: bool = True,
                  classifier: str | None = None) -> QualityMeter:
    """The dataset's meter (classifier plus real test statistics), built once per process.
    ``classifier``: 'shipped' or 'trained' (None: default_classifier()). Only 'trained' may
    train one, and only with ``train_if_missing``."""
    choice = classifier or default_classifier()
    if choice not in CLASSIFIERS:
        raise GencoreError(f"unknown classifier {choice!r}: choose one of {', '.join(CLASSIFIERS)}.")
    return _meter(dataset, data_root, train_if_missing, choice, str(classifier_dir()))


@lru_cache(maxsize=4)
def _meter(dataset: str, data_root: str | None, train_if_missing: bool, choice: str, cache: str) -> QualityMeter:
    test = load_dataset(dataset, "test", data_root)
    if choice == "shipped":
        classifier = shipped_classifier(dataset)
    else:
        classifier = get_classifier(dataset, data_root, train_if_missing=train_if_missing, test_data=test)
    return QualityMeter(classifier, test.images)


class QualityRows:
    """A training-loop callback: fd, classes_covered and confidence join the history row of every
    ``eval_every``-th epoch and of the last, measured on fixed samples from their own generator
    with the shipped classifier (or yours, with GENCORE_CLASSIFIERS), so the training numbers
    stay the same. Without a usable classifier it says so once and measures nothing."""

    def __init__(self, samples: int = HISTORY_SAMPLES, verbose: bool = True) -> None:
        self.samples = samples
        self.verbose = verbose
        self.meter: QualityMeter | None | bool = None  # False: none available

    def __call__(self, trainer: Any) -> None:
        config = trainer.config
        if not (trainer.epoch % config.eval_every == 0 or trainer.epoch == config.epochs):
            return
        if self.meter is None:
            try:
                self.meter = quality_meter(config.dataset, config.data_root, train_if_missing=False)
            except GencoreError as error:
                self.meter = False
                if self.verbose:
                    print(f"note: no quality numbers in the history ({error})", flush=True)
        if not isinstance(self.meter, QualityMeter):
            return
        images = sample_images(trainer.models, config.latent_dim, self.samples, config.seed, trainer.device)
        quality = self.meter.measure(images)
        trainer.history[-1].update({name: quality[name] for name in ("fd", "classes_covered", "confidence")})


# ---------------------------------------------------------------------- Inception space


def inception_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS


class InceptionFeatures(nn.Module):
    """torchvision's Inception v3 pool features (2048) from images in [0, 1] of any size."""

    num_features = 2048
    mean: torch.Tensor  # ImageNet's channel means and deviations (buffers, set below)
    std: torch.Tensor

    def __init__(self, weights: Path) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        self.net = inception_v3(weights=None, aux_logits=True, init_weights=False)
        self.net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.net.fc = nn.Identity()  # (B, 2048): the pool features FID uses
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().expand(-1, 3, -1, -1)  # grey digits become three equal channels
        x = nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)  # (B, 3, 299, 299)
        return self.net((x - self.mean) / self.std)


def inception_fd(images: torch.Tensor, real_images: torch.Tensor) -> tuple[float | None, str]:
    """(FID in Inception space, note). None with a note saying why when the weights are absent."""
    path = inception_weights_path()
    if not path.exists():
        return None, (f"Inception-space FID skipped: torchvision's Inception v3 weights are not at {path} "
                      "(they are never downloaded by the kit; copy the file there to get this number)")
    metric = frechet_metric(InceptionFeatures(path).eval())
    with torch.no_grad():
        for batch in _batches(real_images):
            metric.update(batch, real=True)
        for batch in _batches(images):
            metric.update(batch, real=False)
    return float(metric.compute()), f"Inception v3 pool features, weights {path.name}"


# ---------------------------------------------------------------------- the VAE's likelihood bound


def vae_bound(test_mse: float, test_kl: float, image_shape: tuple[int, ...]) -> dict[str, Any]:
    """The test negative ELBO from the per-image summed MSE and KL that the seed trains on.

    Summed squared error is the negative log-likelihood of a Gaussian decoder with variance
    1/2 on pixels in [0, 1], up to a constant: -log N(x; x_hat, 1/2) = sum (x - x_hat)^2 + D/2 log(pi).
    So -ELBO = MSE + KL + D/2 log(pi) nats per image. Bits per dimension are given on the
    8-bit scale (pixels in [0, 256), which adds log2(256) = 8), as in the literature, but this
    is a continuous density with no dequantisation: compare it between runs of the kit, not
    with published discrete likelihoods. The variance of 1/2 is far wider than the
    reconstruction errors, so ``neg_elbo_fitted_sigma_nats`` also gives the bound with the one
    shared variance that fits the test errors best (sigma^2 = MSE / D, chosen on the test set)."""
    dims = math.prod(image_shape)
    neg_elbo = test_mse + test_kl + dims / 2 * math.log(math.pi)
    sigma2 = max(test_mse / dims, 1e-12)
    fitted = dims / 2 * (1 + math.log(2 * math.pi * sigma2)) + test_kl
    to_bits = lambda nats: nats / (dims * math.log(2)) + 8.0  # noqa: E731
    return {
        "vae_loss": test_mse + test_kl,
        "neg_elbo_nats": neg_elbo,
        "bits_per_dim": to_bits(neg_elbo),
        "neg_elbo_fitted_sigma_nats": fitted,
        "bits_per_dim_fitted_sigma": to_bits(fitted),
        "likelihood": "Gaussian decoder with variance 1/2 on pixels in [0, 1] (what the summed MSE loss implies); "
                      "bits per dimension on the 8-bit scale",
    }


# ---------------------------------------------------------------------- a whole run


def evaluate_models(config: TrainConfig, models: dict[str, nn.Module], n: int = 10_000, data_root: str | None = None,
                    seed: int = 0, train_classifier: bool = True, inception: bool = True,
                    classifier: str | None = None) -> dict[str, Any]:
    """Every quality number for trained networks: fd, classes_covered, confidence, n, and for the
    VAE the test bound (see vae_bound); the Inception-space FID or the reason it is missing."""
    root = data_root if data_root is not None else config.data_root
    meter = quality_meter(config.dataset, root, train_classifier, classifier)
    device = next(next(iter(models.values())).parameters()).device
    images = sample_images(models, config.latent_dim, n, seed, device)
    result: dict[str, Any] = {
        "model": config.model, "dataset": config.dataset, "latent_dim": config.latent_dim,
        **meter.measure(images),
        "classifier_accuracy": meter.classifier.test_accuracy,
        "classifier": meter.classifier.describe(),
    }
    test = meter.real_images
    if inception:
        result["inception_fd"], result["inception_note"] = inception_fd(images, test)
    epoch_metrics = config.family.epoch_metrics
    if epoch_metrics is not None:  # a likelihood bound: only a family with test losses (the VAE) has one
        with torch.random.fork_rng(devices=[]):  # the reparameterised draws: seeded, and the caller's RNG untouched
            torch.manual_seed(seed)
            numbers = epoch_metrics(models, test, device, EVAL_BATCH)
        result.update(vae_bound(numbers["test_mse"], numbers["test_kl"], tuple(test.shape[1:])))
    return result


def format_quality(result: dict[str, Any]) -> str:
    """The numbers of evaluate_models as a few explained lines."""
    if not result:
        return "quality not measured (measure = False)"
    lines = [
        f"{result['n']} samples against the real test split:",
        f"  fd              {result['fd']:.3f}   Frechet distance in the classifier's features (0 = same distribution)",
        f"  classes_covered {result['classes_covered']} of 10   classes with at least 2% of the samples",
        f"  confidence      {result['confidence']:.3f}   mean top-class probability",
    ]
    if result.get("neg_elbo_nats") is not None:
        lines.append(f"  neg_elbo_nats   {result['neg_elbo_nats']:.1f}   = {result['bits_per_dim']:.3f} bits/dim "
                     f"({result['likelihood']}); with a fitted variance: {result['neg_elbo_fitted_sigma_nats']:.1f} nats, "
                     f"{result['bits_per_dim_fitted_sigma']:.3f} bits/dim")
    if "inception_note" in result:
        fid = result.get("inception_fd")
        lines.append(f"  {result['inception_note']}" + (f": FID {fid:.2f}" if fid is not None else ""))
    lines.append(f"  ({result['classifier']})")
    return "\n".join(lines)

