"""fd's own noise: how far the Fréchet distance of one fixed network moves when only its samples change.

fd compares a finite set of samples with the real test split, so two measurements of the same
network with two sampling seeds differ. No comparison can be finer than that: a gap between two
runs within their sampling noise is within their spread, whatever their training seeds.
``measure_fd_noise`` measures it on the shipped reference models (one per pair) and on held-out
real images (the floor), at the sample counts the course uses: 2,000 (the histories' quality rows,
quality.metrics.HISTORY_SAMPLES) and 10,000 (the study's rows, the references, the notebooks'
measurements), from several sampling seeds, and writes ``fd_noise.csv`` beside the shipped study;
``fd_noise``, ``noise_row`` and ``sampling_sd`` read it. To measure it again (minutes on a CPU)::

    python -c "from gencore.studies.fd_noise import measure_fd_noise; measure_fd_noise('../shared/data')"
"""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path
from typing import Any

from gencore.engine.paths import STUDY

FD_NOISE_FILE = "fd_noise.csv"  # beside the study's results.csv
DRAWS = 3  # sampling seeds 0, 1, 2 (seed 0: the shipped numbers'), each a draw of LARGE samples
LARGE, SMALL = 10_000, 2000  # the course's two sample counts; each large draw holds LARGE // SMALL disjoint small ones
REAL = "real"  # the source of the floor's rows: held-out real images, a seeded draw of the training split per seed
COLUMNS = ("source", "dataset", "n", "seeds", "draws", "fd_mean", "fd_sd", "fd_min", "fd_max", "fds", "device")


def measure_fd_noise(data_root: str | None = None, sources: tuple[str, ...] | None = None, draws: int = DRAWS,
                     folder: Path = STUDY, write: bool = True) -> list[dict[str, Any]]:
    """fd of each shipped reference (``sources``: names such as 'gan-mnist', measured and merged into
    the shipped rows; None: all, and the real floor of each dataset), from ``draws`` sampling seeds; the networks never change, only the
    samples. Each draw of LARGE samples is measured whole, and in LARGE // SMALL disjoint parts of
    SMALL (independent draws of SMALL samples: every sample is drawn independently), so each seed
    gives one fd at 10,000 and five at 2,000, and every image passes the classifier once. One row
    per source and count: the values, their mean, sample standard deviation and range. fd is
    computed as QualityMeter.measure computes it (torchmetrics' formula on the same real statistics),
    which the seed-0 row reproduces. Written to ``folder/fd_noise.csv``."""
    import torch

    from gencore.engine.data import load_dataset
    from gencore.engine.runtime import machine_name
    from gencore.engine.sampling import sample_images
    from gencore.quality.metrics import _batches, asked_classes, quality_meter
    from gencore.quality.reference import load_reference, manifest

    names = sources or tuple(sorted(manifest()["models"]))
    device = f"{machine_name()}, {_cpu_family()}, torch {torch.__version__}"
    seeds = tuple(range(draws))

    def reference_draws(name: str) -> Any:
        reference = load_reference(name)
        config = reference.config
        meter = quality_meter(config.dataset, data_root, train_if_missing=False, classifier="shipped")
        # A conditional model is asked for the classes its shipped measurement asked for (the test split's labels).
        return (sample_images(reference.models, config, LARGE, seed,
                              classes=asked_classes(meter, LARGE, seed) if config.family.conditional else None)
                for seed in seeds)

    def floor_draws(dataset: str) -> Any:
        train = load_dataset(dataset, "train", data_root).images  # the floor's draw per seed, as metrics.measure_floor makes it
        return (train[torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:LARGE]] for seed in seeds)

    datasets = {name: manifest()["models"][name]["config"]["dataset"] for name in names}
    plan = [(f"ref:{name}", datasets[name], lambda name=name: reference_draws(name)) for name in names]
    if sources is None:  # everything, floors included; given sources are measured and merged into the shipped file
        plan += [(REAL, dataset, lambda dataset=dataset: floor_draws(dataset)) for dataset in sorted(set(datasets.values()))]
    rows = []
    for source, dataset, images in plan:
        meter = quality_meter(dataset, data_root, train_if_missing=False, classifier="shipped")
        large, small = [], []
        for draw in images():  # one draw in memory at a time
            with torch.no_grad():
                features = torch.cat([meter.features(batch) for batch in _batches(draw)]).double()
            large.append(frechet_from_features(meter.fid, features))
            small += [frechet_from_features(meter.fid, part) for part in features.split(SMALL)]
        rows.append(_row(source, dataset, LARGE, seeds, large, device))
        rows.append(_row(source, dataset, SMALL, seeds, small, device))
    if write:
        from gencore.engine.files import atomic_write

        measured = {row["source"] for row in rows}
        kept = [{**row, "fds": " ".join(f"{v:.4f}" for v in row["fds"])} for row in fd_noise(folder)
                if row["source"] not in measured] if sources is not None else []  # as read, written back as they were
        atomic_write(Path(folder) / FD_NOISE_FILE, lambda f: f.write(_csv(kept + rows)), binary=False)
    return rows


