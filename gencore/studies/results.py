"""The study's table, whoever ran the runs: one schema, one collector, one reader, one grid figure.

The seed study (study.py: Trainers in this process, one long run per latent size whose shorter
epochs are kept) and a sweep (sweep.py: course notebooks through papermill, on this machine or on
Dask) differ only in how a run is executed. Each finished measurement leaves one JSON row in its
folder (``<run>/row-eNNN.json`` from the study, ``<run>/result.json`` from a sweep) beside a
thumbnail of samples from fixed latent points; this module turns a results folder into:

    results.csv                 one row per measurement, the columns in COLUMNS (then any others); a study's
                                also holds one floor row per dataset (model "real": held-out real images)
    cells.csv                   one row per cell (every setting but the random seed): the seeds, and the
                                mean and standard deviation over them of each quality number
    results.md                  the floor, the cells and the rows, rounded
    grid-<model>-<dataset>.png  the thumbnails: rows latent size, columns epochs, each with its fd
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import torch

from gencore.engine.config import DATASETS
from gencore.engine.families import FAMILIES

# The columns other tooling reads, in this order (the first twelve are the study's contract).
COLUMNS = ("model", "dataset", "latent_dim", "epochs", "width", "lr", "batch_size", "device", "train_seconds", "fd",
           "classes_covered", "confidence", "neg_elbo_nats", "bits_per_dim", "n", "run", "precision", "seed", "subset",
           "wall_seconds", "images_per_s", "threads", "status", "name", "thumbnail", "recognised", "decoder_sigma",
           "classes_guessed", "confidence_unchecked")
ROW_FILES = ("*/row-e*.json", "*/result.json")  # the study's rows (one per kept epoch), a sweep's (one per run)
NOT_IN_TABLE = {"class_shares", "resumed_from", "what"}  # lists and notes: kept in the JSON rows only
FLOOR_MODEL = "real"  # the model column of a floor row: real images measured as if they were samples
# What a cell is: every setting but the random seed. Its seeds' rows give the cell's mean and spread.
CELL_KEYS = ("model", "dataset", "latent_dim", "epochs", "width", "precision", "lr", "batch_size", "subset")
SPREAD_MEASURES = ("fd", "classes_covered", "confidence", "recognised", "bits_per_dim")
THUMBNAIL_SAMPLES = 36  # a 6 x 6 grid per row: enough to see variety, small enough to ship
THUMBNAIL_SEED = 0  # every row of a given latent size draws the same latent points


def collect(folder: str | Path) -> list[dict[str, Any]]:
    """Every finished row in a results folder, in the course's order: family, dataset, latent size, epochs, seed."""
    rows = []
    for pattern in ROW_FILES:
        for path in Path(folder).glob(pattern):
            try:
                rows.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # a row being written: atomic writes make this rare; the next collect has it
    families = {name: index for index, name in enumerate(FAMILIES)}
    datasets = {name: index for index, name in enumerate(DATASETS)}
    return sorted(rows, key=lambda r: (families.get(r["model"], len(families)), datasets.get(r["dataset"], 9),
                                       r["latent_dim"], r["epochs"], r.get("seed") or 0))


