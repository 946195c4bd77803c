"""The shipped study as a notebook shows it: its rows for one pair, their table, the grid of
samples, the loss curves, and the VAE's KL per latent dimension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gencore.engine.paths import STUDY


def study_rows(model: str | None = None, dataset: str | None = None, folder: Path = STUDY) -> list[dict[str, Any]]:
    """The shipped study's results.csv rows (numbers as numbers), optionally for one pair."""
    from gencore.studies.results import read_table

    rows = read_table(folder)
    return [r for r in rows if (model is None or r["model"] == model) and (dataset is None or r["dataset"] == dataset)]


def study_table(model: str, dataset: str, folder: Path = STUDY) -> str:
    """The pair's rows as a Markdown table: latent size and epochs, fd, coverage, confidence, time."""
    rows = study_rows(model, dataset, folder)
    if not rows:
        return (f"*The shipped study has no {model} runs on {dataset} yet: at the seed's width they take hours each "
                f"on a CPU and wait for a GPU. The command below runs them.*")
    bound = any(r.get("neg_elbo_nats") is not None for r in rows)
    head = ("| latent | epochs | width | precision | fd | classes | confidence |" + (" bits/dim |" if bound else "")
            + " training time | device |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        cells = [r["latent_dim"], r["epochs"], r["width"], r.get("precision") or "fp32", f"{r['fd']:.2f}",
                 r["classes_covered"], f"{r['confidence']:.2f}"]
        if bound:
            cells.append(f"{r['bits_per_dim']:.3f}" if r.get("bits_per_dim") is not None else "")
        cells += [f"{r['train_seconds'] / 60:.0f} min", r["device"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def study_history(model: str, dataset: str, latent: int, folder: Path = STUDY) -> list[dict[str, float]]:
    """The per-epoch history of one shipped study run (fd every 5 epochs, on 2,000 samples)."""
    import csv

    path = folder / f"{model}-{dataset}-z{latent}" / "history.csv"
    if not path.exists():
        return []
    return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(path.open())]


def study_kl_per_dimension(model: str, dataset: str, latent: int, folder: Path = STUDY) -> torch.Tensor | None:
    """A shipped VAE study run's KL per latent dimension after its last epoch (nats per test image)."""
    path = folder / f"{model}-{dataset}-z{latent}" / "kl_per_dimension.csv"
    if not path.exists():
        return None
    return torch.tensor([float(line) for line in path.read_text().split()[1:]])


def show_study(model: str, dataset: str, folder: Path = STUDY) -> None:
    """The shipped study for one pair: its table, its grid (rows latent, columns epochs) and the
    loss curves of each latent size (the dashed line marks epoch 20)."""
    from IPython.display import Image, Markdown, display

    display(Markdown(study_table(model, dataset, folder)))
    grid = folder / f"grid-{model}-{dataset}.png"
    if grid.exists():
        display(Image(filename=str(grid), width=520))
    for run in sorted(folder.glob(f"{model}-{dataset}-z*/losses.png"), key=lambda p: int(p.parent.name.rsplit("z", 1)[1])):
        display(Image(filename=str(run), width=900))
