"""Notebook 08's views of a conditional model: samples on a grid of class by noise, walks from
one class to another at fixed noise, the confusion matrix behind the class accuracy, and the shipped
conditional references beside their unconditional twins. (Its class picker is a widget:
gencore.course.widgets.class_picker.)"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from matplotlib.figure import Figure

from gencore.engine.datasets import get_dataset
from gencore.engine.grids import show_grid
from gencore.engine.sampling import generate

GRID_NOISE = 8  # noise draws per class in a class-by-noise grid: columns enough to see the style vary
WALK_STEPS = 9  # images per walk between two classes: t = 0, 1/8, ..., 1, the midpoint among them


def _noise(run: Any, n: int, seed: int) -> torch.Tensor:
    """n latent draws (n, latent) from their own seeded generator, never the run's random state."""
    return torch.randn(n, run.config.latent_dim, generator=torch.Generator().manual_seed(seed))


def class_grid_images(run: Any, noise: int = GRID_NOISE, seed: int = 0) -> torch.Tensor:
    """(K * noise, C, H, W) in [0, 1]: row k holds class k drawn from the same ``noise`` latent points
    as every other row, so a column shows one z across the classes."""
    classes = get_dataset(run.config.dataset).classes_count
    z = _noise(run, noise, seed).repeat(classes, 1)  # (K * noise, latent): the same draws in every row
    labels = torch.arange(classes).repeat_interleave(noise)  # (K * noise,): 0 0 ... 0 1 1 ... 1 ...
    return generate(run.models, run.config, z.to(run.device), labels).cpu()


def _labelled_rows(images: torch.Tensor, per_row: int, names: Sequence[str], title: str) -> Figure:
    """A grid of ``per_row`` images a row with each row named on the left, sized to stay legible."""
    rows = len(names)
    figure = Figure(figsize=(per_row * 0.8 + 2.2, rows * 0.8 + 0.9), layout="constrained")
    ax = figure.add_subplot()
    show_grid(ax, images, title, per_row)
    ax.axis("on")
    ax.set_xticks([])
    size = images.shape[-2] + 2  # one image and the grid's 2-pixel padding
    ax.set_yticks([2 + size * (k + 0.5) for k in range(rows)], names)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    return figure


def class_grid(run: Any, title: str, noise: int = GRID_NOISE, seed: int = 0) -> Figure:
    """The class-by-noise grid under ``title``: rows are the classes (named on the left), columns the noise."""
    names = get_dataset(run.config.dataset).classes
    return _labelled_rows(class_grid_images(run, noise, seed), noise, names,
                          f"{title}\nrows: the class asked for; each column: one z for every class")


def class_walk_images(run: Any, pairs: Sequence[tuple[int, int]], steps: int = WALK_STEPS, seed: int = 0) -> torch.Tensor:
    """(len(pairs) * steps, C, H, W): for each pair (a, b), one fixed z decoded with the class
    weights (1 - t) one_hot(a) + t one_hot(b), t from 0 to 1: what lies between two classes."""
    classes = get_dataset(run.config.dataset).classes_count
    t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
    z, weights = [], []
    for index, (a, b) in enumerate(pairs):
        start, end = torch.eye(classes)[a], torch.eye(classes)[b]
        weights.append((1 - t) * start + t * end)  # (steps, K)
        z.append(_noise(run, 1, seed + index).expand(steps, -1))  # (steps, latent): one z per walk
    return generate(run.models, run.config, torch.cat(z).to(run.device), torch.cat(weights).to(run.device)).cpu()


def class_walk(run: Any, pairs: Sequence[tuple[int, int]], title: str, steps: int = WALK_STEPS, seed: int = 0) -> Figure:
    """class_walk_images under ``title``, each row named by its two classes."""
    names = get_dataset(run.config.dataset).classes
    return _labelled_rows(class_walk_images(run, pairs, steps, seed), steps, [f"{names[a]} → {names[b]}" for a, b in pairs],
                          f"{title}\neach row: one z, the class weights moving from the first class to the second")


