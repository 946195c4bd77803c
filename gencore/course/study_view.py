"""The shipped study as a notebook shows it: its rows for one pair, their table, the grid of
samples, the loss curves, and the VAE's KL per latent dimension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gencore.engine.paths import STUDY


def study_rows(model: str | None = None, dataset: str | None = None, folder: Path = STUDY) -> list[dict[str, Any]]:
    """The shipped study's results.csv rows (numbers as numbers), optionally for one pair; the
    floor rows (real images) are left out: study_floor gives them."""
    from gencore.studies.results import FLOOR_MODEL, read_table

    rows = [r for r in read_table(folder) if r["model"] != FLOOR_MODEL]
    return [r for r in rows if (model is None or r["model"] == model) and (dataset is None or r["dataset"] == dataset)]


def study_cells(model: str | None = None, dataset: str | None = None, folder: Path = STUDY) -> list[dict[str, Any]]:
    """The pair's cells (every setting but the random seed): seeds, mean and spread of each measure
    (gencore.studies.results.cells), and the mean training time."""
    from gencore.studies.results import CELL_KEYS, cells

    rows = study_rows(model, dataset, folder)
    result = cells(rows)  # rows of the seeds 1, 2 ... sit beside seed 0's: one cell each setting
    for cell in result:
        members = sorted((r for r in rows if all(r.get(k) == cell[k] for k in CELL_KEYS)), key=lambda r: r.get("seed") or 0)
        # The first seed's time: the study ran it two runs to the two cores; later seeds shared them with more.
        cell["train_seconds"] = members[0]["train_seconds"]
        cell["device"] = members[0]["device"]
    return result


def study_floor(dataset: str, folder: Path = STUDY) -> dict[str, Any] | None:
    """The study's floor row for a dataset: held-out real images measured as samples are."""
    from gencore.studies.results import FLOOR_MODEL, read_table

    return next((r for r in read_table(folder) if r["model"] == FLOOR_MODEL and r["dataset"] == dataset), None)


