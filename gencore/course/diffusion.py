"""Notebook 09's views of a diffusion model: the forward process on real images, one sample's path
from noise to image through a reverse step (the learner's or gencore's), and sample quality
against the number of sampling steps, the seconds they take and the guidance scale, measured with
the rulers of 01-08. The shipped sweeps (``SWEEPS``) are measured by ``write_sweeps``."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from gencore.engine import diffusion
from gencore.engine.families.diffusion import noise_schedule, predict_noise
from gencore.engine.grids import show_grid
from gencore.engine.paths import REPO
from gencore.engine.sampling import sample_images

FORWARD_TIMESTEPS = (0, 50, 100, 200, 300, 500, 700, 999)  # where x_t changes most: early steps keep the digit
PATH_COLUMNS = 8  # the reverse path's snapshots: enough to see the digit appear, few enough to read
SWEEPS = REPO / "notebooks" / "reference" / "diffusion" / "sweeps.csv"  # the shipped steps and guidance sweeps
SWEEP_STEPS = (5, 10, 25, 50)  # sampling steps to measure: from too few to the family's default
SWEEP_GUIDANCE = (0.0, 0.3, 1.0, 3.0)  # guidance scales w: none, Ho & Salimans' best FID, and much more
SWEEP_FIELDS = ("sweep", "sampling_steps", "guidance", "n", "fd", "recognised", "class_accuracy", "seconds_per_1000")

Step = Callable[..., torch.Tensor]  # (eps, t, t_prev, x_t, schedule) -> x_prev, as gencore.engine.diffusion.ddim_step


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] for display, clipped (x_t leaves the data's range as noise is added)."""
    return x.add(1.0).div(2.0).clamp(0.0, 1.0)


def forward_images(images: torch.Tensor, timesteps: Sequence[int] = FORWARD_TIMESTEPS, steps: int = 1000,
                   seed: int = 0) -> torch.Tensor:
    """(n * len(timesteps), C, H, W) in [0, 1]: each image (n, C, H, W) in [0, 1] noised to every
    timestep in closed form, q(x_t | x_0), with one noise draw per image kept across the row."""
    schedule = diffusion.linear_schedule(steps)
    x0 = images.float() * 2.0 - 1.0  # (n, C, H, W) in [-1, 1], the range the process is scaled for
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))  # (n, C, H, W): one eps per image
    rows = []
    for image, eps in zip(x0, noise):
        t = torch.tensor(list(timesteps), dtype=torch.long)  # (len(timesteps),)
        rows.append(diffusion.q_sample(image.expand(len(t), *image.shape), t, eps.expand(len(t), *eps.shape), schedule))
    return _to_unit(torch.cat(rows))


def forward_figure(images: torch.Tensor, timesteps: Sequence[int] = FORWARD_TIMESTEPS, steps: int = 1000) -> Figure:
    """The forward process: real images (n, C, H, W) in [0, 1] at growing t (left), beside the
    signal and noise scales sqrt(abar_t) and sqrt(1 - abar_t) of Ho et al.'s linear schedule (right)."""
    schedule = diffusion.linear_schedule(steps)
    figure = Figure(figsize=(12, 0.9 * len(images) + 1.4), layout="constrained")
    grid_ax, curve_ax = figure.subplots(1, 2, width_ratios=(len(timesteps), 4))
    show_grid(grid_ax, forward_images(images, timesteps, steps), "x_t ~ q(x_t | x_0), one eps per row\ncolumns: t = "
              + ", ".join(str(t) for t in timesteps), len(timesteps))
    t = torch.arange(steps)
    abar = schedule.alphas_cumprod
    curve_ax.plot(t, abar.sqrt(), label=r"$\sqrt{\bar\alpha_t}$ (signal)")
    curve_ax.plot(t, (1 - abar).sqrt(), label=r"$\sqrt{1-\bar\alpha_t}$ (noise)")
    curve_ax.set_xlabel("timestep t")
    curve_ax.set_title(f"linear betas {diffusion.BETA_START:g} to {diffusion.BETA_END:g}, T = {steps}")
    curve_ax.legend(loc="center right")
    curve_ax.grid(alpha=0.3)
    return figure