def confusion_figure(confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str) -> Figure:
    """The confusion matrix of a conditional model's samples: the class asked for in rows, the
    classifier's answer in columns, each row as shares of its samples (the diagonal is the class
    accuracy of that class)."""
    counts = torch.tensor(confusion, dtype=torch.float64)
    shares = counts / counts.sum(dim=1, keepdim=True).clamp(min=1)
    figure = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = figure.add_subplot()
    image = ax.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    k = len(classes)
    ax.set_xticks(range(k), classes, rotation=45 if max(len(c) for c in classes) > 2 else 0, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("the classifier's answer")
    ax.set_ylabel("the class asked for")
    for i in range(k):
        for j in range(k):
            if shares[i, j] >= 0.005:
                ax.text(j, i, f"{shares[i, j]:.2f}".lstrip("0") if shares[i, j] < 1 else "1", ha="center", va="center",
                        fontsize=7, color="white" if shares[i, j] > 0.5 else "black")
    accuracy = float(counts.diagonal().sum() / counts.sum().clamp(min=1))
    ax.set_title(f"{title}\nclass accuracy {accuracy:.3f} (the diagonal's share of all samples)")
    figure.colorbar(image, ax=ax, shrink=0.8, label="share of the row's samples")
    return figure


# Each conditional reference beside its unconditional twin: the same command (width, latent size, learning rate,
# epochs or minutes). The GAN's twin ran on the cGAN's machine, its 5 or 10 minutes the same compute; the VAEs train
# a fixed number of epochs, so the shipped VAE of 01/02 is the cVAE's twin wherever it ran.
TWINS = (("vae-{}", "cvae-{}"), ("gan-{}-twin", "cgan-{}"))


def conditioning_rows(dataset: str) -> list[dict[str, Any]]:
    """The shipped references of ``dataset`` side by side, as their manifest records them (10,000
    samples each, the shipped classifier): each unconditional model and its conditional twin, then
    the real images' floor, whose class accuracy is the classifier's own on the real test split."""
    from gencore.quality.reference import manifest, shipped_floor

    models, rows = manifest()["models"], []
    for pair in TWINS:
        for pattern in pair:
            name = pattern.format(dataset)
            entry = models.get(name)
            if entry is None:
                continue
            rows.append({"model": f"ref:{name}", "fd": entry["fd"], "recognised": entry["recognised"],
                         "classes_covered": entry["classes_covered"], "class_accuracy": entry.get("class_accuracy"),
                         "n": entry["n"], "train_seconds": entry["train_seconds"], "epochs_done": entry["epochs_done"]})
    floor = shipped_floor(dataset)
    if floor is not None:
        accuracy = manifest()["classifiers"][dataset]["test_accuracy"]
        rows.append({"model": "real images (the floor)", "fd": floor["fd"], "recognised": floor["recognised"],
                     "classes_covered": floor["classes_covered"], "class_accuracy": accuracy, "n": floor["n"],
                     "train_seconds": None, "epochs_done": None})
    return rows


def conditioning_table(dataset: str) -> str:
    """conditioning_rows as aligned text: what conditioning changed, measured."""
    lines = [f"{'':<26} {'fd':>7} {'recognised':>10} {'classes':>7} {'class acc.':>10} {'trained':>12}"]
    for row in conditioning_rows(dataset):
        accuracy = "-" if row["class_accuracy"] is None else f"{row['class_accuracy']:.3f}"
        trained = "" if row["train_seconds"] is None else f"{row['train_seconds'] / 60:.1f} min, {row['epochs_done']} ep"
        lines.append(f"{row['model']:<26} {row['fd']:>7.2f} {row['recognised']:>10.3f} {row['classes_covered']:>7} "
                     f"{accuracy:>10} {trained:>12}")
    lines.append("(10,000 samples each, the shipped classifier; the floor's class accuracy is the classifier's accuracy on "
                 "the real test split)")
    return "\n".join(lines)
