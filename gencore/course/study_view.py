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
                  measure: str = "fd", noise: dict[str, Any] | None = None) -> str:
    """One comparison of two cells in words, sized to the evidence: which is lower, against the
    spread (each cell's own over 3 or more seeds, else the largest spread measured in ``reference``,
    a cell of the same pair, and never less than fd's sampling noise, ``noise``: a row of
    gencore.studies.fd_noise at the cells' sample count), or that the runs cannot tell
    (gencore.studies.results.tell_apart)."""
    from gencore.studies.results import spread_text, tell_apart

    name = lambda c: f"latent {c['latent_dim']}, {c['epochs']} epochs"  # noqa: E731
    numbers = f"{measure} {spread_text(a, measure)} against {spread_text(b, measure)}"
    borrowed = reference[f"{measure}_sd"] if reference else None
    noise_sd = noise["fd_sd"] if noise is not None and measure == "fd" else None
    verdict = tell_apart(a, b, measure, borrowed_sd=borrowed, noise_sd=noise_sd)
    single = any((c.get(f"{measure}_n") or 0) < 3 for c in (a, b))
    spread = (f"the spread ({borrowed:.2f}, the largest standard deviation over seeds for this pair, at {name(reference)})"
              if single and reference else "the spread")
    sampling = (f"fd's sampling noise, a standard deviation of {noise_sd:.2g} at {noise['n']:,} samples on "
                f"`{noise['source']}`" if noise is not None and noise_sd is not None else "")
    gap = abs(a[measure] - b[measure])
    if noise_sd is not None and gap <= 2 * noise_sd:
        return f"{name(a)} against {name(b)}: {numbers}; the gap is within {sampling}: these runs cannot tell them apart"
    if verdict is None:
        beyond = f"; the gap is {gap / noise_sd:.0f} times {sampling}" if noise_sd else ""
        return (f"{name(a)} against {name(b)}: {numbers}; no seed-to-seed spread measured for this pair, so these "
                f"runs cannot say whether the gap is real{beyond}")
    if not verdict:
        return f"{name(a)} against {name(b)}: {numbers}; the gap is within {spread}: these runs cannot tell them apart"
    better = a if a[measure] < b[measure] else b
    return f"{name(a)} against {name(b)}: {numbers}; {name(better)} is closer to the data, by more than {spread}"


def study_noise(model: str, dataset: str, folder: Path = STUDY) -> dict[str, Any] | None:
    """fd's sampling noise at the pair's study sample count, measured on its shipped reference
    (gencore.studies.fd_noise; None when not measured)."""
    from gencore.studies.fd_noise import noise_row

    counts = {r.get("n") for r in study_rows(model, dataset, folder)}
    n = counts.pop() if len(counts) == 1 else None
    return noise_row(model, dataset, int(n), folder) if n is not None else None


def study_comparisons(model: str, dataset: str, folder: Path = STUDY, kind: str | None = None) -> list[str]:
    """The study's comparisons for one pair, computed from its cells: the two latent sizes at each
    training length, and the two lengths at each latent size (fd; lower is closer to the data),
    each against the seed spread and fd's sampling noise. ``kind``: "latent" or "epochs" for
    one of the two kinds only."""
    from gencore.studies.results import largest_spread

    cell_rows = study_cells(model, dataset, folder)
    reference = largest_spread(cell_rows)
    noise = study_noise(model, dataset, folder)
    by_key = {(c["latent_dim"], c["epochs"]): c for c in cell_rows}
    latents = sorted({c["latent_dim"] for c in cell_rows})
    epochs = sorted({c["epochs"] for c in cell_rows})
    lines = []
    for e in epochs if kind in (None, "latent") else ():
        if len(latents) == 2 and all((z, e) in by_key for z in latents):
            lines.append(compare_cells(by_key[(latents[1], e)], by_key[(latents[0], e)], reference, noise=noise))
    for z in latents if kind in (None, "epochs") else ():
        if len(epochs) == 2 and all((z, e) in by_key for e in epochs):
            lines.append(compare_cells(by_key[(z, epochs[1])], by_key[(z, epochs[0])], reference, noise=noise))
    return lines


def cell_spread(cell: dict[str, Any], pair_cells: list[dict[str, Any]], noise_sd: float | None,
                measure: str = "fd") -> float | None:
    """The spread a comparison grants one cell: its own standard deviation over 3 or more seeds, else
    the largest one measured for its pair (None without either), and never less than fd's sampling
    noise."""
    from gencore.studies.results import largest_spread

    if (cell.get(f"{measure}_n") or 0) >= 3:
        spread = cell[f"{measure}_sd"]
    else:
        largest = largest_spread(pair_cells, measure)
        spread = largest[f"{measure}_sd"] if largest else None
    return spread if spread is None or noise_sd is None else max(spread, noise_sd)