def reverse_path(run: Any, step: Step | None = None, n: int = 4, classes: torch.Tensor | None = None, seed: int = 0,
                 columns: int = PATH_COLUMNS) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """The reverse process of ``run`` (its sampling steps and guidance) for n images, through ``step``
    (default gencore's ddim_step): x_t and the clean image x0_hat it implies, each (columns, n, C, H, W)
    in [0, 1], at ``columns`` evenly spaced steps (the last is the sample), with their timesteps."""
    config, unet = run.config, run.models["unet"]
    step = diffusion.ddim_step if step is None else step
    schedule = noise_schedule(config.diffusion_steps, torch.device("cpu"))
    classes = torch.arange(n) % 10 if classes is None else classes  # (n,): 0, 1, 2, ... in reading order
    x = torch.randn((n, *getattr(unet, "image_shape")), generator=torch.Generator().manual_seed(seed))  # (n, C, H, W): x_T
    timesteps = diffusion.sampling_timesteps(schedule.steps, config.sampling_steps).tolist()
    keep = {round(i * (len(timesteps) - 1) / (columns - 1)) for i in range(columns)}
    states, estimates, kept = [], [], []
    with torch.no_grad():
        for i, t in enumerate(timesteps):
            t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            eps = predict_noise(unet, x, t, classes, config.guidance)  # (n, C, H, W)
            if i in keep:
                states.append(_to_unit(x))
                estimates.append(_to_unit(diffusion.predict_x0(eps, t, x, schedule).clamp(-1, 1)))
                kept.append(t)
            x = step(eps, t, t_prev, x, schedule)
    states[-1], kept[-1] = _to_unit(x), -1  # the last column: the sample itself, after the last step
    estimates[-1] = states[-1]
    return torch.stack(states), torch.stack(estimates), kept


def path_figure(run: Any, title: str, step: Step | None = None, n: int = 4, seed: int = 0) -> Figure:
    """One figure per sample's path from noise to image: for each of n samples, a row of x_t and
    under it a row of the x0_hat each step implies, left (t = T-ish) to right (the sample)."""
    states, estimates, kept = reverse_path(run, step, n, seed=seed)
    rows = torch.stack([states, estimates], dim=2)  # (columns, n, 2, C, H, W)
    images = rows.permute(1, 2, 0, 3, 4, 5).reshape(-1, *states.shape[2:])  # (n * 2 * columns, C, H, W), row by row
    figure = Figure(figsize=(1.0 * len(kept) + 1.6, 2.0 * n + 0.9), layout="constrained")
    ax = figure.add_subplot()
    show_grid(ax, images, f"{title}\ncolumns: t = " + ", ".join("x_0" if t < 0 else str(t) for t in kept), len(kept))
    ax.axis("on")
    ax.set_xticks([])
    size = states.shape[-2] + 2  # one image and the grid's 2-pixel padding
    ax.set_yticks([2 + size * (k + 0.5) for k in range(2 * n)], ["x_t", "x0_hat"] * n)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    return figure


def measure_sampler(run: Any, n: int, data_root: str | None = None, seed: int = 0, sampling_steps: int | None = None,
                    guidance: float | None = None, meter: Any = None) -> dict[str, Any]:
    """fd, recognised share and class accuracy of n samples of ``run`` at the given sampling steps and
    guidance (default the run's own), asked for the test split's classes, and the seconds per 1,000
    images its sampling took here (one process, the sampling alone, not the measuring)."""
    from gencore.quality.metrics import asked_classes, quality_meter

    meter = meter or quality_meter(run.config.dataset, data_root)
    config = run.config.replace(sampling_steps=sampling_steps or run.config.sampling_steps,
                                guidance=run.config.guidance if guidance is None else guidance)
    asked = asked_classes(meter, n, seed)
    start = time.perf_counter()
    images = sample_images(run.models, config, n, seed, torch.device("cpu"), classes=asked)
    seconds = time.perf_counter() - start
    quality = meter.measure(images, asked)
    return {"sampling_steps": config.sampling_steps, "guidance": config.guidance, "n": n, "fd": quality["fd"],
            "recognised": quality["recognised"], "class_accuracy": quality["class_accuracy"],
            "seconds_per_1000": seconds * 1000 / n}


def sweep(run: Any, n: int, data_root: str | None = None, seed: int = 0, steps: Sequence[int] = SWEEP_STEPS,
          guidance: Sequence[float] = SWEEP_GUIDANCE) -> list[dict[str, Any]]:
    """Both sweeps on n samples each: every step count at the run's guidance, then every guidance
    scale at the run's step count; one row each, as ``SWEEPS`` holds them."""
    from gencore.quality.metrics import quality_meter

    meter = quality_meter(run.config.dataset, data_root)
    rows = [{"sweep": "steps", **measure_sampler(run, n, data_root, seed, sampling_steps=s, meter=meter)} for s in steps]
    rows += [{"sweep": "guidance", **measure_sampler(run, n, data_root, seed, guidance=w, meter=meter)} for w in guidance]
    return rows