def write_table(folder: str | Path, rows: list[dict[str, Any]], floors: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    """results.csv (floors first, then the rows; every column, COLUMNS first), cells.csv (each
    cell's mean and spread over its seeds) and results.md (all three, the main columns, rounded)."""
    from gencore.engine.files import atomic_write

    cell_rows = cells(rows)
    atomic_write(Path(folder) / "results.csv", lambda f: f.write(_csv(list(floors) + rows, COLUMNS)), binary=False)
    atomic_write(Path(folder) / "cells.csv", lambda f: f.write(_csv(cell_rows, ())), binary=False)
    text = ((markdown_table(list(floors)) + "\n" if floors else "") + cells_markdown(cell_rows) + "\n" + markdown_table(rows))
    atomic_write(Path(folder) / "results.md", lambda f: f.write(text), binary=False)


def _csv(rows: list[dict[str, Any]], first: tuple[str, ...]) -> str:
    columns = list(first) + [k for k in dict.fromkeys(k for r in rows for k in r) if k not in first and k not in NOT_IN_TABLE]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def floor_row(dataset: str, floor: dict[str, Any]) -> dict[str, Any]:
    """A results row for a dataset's real-data floor (quality.reference.shipped_floor)."""
    return {"model": FLOOR_MODEL, "dataset": dataset, **{k: floor.get(k) for k in ("fd", "classes_covered", "confidence",
                                                                                      "recognised", "n")},
            "status": "floor", "name": f"{FLOOR_MODEL}-{dataset}"}


def cells(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per cell (CELL_KEYS): its seeds, and for each measure in SPREAD_MEASURES the mean,
    the sample standard deviation (``_sd``, None from one value) and how many rows measured it (``_n``)."""
    import statistics

    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("model") != FLOOR_MODEL:
            groups.setdefault(tuple(row.get(k) for k in CELL_KEYS), []).append(row)
    result = []
    for key, members in groups.items():
        cell: dict[str, Any] = dict(zip(CELL_KEYS, key))
        cell["seeds"] = " ".join(str(m.get("seed") or 0) for m in members)
        for name in SPREAD_MEASURES:
            values = [float(m[name]) for m in members if m.get(name) is not None]
            if values:
                cell[name] = statistics.fmean(values)
                cell[f"{name}_sd"] = statistics.stdev(values) if len(values) > 1 else None
                cell[f"{name}_n"] = len(values)
        result.append(cell)
    return result


def tell_apart(a: dict[str, Any], b: dict[str, Any], measure: str = "fd", min_seeds: int = 3,
               borrowed_sd: float | None = None, noise_sd: float | None = None) -> bool | None:
    """Whether two cells differ in ``measure`` by more than their spread: the gap between the means
    exceeds the sum of their standard deviations. A cell with fewer than ``min_seeds`` measurements
    uses ``borrowed_sd`` (the spread measured in a like cell) in place of its own; without one the
    answer is None: one run cannot say how far another seed would land.

    ``noise_sd``: the measure's standard deviation from sampling alone at the cells' sample count
    (gencore.studies.fd_noise). No cell's spread can be smaller, so each spread is at least it, and
    a gap within the two cells' sampling noise is within their spread whatever the seeds: False,
    even between one-seed cells."""
    gap = abs(a[measure] - b[measure])
    if noise_sd is not None and gap <= 2 * noise_sd:
        return False
    spreads = []
    for cell in (a, b):
        own = cell.get(f"{measure}_sd") if (cell.get(f"{measure}_n") or 0) >= min_seeds else None
        spreads.append(own if own is not None else borrowed_sd)
    if None in spreads:
        return None
    if noise_sd is not None:
        spreads = [max(spread, noise_sd) for spread in spreads]  # type: ignore[type-var]
    return gap > sum(spreads)  # type: ignore[arg-type]


def largest_spread(cell_rows: list[dict[str, Any]], measure: str = "fd", min_seeds: int = 3) -> dict[str, Any] | None:
    """The cell with the largest standard deviation among those with ``min_seeds`` measurements:
    the spread a one-seed cell of the same pair borrows (None when no cell has that many)."""
    seeded = [c for c in cell_rows if (c.get(f"{measure}_n") or 0) >= min_seeds]
    return max(seeded, key=lambda c: c[f"{measure}_sd"]) if seeded else None


def spread_text(cell: dict[str, Any], measure: str = "fd", digits: int = 2) -> str:
    """'4.67 ± 0.31 (3 seeds)', or '4.67 (1 seed)': a cell's number as the tables and notebooks show it."""
    n = cell.get(f"{measure}_n") or 0
    if not n:
        return ""
    sd = cell.get(f"{measure}_sd")
    return f"{cell[measure]:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "") + f" ({n} seed{'s' * (n != 1)})"


def cells_markdown(cell_rows: list[dict[str, Any]]) -> str:
    shown = ("model", "dataset", "latent_dim", "epochs", "width", "precision")
    measures = [m for m in SPREAD_MEASURES if any(c.get(f"{m}_n") for c in cell_rows)]
    lines = ["| " + " | ".join(shown + ("seeds",) + tuple(measures)) + " |", "|" + "---|" * (len(shown) + 1 + len(measures))]
    for cell in cell_rows:
        digits = {"classes_covered": 1, "bits_per_dim": 3}
        lines.append("| " + " | ".join([_cell(cell.get(k)) for k in shown] + [cell["seeds"]]
                                        + [spread_text(cell, m, digits.get(m, 2)) for m in measures]) + " |")
    return "\n".join(lines) + "\n"


def read_table(folder: str | Path) -> list[dict[str, Any]]:
    """results.csv as dicts, numbers as numbers and empty cells as None ([] when there is none)."""
    path = Path(folder) / "results.csv"
    if not path.exists():
        return []
    rows = []
    for raw in csv.DictReader(path.open()):
        row: dict[str, Any] = {}
        for key, value in raw.items():
            if value in ("", None):
                row[key] = None
                continue
            try:
                number = float(value)
                row[key] = int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
            except ValueError:
                row[key] = value
        rows.append(row)
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    shown = ("model", "dataset", "latent_dim", "epochs", "seed", "subset", "width", "precision", "fd", "classes_covered",
             "confidence", "recognised", "bits_per_dim", "train_seconds", "device")
    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(name)) for name in shown) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def save_thumbnail(models: dict[str, torch.nn.Module], config: Any, path: Path) -> None:
    """The row's samples: THUMBNAIL_SAMPLES images from the same seeded draws, as a PNG."""
    from torchvision.io import encode_png

    from gencore.engine.files import atomic_write
    from gencore.engine.grids import image_grid
    from gencore.engine.sampling import sample_images

    grid = image_grid(sample_images(models, config, THUMBNAIL_SAMPLES, seed=THUMBNAIL_SEED), nrow=6)  # (H, W, 3)
    data = encode_png((grid.permute(2, 0, 1) * 255).round().to(torch.uint8))
    atomic_write(path, lambda f: f.write(data.numpy().tobytes()))


