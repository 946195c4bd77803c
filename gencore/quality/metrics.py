"""Sample quality, measured instead of judged by eye.

- ``fd``: the Fréchet distance (Heusel et al. 2017) between generated images and the real test
  split, in the features of the kit's domain classifier (gencore.quality.classifier). 0 means the two
  feature distributions have the same mean and covariance; noise, blur and collapse raise it.
  torchmetrics computes it; the classifier is its feature module.
- ``classes_covered``: how many classes get at least 2% of the samples among the *recognised*
  ones: predicted with probability above 1/2 and with features inside the range real images of
  that class occupy (FeatureRange). 10 for a healthy model; collapse lowers it; uniform noise scores
  0 on MNIST (the classifier alone calls it a digit with probability 0.98) and 1 on CIFAR-10.
- ``confidence``: the mean top-class probability, a sample outside the real images' feature
  range counting 0 (low for ambiguous, smudged or unnatural samples). ``recognised``: the share
  of recognised samples. ``floor``: the same numbers for held-out real images at the same sample
  count: a reference, not a bound (a model can score below it, fd moving with the samples drawn,
  and one that memorised the training set would sit at it).
- ``inception_fd``: the usual FID in Inception-v3 space, only when torchvision's Inception
  weights are already on the machine; they are never downloaded here.
- ``class_accuracy`` (conditional models): the share of samples drawn for class c that the
  classifier assigns to c, with the confusion matrix behind it; the classes asked for are the test
  split's own labels (asked_classes). Real test images score the classifier's test accuracy: a
  point of comparison, not a bound (samples of easy, typical images can score above it).
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
HISTORY_SAMPLES = 2000  # samples per quality row in the history: seconds on a CPU; fd's sampling noise there is a
# standard deviation of at most 0.32, under 9% of a shipped reference's fd (gencore.studies.fd_noise; the most, in
# share, for the cGAN's fd near 1), and fd reads a little higher than at 10,000 samples
COVERAGE_SHARE = 0.02  # a class counts as covered from 2% of the samples (10% is its fair share)
RECOGNISED_PROBABILITY = 0.5  # a prediction counts when its class is likelier than all the others together
REAL_RANGE_QUANTILE = 0.99  # features are real-like within the distance that 99% of real test images stay within
EVAL_BATCH = 500  # images per forward pass when measuring; bounds memory, not the result
INCEPTION_WEIGHTS = "inception_v3_google-0cc3c7bd.pth"  # torchvision's IMAGENET1K_V1 file name


class ClassifierFeatures(nn.Module):
    """The feature module torchmetrics' FrechetInceptionDistance calls: images in [0, 1] ->
    (B, num_features) penultimate activations of the domain classifier."""

    def __init__(self, classifier: DomainClassifier) -> None:
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.num_features
        self.last: torch.Tensor | None = None  # the last batch's features: the meter classifies them without a second pass

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.last = self.classifier.features(images.float())
        return self.last


class FeatureRange:
    """Where real images lie in the classifier's feature space: one mean per class (grouped by the
    classifier's prediction), one shared within-class covariance, and the squared Mahalanobis
    distance to the predicted class's mean that REAL_RANGE_QUANTILE of the real images stay within.
    A softmax is confident far from any data (uniform noise gets 0.98 on MNIST); this range is not."""

    def __init__(self, features: torch.Tensor, predicted: torch.Tensor, num_classes: int = 10) -> None:
        x = features.double()
        means = torch.zeros(num_classes, x.shape[1], dtype=torch.float64)
        for c in range(num_classes):
            members = x[predicted == c]
            means[c] = members.mean(0) if len(members) else x.mean(0)
        residual = x - means[predicted]  # (N, F): within-class deviations
        covariance = residual.T @ residual / max(1, x.shape[0] - num_classes)
        ridge = 1e-6 * covariance.diagonal().mean().clamp_min(1e-12)  # keeps dead features invertible
        self.means = means
        self.precision = torch.linalg.inv(covariance + ridge * torch.eye(x.shape[1], dtype=torch.float64))
        self.limit = float(torch.quantile(self.distance(features, predicted), REAL_RANGE_QUANTILE))

    def distance(self, features: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
        """Squared Mahalanobis distance (N,) of each feature vector to its predicted class's mean."""
        d = features.double() - self.means[predicted]
        return ((d @ self.precision) * d).sum(1)

    def within(self, features: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
        return self.distance(features, predicted) <= self.limit


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

    def __init__(self, classifier: TrainedClassifier, real_images: torch.Tensor, real_labels: torch.Tensor | None = None) -> None:
        self.classifier = classifier
        self.real_images = real_images  # uint8 (N, C, H, W): kept for the VAE's bound and the Inception FID
        self.real_labels = real_labels  # (N,) int64: the classes a conditional model is asked for (asked_classes)
        self.features = ClassifierFeatures(classifier.model)
        self.fid = frechet_metric(self.features)
        features, predicted = [], []
        with torch.no_grad():
            for batch in _batches(real_images):
                self.fid.update(batch, real=True)
                features.append(self._features())
                predicted.append(classifier.model.head(features[-1]).argmax(1))
        self.range = FeatureRange(torch.cat(features), torch.cat(predicted))

    def _features(self) -> torch.Tensor:
        """The features the Fréchet metric has just computed for its last batch."""
        assert self.features.last is not None
        return self.features.last

    @torch.no_grad()
    def measure(self, images: torch.Tensor, asked: torch.Tensor | None = None) -> dict[str, Any]:
        """Fréchet distance, class coverage, confidence and recognised share of ``images`` (N, C, H, W) in [0, 1];
        with ``asked`` (N,), the classes a conditional model was asked to draw, also its class accuracy and
        confusion matrix (class_accuracy_from)."""
        if images.shape[0] < 2:
            raise ValueError("the Fréchet distance needs at least 2 images")
        if asked is not None and asked.shape != (images.shape[0],):
            raise ValueError(f"give one asked class per image: {images.shape[0]} images, asked {tuple(asked.shape)}")
        self.fid.reset()  # the generated side only; the real statistics stay
        counts = torch.zeros(10, dtype=torch.long)
        confidence = 0.0
        assigned = []
        for batch in _batches(images):
            self.fid.update(batch, real=False)
            features = self._features()
            probabilities = self.classifier.model.head(features).softmax(dim=1)
            top, predicted = probabilities.max(dim=1)
            real_like = self.range.within(features, predicted)
            recognised = real_like & (top > RECOGNISED_PROBABILITY)
            counts += torch.bincount(predicted[recognised], minlength=10)
            confidence += float((top * real_like).sum())  # outside the real range a probability means nothing
            assigned.append(predicted.cpu())
        classes = int(probabilities.shape[1])
        shares = counts.double() / images.shape[0]
        result = {
            "fd": float(self.fid.compute()),
            "classes_covered": int((shares >= COVERAGE_SHARE).sum()),
            "confidence": confidence / images.shape[0],
            "recognised": float(shares.sum()),
            "n": int(images.shape[0]),
            "class_shares": [round(float(s), 4) for s in shares],
        }
        if asked is not None:
            result.update(class_accuracy_from(torch.cat(assigned), asked.cpu(), classes))
        return result


def asked_classes(meter: QualityMeter, n: int, seed: int) -> torch.Tensor:
    """The classes a conditional model is asked for when it is measured: the real test split's own labels in a
    seeded order, repeated past the split's length, so its n samples hold every class in about the test
    split's proportions (MNIST's run from 892 to 1,135 images a class) and fd compares like with like."""
    labels = meter.real_labels
    if labels is None:
        raise GencoreError("this meter was built without the test split's labels: a conditional model cannot be measured.")
    order = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))]
    return order.repeat(-(-n // len(order)))[:n]


def class_accuracy_from(assigned: torch.Tensor, asked: torch.Tensor, classes: int = 10) -> dict[str, Any]:
    """How often a conditional model draws the class it is asked for: ``class_accuracy``, the share of
    samples whose classifier prediction (``assigned``, (N,)) is the asked class, and ``confusion``, a
    (K, K) table of counts with the asked class in rows and the assigned one in columns. Every sample
    counts, recognised or not: one the classifier cannot place is not the class asked for."""
    confusion = torch.bincount(asked.long() * classes + assigned.long(), minlength=classes * classes).view(classes, classes)
    return {"class_accuracy": float(confusion.diagonal().sum()) / max(int(asked.numel()), 1),
            "confusion": confusion.tolist()}


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
    return QualityMeter(classifier, test.images, test.labels)


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
        asked = asked_classes(self.meter, self.samples, config.seed) if config.family.conditional else None
        images = sample_images(trainer.models, config, self.samples, config.seed, trainer.device, classes=asked)
        quality = self.meter.measure(images, asked)
        names = ("fd", "classes_covered", "confidence") + (("class_accuracy",) if asked is not None else ())
        trainer.history[-1].update({name: quality[name] for name in names})


def measure_floor(dataset: str, data_root: str | None = None, n: int = 10_000, seed: int = 0,
                  classifier: str | None = None) -> dict[str, Any]:
    """The real-data reference for ``n`` samples: ``n`` real images the test split does not hold (a
    seeded sample of the training split), measured against the test split exactly as samples are.
    fd is not 0 even here (two finite samples of one distribution differ); a model can score below
    it, and one that memorised the training set would sit at it."""
    train = load_dataset(dataset, "train", data_root)
    if n > len(train):
        raise GencoreError(f"the floor needs {n} held-out images; the {dataset} training split has {len(train)}.")
    generator = torch.Generator().manual_seed(seed)
    held_out = train.images[torch.randperm(len(train), generator=generator)[:n]]
    quality = quality_meter(dataset, data_root, train_if_missing=False, classifier=classifier).measure(held_out)
    return {**quality, "what": f"{n} real training images against the real test split"}


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


def vae_bound(numbers: dict[str, float], image_shape: tuple[int, ...]) -> dict[str, Any]:
    """The VAE's test negative ELBO, from the pieces of the family's ``likelihood`` (per image).

    ``bits_per_dim``: a bound on the discrete likelihood of the 8-bit test images, -log2 p(x) per
    pixel <= (KL + E[-log P(x|z)]) / D, where P is the Gaussian decoder with the fitted variance
    integrated over each intensity bin (losses.discretised_gaussian_nll). A uniform model scores 8;
    sharper reconstructions score fewer bits. Comparable with published discrete likelihoods in
    kind (an ELBO, one posterior draw), though not with models that fit a variance per pixel.
    ``neg_elbo_nats``: what the seed's loss says, a continuous Gaussian of variance 1/2:
    -log N(x; x_hat, 1/2) = sum (x - x_hat)^2 + D/2 log(pi), so -ELBO = MSE + KL + D/2 log(pi) nats."""
    dims = math.prod(image_shape)
    return {
        "vae_loss": numbers["test_mse"] + numbers["test_kl"],
        "neg_elbo_nats": numbers["test_mse"] + numbers["test_kl"] + dims / 2 * math.log(math.pi),
        "bits_per_dim": (numbers["test_nll_discrete"] + numbers["test_kl"]) / (dims * math.log(2)),
        "decoder_sigma": numbers["decoder_sigma"],
        "likelihood": "Gaussian decoder with its fitted variance, integrated over each of the 256 intensity bins",
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
    asked = asked_classes(meter, n, seed) if config.family.conditional else None  # the test split's labels
    images = sample_images(models, config, n, seed, device, classes=asked)
    result: dict[str, Any] = {
        "model": config.model, "dataset": config.dataset, "latent_dim": config.latent_dim,
        **meter.measure(images, asked),
        "classifier_accuracy": meter.classifier.test_accuracy,
        "classifier": meter.classifier.describe(),
    }
    test = meter.real_images
    if inception:
        result["inception_fd"], result["inception_note"] = inception_fd(images, test)
    likelihood = config.family.likelihood
    if likelihood is not None:  # a likelihood bound: only a family with an encoder (the VAE) has one
        with torch.random.fork_rng(devices=[]):  # the reparameterised draws: seeded, and the caller's RNG untouched
            torch.manual_seed(seed)
            numbers = likelihood(models, test, device, EVAL_BATCH)
        result.update(vae_bound(numbers, tuple(test.shape[1:])))
    return result


def format_quality(result: dict[str, Any], floor: dict[str, Any] | None = None) -> str:
    """The numbers of evaluate_models as a few explained lines; with ``floor`` (held-out real images
    measured the same way, quality.reference.shipped_floor), each beside that reference."""
    if not result:
        return "quality not measured (measure = False)"

    def real(name: str, digits: int | None = 3) -> str:
        if not floor or floor.get(name) is None:
            return ""
        return f"[real {floor[name]:.{digits}f}]" if digits is not None else f"[real {floor[name]}]"

    lines = [
        f"{result['n']} samples against the real test split"
        + (f" ([real ...]: {floor['n']:,} held-out real images measured the same way, the floor)" if floor else "") + ":",
        f"  fd              {result['fd']:<8.3f} {real('fd'):<13} Frechet distance in the classifier's features (0 = same distribution)",
        f"  classes_covered {result['classes_covered']:<8} {real('classes_covered', None):<13} classes with at least 2% of the "
        "samples, counting recognised samples only",
        f"  confidence      {result['confidence']:<8.3f} {real('confidence'):<13} mean top-class probability (0 outside the real "
        "images' feature range)",
        f"  recognised      {result['recognised']:<8.3f} {real('recognised'):<13} share of samples predicted with probability "
        "> 1/2 inside that range",
    ]
    if result.get("class_accuracy") is not None:
        lines.append(f"  class_accuracy  {result['class_accuracy']:<8.3f} {'':<13} share of samples the classifier assigns to the "
                     "class asked for (real test images score its test accuracy)")
    if floor and floor.get("n") != result["n"]:
        lines.append(f"  (the floor is for {floor['n']:,} images; fd grows as the sample count shrinks, so compare fd at equal counts)")
    if result.get("bits_per_dim") is not None:
        lines.append(f"  bits_per_dim    {result['bits_per_dim']:<8.3f} {'':<13} test -ELBO, {result['likelihood']} "
                     f"(sigma {result['decoder_sigma']:.3f}; a uniform model scores 8)")
        lines.append(f"  neg_elbo_nats   {result['neg_elbo_nats']:<8.1f} {'':<13} test -ELBO as the seed's loss measures it "
                     "(variance 1/2, continuous)")
    if "inception_note" in result:
        fid = result.get("inception_fd")
        lines.append(f"  {result['inception_note']}" + (f": FID {fid:.2f}" if fid is not None else ""))
    lines.append(f"  ({result['classifier']})")
    return "\n".join(lines)