def study_table(model: str, dataset: str, folder: Path = STUDY) -> str:
    """The pair's cells as a Markdown table: the floor first, then latent size and epochs with fd,
    coverage and confidence as mean ± standard deviation over the seeds run (their count shown)."""
    from gencore.studies.results import spread_text

    cell_rows = study_cells(model, dataset, folder)
    if not cell_rows:
        return (f"*The shipped study has no {model} runs on {dataset} yet: at the seed's width they take hours each "
                f"on a CPU and wait for a GPU. The command below runs them.*")
    bound = any(c.get("bits_per_dim_n") for c in cell_rows)
    head = ("| latent | epochs | width | precision | fd | classes | confidence |" + (" bits/dim |" if bound else "")
            + " training time | device |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    floor = study_floor(dataset, folder)
    if floor is not None:
        lines.append(f"| real images | (the floor) | | | {floor['fd']:.2f} | {floor['classes_covered']} | "
                     f"{floor['confidence']:.2f} |" + (" |" if bound else "") + f" | {floor['n']:,} held-out images |")
    for c in cell_rows:
        cells = [c["latent_dim"], c["epochs"], c["width"], c.get("precision") or "fp32", spread_text(c, "fd"),
                 spread_text(c, "classes_covered", 1) or "–", spread_text(c, "confidence") or "–"]
        if bound:
            cells.append(spread_text(c, "bits_per_dim", 3) or "–")
        cells += [f"{c['train_seconds'] / 60:.0f} min", c["device"]]
        lines.append("| " + " | ".join(str(x) for x in cells) + " |")
    reference = _reference_row(model, dataset, bound)
    if reference:
        lines.append(reference[0])
    lines.append("")
    lines.append("*Mean ± standard deviation over the seeds run (their count in brackets; one seed has no spread). "
                 "– : measured before classes and confidence counted only samples inside the real images' feature "
                 "range, and the weights were not kept to measure again. Training time: the first seed's.*"
                 + (f" {reference[1]}" if reference else ""))
    return "\n".join(lines)


def _reference_row(model: str, dataset: str, bound: bool) -> tuple[str, str] | None:
    """The pair's shipped reference as a row beside the study's (its own setting, one seed), and the
    sentence that names that setting; None when the pair ships no reference."""
    from gencore.engine.config import TrainConfig
    from gencore.quality.reference import PREFIX, manifest, own_settings_label

    entry = manifest()["models"].get(f"{model}-{dataset}")
    if entry is None:
        return None
    config = TrainConfig.from_dict(entry["config"])
    name = f"`{PREFIX}{model}-{dataset}`"
    cells = [f"{config.latent_dim} ({name})", entry["epochs_done"], config.width, config.precision,
             f"{entry['fd']:.2f} (1 seed)", entry["classes_covered"], f"{entry['confidence']:.2f}"]
    if bound:
        cells.append(f"{entry['bits_per_dim']:.3f} (1 seed)" if "bits_per_dim" in entry else "–")
    cells += [f"{entry.get('train_seconds', 0) / 60:.0f} min", entry.get("device", "")]
    own = own_settings_label(entry["config"])
    setting = f"lr {config.lr:g}, batch {config.batch_size}" + (f", {own}" if own else "")
    return ("| " + " | ".join(str(x) for x in cells) + " |",
            f"The {name} row is the shipped reference, at its own setting ({setting}), not the seed's.")


def compare_cells(a: dict[str, Any], b: dict[str, Any], reference: dict[str, Any] | None = None,
                  measure: str = "fd") -> str:
    """One comparison of two cells in words, sized to the evidence: which is lower, against the
    spread (each cell's own over 3 or more seeds, else the largest spread measured in ``reference``,
    a cell of the same pair), or that the runs cannot tell (gencore.studies.results.tell_apart)."""
    from gencore.studies.results import spread_text, tell_apart

    name = lambda c: f"latent {c['latent_dim']}, {c['epochs']} epochs"  # noqa: E731
    numbers = f"{measure} {spread_text(a, measure)} against {spread_text(b, measure)}"
    borrowed = reference[f"{measure}_sd"] if reference else None
    verdict = tell_apart(a, b, measure, borrowed_sd=borrowed)
    single = any((c.get(f"{measure}_n") or 0) < 3 for c in (a, b))
    spread = (f"the spread ({borrowed:.2f}, the largest standard deviation over seeds for this pair, at {name(reference)})"
              if single and reference else "the spread")
    if verdict is None:
        return (f"{name(a)} against {name(b)}: {numbers}; no seed-to-seed spread measured for this pair, so these "
                "runs cannot say whether the gap is real")
    if not verdict:
        return f"{name(a)} against {name(b)}: {numbers}; the gap is within {spread}: these runs cannot tell them apart"
    better = a if a[measure] < b[measure] else b
    return f"{name(a)} against {name(b)}: {numbers}; {name(better)} is closer to the data, by more than {spread}"


def study_comparisons(model: str, dataset: str, folder: Path = STUDY) -> list[str]:
    """The study's comparisons for one pair, computed from its cells: the two latent sizes at each
    training length, and the two lengths at each latent size (fd; lower is closer to the data)."""
    from gencore.studies.results import largest_spread

    cell_rows = study_cells(model, dataset, folder)
    reference = largest_spread(cell_rows)
    by_key = {(c["latent_dim"], c["epochs"]): c for c in cell_rows}
    latents = sorted({c["latent_dim"] for c in cell_rows})
    epochs = sorted({c["epochs"] for c in cell_rows})
    lines = []
    for e in epochs:
        if len(latents) == 2 and all((z, e) in by_key for z in latents):
            lines.append(compare_cells(by_key[(latents[1], e)], by_key[(latents[0], e)], reference))
    for z in latents:
        if len(epochs) == 2 and all((z, e) in by_key for e in epochs):
            lines.append(compare_cells(by_key[(z, epochs[1])], by_key[(z, epochs[0])], reference))
    return lines


def show_comparisons(model: str, dataset: str, folder: Path = STUDY) -> None:
    """study_comparisons as a list under the table."""
    from IPython.display import Markdown, display

    display(Markdown("**The comparisons, computed from the table** (fd, mean ± standard deviation over seeds):\n\n"
                     + "\n".join(f"- {line}" for line in study_comparisons(model, dataset, folder))))


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
    show_comparisons(model, dataset, folder)
    grid = folder / f"grid-{model}-{dataset}.png"
    if grid.exists():
        display(Image(filename=str(grid), width=520))
    seed_zero = [p for p in folder.glob(f"{model}-{dataset}-z*/losses.png") if p.parent.name.rsplit("z", 1)[1].isdigit()]
    for run in sorted(seed_zero, key=lambda p: int(p.parent.name.rsplit("z", 1)[1])):  # the full runs: seed 0's
        display(Image(filename=str(run), width=900))