def thumbnail_path(folder: Path, row: dict[str, Any]) -> Path:
    """Where a row's thumbnail is; rows written before the column existed are the study's (samples-eNNN.png)."""
    relative = row.get("thumbnail") or f"{row.get('run')}/samples-e{int(row['epochs']):03d}.png"
    return Path(folder) / relative


def grid_figure(folder: str | Path, rows: list[dict[str, Any]], model: str, dataset: str):  # noqa: ANN201 - Figure
    """The seed study's comparison: rows latent size, columns epochs, each cell a row's thumbnail
    with its fd and classes covered (the first seed where there are several)."""
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    chosen: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        if row["model"] == model and row["dataset"] == dataset and thumbnail_path(Path(folder), row).exists():
            chosen.setdefault((row["latent_dim"], row["epochs"]), row)
    latents = sorted({latent for latent, _ in chosen})
    epochs = sorted({epoch for _, epoch in chosen})
    figure = Figure(figsize=(2.6 * max(1, len(epochs)) + 0.4, 2.8 * max(1, len(latents)) + 0.5), layout="constrained")
    if not chosen:
        figure.text(0.5, 0.5, "no finished runs to show", ha="center")
        return figure
    axes = figure.subplots(len(latents), len(epochs), squeeze=False)
    for i, latent in enumerate(latents):
        for j, epoch in enumerate(epochs):
            ax = axes[i][j]
            ax.axis("off")
            cell = chosen.get((latent, epoch))
            if cell is None:
                continue
            ax.imshow(imread(thumbnail_path(Path(folder), cell)), interpolation="nearest")
            precision = cell.get("precision") or "fp32"
            measured = ", ".join(([f"fd {cell['fd']:.2f}"] if cell.get("fd") is not None else [])
                                 + ([_classes(cell["classes_covered"])] if cell.get("classes_covered") is not None else []))
            ax.set_title(f"latent {latent}, {epoch} epoch{'s' * (epoch != 1)}{'' if precision == 'fp32' else ', ' + precision}"
                         f"\n{measured or 'not measured'}", fontsize=9)
    widths = sorted({str(r["width"]) for r in chosen.values() if r.get("width") is not None})
    figure.suptitle(f"{FAMILIES[model].title if model in FAMILIES else model} on {dataset}"
                    + (f" (width {', '.join(widths)})" if widths else ""))
    return figure


def _classes(count: int) -> str:
    return f"{count} class{'es' * (count != 1)}"


def write_grids(folder: str | Path, rows: list[dict[str, Any]], dpi: int = 80) -> None:
    """One grid figure per model and dataset in the rows."""
    for model, dataset in sorted({(r["model"], r["dataset"]) for r in rows}):
        grid_figure(folder, rows, model, dataset).savefig(Path(folder) / f"grid-{model}-{dataset}.png", dpi=dpi)


__all__ = ["COLUMNS", "collect", "write_table", "read_table", "markdown_table", "grid_figure", "write_grids", "cells",
           "tell_apart", "largest_spread", "spread_text", "floor_row", "cells_markdown", "FLOOR_MODEL",
           "save_thumbnail", "thumbnail_path"]