def write_sweeps(rows: list[dict[str, Any]], path: Path = SWEEPS) -> Path:
    """Maintainers: the sweep's rows as the shipped CSV (rounded as the notebook quotes them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, SWEEP_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "fd": f"{row['fd']:.2f}", "recognised": f"{row['recognised']:.3f}",
                             "class_accuracy": f"{row['class_accuracy']:.3f}",
                             "seconds_per_1000": f"{row['seconds_per_1000']:.1f}"})
    return path


def read_sweeps(path: Path = SWEEPS) -> list[dict[str, Any]]:
    """The shipped sweeps' rows, numbers as numbers."""
    with path.open() as handle:
        return [{"sweep": row["sweep"], "sampling_steps": int(row["sampling_steps"]), "guidance": float(row["guidance"]),
                 "n": int(row["n"]), "fd": float(row["fd"]), "recognised": float(row["recognised"]),
                 "class_accuracy": float(row["class_accuracy"]), "seconds_per_1000": float(row["seconds_per_1000"])}
                for row in csv.DictReader(handle)]


def sweep_figure(rows: list[dict[str, Any]], title: str) -> Figure:
    """fd (left axis) and class accuracy (right axis) against the sampling steps, with the seconds
    per 1,000 images on the steps' axis, and against the guidance scale."""
    figure = Figure(figsize=(11, 3.8), layout="constrained")
    for ax, (kind, key, label) in zip(figure.subplots(1, 2), (("steps", "sampling_steps", "sampling steps"),
                                                               ("guidance", "guidance", "guidance scale w"))):
        chosen = [row for row in rows if row["sweep"] == kind]
        x = [row[key] for row in chosen]
        ax.plot(x, [row["fd"] for row in chosen], "o-", color="tab:blue")
        ax.set_ylabel("fd (lower is closer to the data)", color="tab:blue")
        accuracy = ax.twinx()
        accuracy.plot(x, [row["class_accuracy"] for row in chosen], "s--", color="tab:red")
        accuracy.set_ylabel("class accuracy", color="tab:red")
        if kind == "steps":
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())  # only the measured step counts are labelled
            ax.set_xticks(x, [f"{row[key]}\n{row['seconds_per_1000']:.0f} s" for row in chosen])
            ax.set_xlabel("sampling steps (and seconds per 1,000 images)")
        else:
            ax.set_xticks(x, [f"{value:g}" for value in x])
            ax.set_xlabel(label)
        ax.set_title(f"{title}: {label}, {chosen[0]['n'] if chosen else 0} samples each")
        ax.grid(alpha=0.3)
    return figure


def sweep_table(rows: list[dict[str, Any]]) -> str:
    """The sweeps as a text table: what the figure shows, number by number."""
    lines = [f"{'sweep':9} {'steps':>5} {'w':>4} {'n':>6} {'fd':>7} {'recognised':>10} {'class acc':>9} {'s/1000':>7}"]
    for row in rows:
        lines.append(f"{row['sweep']:9} {row['sampling_steps']:5d} {row['guidance']:4g} {row['n']:6d} {row['fd']:7.2f} "
                     f"{row['recognised']:10.3f} {row['class_accuracy']:9.3f} {row['seconds_per_1000']:7.1f}")
    return "\n".join(lines)


def cost_rows(dataset: str, models: Sequence[str], n: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """The shipped references of ``models`` on ``dataset`` side by side on cost: their training minutes and fd (10,000
    samples, as the manifest records them) and the seconds per 1,000 images each takes to sample here,
    timed in this process one after another, after a warm-up draw (the first pass pays one-off costs)."""
    from gencore.quality.reference import load_reference

    rows = []
    for model in models:
        reference = load_reference(f"{model}-{dataset}")
        sample_images(reference.models, reference.config, 8, seed, torch.device("cpu"))  # warm-up
        start = time.perf_counter()
        sample_images(reference.models, reference.config, n, seed, torch.device("cpu"))
        seconds = time.perf_counter() - start
        entry = reference.entry
        rows.append({"model": model, "train_minutes": entry["train_seconds"] / 60, "epochs": entry["epochs_done"],
                     "fd": entry["fd"], "recognised": entry["recognised"],
                     "passes": getattr(reference.config, "sampling_steps", 1), "seconds_per_1000": seconds * 1000 / n})
    return rows


def cost_table(rows: list[dict[str, Any]]) -> str:
    """The cost rows as a text table."""
    lines = [f"{'model':8} {'train min':>9} {'epochs':>6} {'fd':>6} {'recognised':>10} {'passes':>6} {'s/1000 here':>11}"]
    for row in rows:
        lines.append(f"{row['model']:8} {row['train_minutes']:9.1f} {row['epochs']:6d} {row['fd']:6.2f} "
                     f"{row['recognised']:10.3f} {row['passes']:6d} {row['seconds_per_1000']:11.3f}")
    return "\n".join(lines)