def model_comparisons(dataset: str, folder: Path = STUDY) -> list[str]:
    """The models against each other on one dataset, at every latent size and length that two of
    them share: fd against the two cells' spreads (cell_spread), or that the runs cannot tell."""
    from gencore.engine.families import FAMILIES
    from gencore.studies.results import spread_text

    pairs = {m: study_cells(m, dataset, folder) for m in FAMILIES}
    noise = {m: study_noise(m, dataset, folder) for m in pairs}
    keyed = {m: {(c["latent_dim"], c["epochs"]): c for c in cells} for m, cells in pairs.items()}
    settings = sorted({k for cells in keyed.values() for k in cells})
    lines = []
    for latent, epochs in settings:
        present = [m for m in keyed if (latent, epochs) in keyed[m]]
        for i, a in enumerate(present):
            for b in present[i + 1:]:
                ca, cb = keyed[a][(latent, epochs)], keyed[b][(latent, epochs)]
                sa, sb = (cell_spread(c, pairs[m], _sd(noise[m])) for m, c in ((a, ca), (b, cb)))
                head = (f"latent {latent}, {epochs} epochs: {a.upper()} fd {spread_text(ca)} against {b.upper()} "
                        f"{spread_text(cb)}")
                if sa is None or sb is None:
                    missing = " and ".join(m.upper() for m, s in ((a, sa), (b, sb)) if s is None)
                    lines.append(f"{head}; no seed-to-seed spread measured for the {missing} on {dataset}, so these "
                                 "runs cannot say whether the gap is real")
                elif abs(ca["fd"] - cb["fd"]) > sa + sb:
                    better = a if ca["fd"] < cb["fd"] else b
                    lines.append(f"{head}; the {better.upper()} is closer to the data, by more than the spread "
                                 f"({sa:.2f} + {sb:.2f})")
                else:
                    lines.append(f"{head}; the gap is within the spread ({sa:.2f} + {sb:.2f}): these runs cannot tell "
                                 "them apart")
    return lines


def _sd(noise: dict[str, Any] | None) -> float | None:
    return noise["fd_sd"] if noise is not None else None


def fd_over_minutes(dataset: str, folder: Path = STUDY) -> Any:
    """fd during training (the histories: every 5 epochs, 2,000 samples) against the training minutes
    of each pair's longest run, one line per model and latent size. Only fd: the histories' class
    counts were taken before the real-range check (docs/quality.md) and are not shown."""
    from matplotlib.figure import Figure

    from gencore.runs.plots import log_y_with_plain_ticks

    figure = Figure(figsize=(7, 3.8), layout="constrained")
    ax = figure.add_subplot()
    for row in study_rows(dataset=dataset, folder=folder):
        if row.get("seed") or row["epochs"] != max(r["epochs"] for r in study_rows(row["model"], dataset, folder)):
            continue
        history = study_history(row["model"], dataset, row["latent_dim"], folder)
        seconds_per_epoch = row["train_seconds"] / row["epochs"]
        points = [(r["epoch"] * seconds_per_epoch / 60, r["fd"]) for r in history if "fd" in r]
        if points:
            precision = "" if (row.get("precision") or "fp32") == "fp32" else f", {row['precision']}"
            ax.plot(*zip(*points), marker="o", markersize=3,
                    label=f"{row['model']} z{row['latent_dim']} (width {row['width']}{precision})")
    log_y_with_plain_ticks(ax)
    ax.set_xlabel("training minutes (seed 0, one core)")
    ax.set_ylabel("fd on 2,000 samples (lower is better)")
    ax.set_title(f"{dataset}: sample quality against training time")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return figure


def noise_text(model: str | tuple[str, ...], dataset: str, folder: Path = STUDY) -> str:
    """One sentence: how far fd moves from sampling alone for the pair's shipped reference (or each
    of several models' on the dataset), at the course's two sample counts (the study's 10,000 and
    the histories' 2,000), and for real images."""
    from gencore.studies.fd_noise import noise_row

    parts = []
    for source in ((model,) if isinstance(model, str) else model) + ("real",):
        large, small = noise_row(source, dataset, 10_000, folder), noise_row(source, dataset, 2000, folder)
        if large is not None and small is not None:
            what = "real images (the floor)" if source == "real" else f"`ref:{source}-{dataset}`"
            parts.append(f"{what}: fd {_fd(large['fd_mean'])} ± {large['fd_sd']:.2g} at 10,000 samples "
                         f"({large['draws']} draws), {_fd(small['fd_mean'])} ± {small['fd_sd']:.2g} at 2,000 "
                         f"({small['draws']} draws)")
    if not parts:
        return ""
    return ("**fd from sampling alone** (the same network, only the samples drawn again; mean ± standard deviation): "
            + "; ".join(parts) + ". No comparison can be finer than this noise, whatever the seeds.")


def _fd(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def show_comparisons(model: str, dataset: str, folder: Path = STUDY) -> None:
    """study_comparisons as a list under the table, after fd's sampling noise."""
    from IPython.display import Markdown, display

    noise = noise_text(model, dataset, folder)
    display(Markdown((noise + "\n\n" if noise else "")
                     + "**The comparisons, computed from the table** (fd, mean ± standard deviation over seeds):\n\n"
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