def frechet_from_features(metric: Any, features: Any) -> float:
    """fd of generated ``features`` (N, F), float64, against the real statistics a torchmetrics
    FrechetInceptionDistance holds, by the formula its compute() uses."""
    from torchmetrics.image.fid import _compute_fid

    n_real = metric.real_features_num_samples
    mean_real = (metric.real_features_sum / n_real).unsqueeze(0)
    cov_real = (metric.real_features_cov_sum - n_real * mean_real.t().mm(mean_real)) / (n_real - 1)
    n = features.shape[0]
    mean_fake = features.mean(0, keepdim=True)
    cov_fake = (features.t().mm(features) - n * mean_fake.t().mm(mean_fake)) / (n - 1)
    return float(_compute_fid(mean_real.squeeze(0), cov_real, mean_fake.squeeze(0), cov_fake))


def _cpu_family() -> str:
    """'CPU family 25, model 1' from /proc/cpuinfo (which generation of a CPU model name), or ''."""
    from gencore.engine.runtime import cpu_family_model

    found = cpu_family_model()
    if found is None:
        return ""
    return f"CPU family {found.get('cpu family', '?')}, model {found.get('model', '?')}"


def _row(source: str, dataset: str, n: int, seeds: tuple[int, ...], fds: list[float], device: str) -> dict[str, Any]:
    return {"source": source, "dataset": dataset, "n": n, "seeds": " ".join(map(str, seeds)), "draws": len(fds),
            "fd_mean": round(statistics.fmean(fds), 4), "fd_sd": round(statistics.stdev(fds), 4),
            "fd_min": round(min(fds), 4), "fd_max": round(max(fds), 4), "fds": " ".join(f"{v:.4f}" for v in fds),
            "device": device}


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def fd_noise(folder: Path = STUDY) -> list[dict[str, Any]]:
    """The shipped fd_noise.csv as dicts (numbers as numbers; ``fds`` a list), [] when there is none."""
    path = Path(folder) / FD_NOISE_FILE
    if not path.exists():
        return []
    rows = []
    for raw in csv.DictReader(path.open()):
        row: dict[str, Any] = dict(raw)
        row["n"], row["draws"] = int(raw["n"]), int(raw["draws"])
        for key in ("fd_mean", "fd_sd", "fd_min", "fd_max"):
            row[key] = float(raw[key])
        row["fds"] = [float(v) for v in raw["fds"].split()]
        rows.append(row)
    return rows


def noise_row(model: str, dataset: str, n: int, folder: Path = STUDY) -> dict[str, Any] | None:
    """The sampling-noise row of a pair's shipped reference (model 'real': the floor) at ``n`` samples."""
    source = REAL if model == REAL else f"ref:{model}-{dataset}"
    return next((r for r in fd_noise(folder) if r["source"] == source and r["dataset"] == dataset and r["n"] == n), None)


def sampling_sd(model: str, dataset: str, n: int, folder: Path = STUDY) -> float | None:
    """fd's standard deviation from sampling alone at ``n`` samples, measured on the pair's shipped
    reference: the least spread any cell of the pair can have (None when not measured)."""
    row = noise_row(model, dataset, n, folder)
    return row["fd_sd"] if row else None


def noise_markdown(folder: Path = STUDY) -> str:
    """fd_noise.csv as the Markdown table docs/study.md shows (a test keeps the two the same)."""
    lines = ["| source | dataset | samples | draws | fd, mean ± sd | range |", "|---|---|---|---|---|---|"]
    for row in fd_noise(folder):
        source = "real images (the floor)" if row["source"] == REAL else f"`{row['source']}`"
        lines.append(f"| {source} | {row['dataset']} | {row['n']:,} | {row['draws']} | {row['fd_mean']:.3f} ± "
                     f"{row['fd_sd']:.3f} | {row['fd_min']:.3f} to {row['fd_max']:.3f} |")
    return "\n".join(lines) + "\n"


__all__ = ["noise_markdown", "measure_fd_noise", "frechet_from_features", "fd_noise", "noise_row", "sampling_sd", "FD_NOISE_FILE", "LARGE",
           "SMALL", "REAL"]
