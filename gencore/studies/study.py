"""The seed study, reproduced and kept small enough to ship.

Every model on both datasets at the seed's latent sizes (MNIST 2 and 64, CIFAR-10 64 and 512),
the seed's learning rates and batch sizes, one 100-epoch run per latent size whose state at
epoch 20 is kept as the 20-epoch result. Each row of the table is measured with the shipped
classifier (10,000 samples). The output folder holds the study's table (results.py: results.csv,
results.md, grid-<model>-<dataset>.png, the same as a sweep's) and, per training run,
<model>-<dataset>-z<latent>/ with history.csv, losses.png (epoch 20 marked), a row-eNNN.json and
samples-eNNN.png thumbnail per kept epoch (the same latent points).

Training runs are train-or-load in ``runs_dir``, so an interrupted study resumes where it
stopped, and a finished row (its ``row-eNNN.json``) is never measured twice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from gencore.engine.config import TrainConfig
from gencore.engine.errors import GencoreError
from gencore.engine.datasets import get_dataset
from gencore.engine.families import get_family
from gencore.engine.files import atomic_write, write_json
from gencore.runs import checkpoint as ckpt
from gencore.studies.results import collect, floor_row, save_thumbnail, write_grids, write_table

# The seed study's grid: its two training lengths (its latent sizes per dataset are in each dataset's record).
SEED_EPOCHS = (20, 100)


def snapshot_name(epoch: int) -> str:
    return f"epoch-{epoch:03d}.pt"


class KeepEpochs:
    """A callback that saves the networks and the history at the end of the given epochs, beside
    the run's checkpoint, so one long run also gives the shorter runs' results."""

    def __init__(self, epochs: Iterable[int]) -> None:
        self.epochs = set(epochs)

    def __call__(self, trainer: Any) -> None:
        if trainer.run_dir is None or trainer.epoch not in self.epochs:
            return
        ckpt.save_checkpoint(trainer.run_dir / snapshot_name(trainer.epoch), {
            "config": trainer.config.to_dict(),
            "models": {name: model.state_dict() for name, model in trainer.models.items()},
            "epoch": trainer.epoch, "history": trainer.history, "seconds": trainer.epoch_seconds[-1],
        })


def study_configs(models: Iterable[str], datasets: Iterable[str], gan_width: int, epochs: int,
                  data_root: str | None, device: str = "auto", gan_precision: str = "fp32",
                  seeds: Iterable[int] = (0,)) -> list[TrainConfig]:
    """One configuration per (model, dataset, seed latent size, random seed): the seed's optimiser
    settings, the VAE at its seed width and in fp32, the GANs at ``gan_width`` (64 is the seed's)
    and ``gan_precision`` (fp32 is the seed's). Several random seeds give the spread of each cell."""
    configs = []
    for model in models:
        if not get_family(model).has_latent:
            raise GencoreError(f"the seed study varies the latent size, and the {model} has no latent vector: "
                               "train it with python -m gencore train.")
        for dataset in datasets:
            for latent in get_dataset(dataset).seed_latents:
                for seed in seeds:
                    family = get_family(model)
                    configs.append(TrainConfig(model=model, dataset=dataset, latent_dim=latent, epochs=epochs,
                                               width=family.study_width or gan_width, data_root=data_root, device=device,
                                               precision=gan_precision if gan_precision in family.precisions else "fp32",
                                               seed=seed))
    return configs


def study_run_name(config: TrainConfig) -> str:
    """The run's folder in the study: model, dataset and latent size, and the random seed unless it is 0."""
    return f"{config.model}-{config.dataset}-z{config.latent_dim}" + (f"-s{config.seed}" if config.seed else "")


def run_study(out: str | Path, runs_dir: str | Path, configs: list[TrainConfig], keep: tuple[int, ...] = SEED_EPOCHS,
              n_eval: int = 10_000, progress: bool = True, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Train (or load) every configuration, measure each kept epoch, and rewrite the table and
    figures after every run, so the folder is complete for what has finished at any moment."""
    from gencore.runs.start import train_or_load

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for index, config in enumerate(configs, 1):
        if max(keep) != config.epochs:
            raise GencoreError(f"the longest kept epoch ({max(keep)}) must be the run's epochs ({config.epochs}).")
        log(f"[{index}/{len(configs)}] {study_run_name(config)}: width {config.width}, lr {config.lr:g}, batch {config.batch_size}")
        trainer = train_or_load(config, runs_dir, progress=progress,
                                callbacks={"on_epoch_end": [KeepEpochs(e for e in keep if e < config.epochs)]})
        if not trainer.finished:  # stopped (Ctrl-C, SIGTERM): what is done is kept, and a rerun resumes
            log(f"stopped in epoch {trainer.epoch + 1} of {study_run_name(config)}; run the same command again to resume.")
            break
        folder = out / study_run_name(config)
        folder.mkdir(exist_ok=True)
        for epochs in keep:
            _measure_row(trainer, epochs, folder, n_eval, log)
        _write_run_figures(trainer, folder, keep)
        rewrite_tables(out)
    return collect(out)


def rewrite_tables(out: str | Path) -> list[dict[str, Any]]:
    """The study's table, cells and grids from its row files, with each dataset's real-data floor
    (measured with the shipped classifier) first. Returns the rows."""
    from gencore.quality.reference import shipped_floor

    rows = collect(out)
    floors = [floor_row(dataset, floor) for dataset in dict.fromkeys(r["dataset"] for r in rows)
              if (floor := shipped_floor(dataset)) is not None]
    write_table(out, rows, floors)
    write_grids(out, rows)
    return rows


def _state_at(trainer: Any, epochs: int) -> tuple[dict[str, torch.nn.Module], float]:
    """The networks and training seconds at the end of ``epochs``: the trainer's own when it is
    the last epoch, else the kept snapshot."""
    if epochs == trainer.epoch:
        return trainer.models, trainer.seconds
    config, models, _ = ckpt.load_run(trainer.run_dir / snapshot_name(epochs))
    return models, float(ckpt.load_checkpoint(trainer.run_dir / snapshot_name(epochs))["seconds"])


def _measure_row(trainer: Any, epochs: int, folder: Path, n_eval: int, log: Callable[[str], None]) -> None:
    from gencore.quality.metrics import evaluate_models

    path = folder / f"row-e{epochs:03d}.json"
    if path.exists():
        return
    config = trainer.config
    models, seconds = _state_at(trainer, epochs)
    start = time.monotonic()
    quality = evaluate_models(config, models, n=n_eval, seed=0, inception=False)
    save_thumbnail(models, config, folder / f"samples-e{epochs:03d}.png")
    ran = json.loads((trainer.run_dir / "run.json").read_text())  # the device and precision it actually ran at
    row = {
        "model": config.model, "dataset": config.dataset, "latent_dim": config.latent_dim, "epochs": epochs,
        "width": config.width, "lr": config.lr, "batch_size": config.batch_size,
        "device": ran.get("device"),
        "train_seconds": round(seconds, 1), "fd": round(quality["fd"], 3),
        "classes_covered": quality["classes_covered"], "confidence": round(quality["confidence"], 4),
        "recognised": round(quality["recognised"], 4), "class_shares": quality["class_shares"],
        "neg_elbo_nats": round(quality["neg_elbo_nats"], 2) if "neg_elbo_nats" in quality else None,
        "bits_per_dim": round(quality["bits_per_dim"], 4) if "bits_per_dim" in quality else None,
        "decoder_sigma": round(quality["decoder_sigma"], 4) if "decoder_sigma" in quality else None,
        "n": quality["n"], "run": folder.name, "precision": ran.get("precision", config.precision),
        "seed": config.seed, "subset": config.subset, "threads": ran.get("threads"), "status": "finished",
        "name": f"{folder.name}-e{epochs}", "thumbnail": f"{folder.name}/samples-e{epochs:03d}.png",
    }
    write_json(path, row)
    log(f"  {epochs} epochs: fd {row['fd']:.2f}, {row['classes_covered']} classes, confidence {row['confidence']:.2f} "
        f"({time.monotonic() - start:.0f} s to measure)")


def _write_run_figures(trainer: Any, folder: Path, keep: tuple[int, ...]) -> None:
    from gencore.runs.history import write_history_csv
    from gencore.runs.plots import plot_losses

    config = trainer.config
    write_history_csv(folder / "history.csv", trainer.history)
    title = (f"{config.model.upper()} on {config.dataset}, latent {config.latent_dim}, width {config.width}"
             + ("" if config.precision == "fp32" else f", {config.precision}"))
    figure = plot_losses(trainer.history, config.model, title, trainer.trace)
    for ax in figure.axes:
        for epochs in keep[:-1]:
            ax.axvline(epochs, color="grey", linewidth=0.8, linestyle="--")
    figure.savefig(folder / "losses.png", dpi=60)
    if trainer.family.latent_usage is not None:  # how many latent dimensions the model uses (notebook 02's lesson)
        from gencore.engine.data import load_dataset

        test = load_dataset(config.dataset, "test", config.data_root, subset=2000, seed=0).images
        kl = trainer.family.latent_usage({k: m.cpu() for k, m in trainer.models.items()}, test).tolist()
        atomic_write(folder / "kl_per_dimension.csv", lambda f: f.write("kl_nats\n" + "\n".join(f"{v:.6g}" for v in kl) + "\n"),
                          binary=False)


def ship_reference(name: str, run_dir: str | Path, data_root: str | None = None, n_eval: int = 10_000) -> dict[str, Any]:
    """Maintainers: ship a finished run's sampling networks as the reference model ``name`` (fp16,
    with its history and thinned trace), then measure the shipped file itself, as a learner will
    load it, with the shipped classifier."""
    from gencore.quality.metrics import evaluate_models
    from gencore.quality.reference import load_reference, record_quality, ship_model

    run_dir = Path(run_dir)
    state = ckpt.load_checkpoint(run_dir)
    config, models, history = ckpt.load_run(run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    if info.get("status") not in ("finished", "time budget"):
        raise GencoreError(f"the run in {run_dir} is {info.get('status')}, not finished: finish it before shipping it.")
    record = {
        "epochs_done": len(history), "train_seconds": round(float(state.get("seconds", 0.0)), 1),
        "device": info.get("device"), "trained_by": f"python -m gencore train {_train_flags(config)}",
    }
    ship_model(name, config, models, history, list(state.get("trace", [])), record)
    shipped = load_reference(name)
    quality = evaluate_models(shipped.config, shipped.models, n=n_eval, data_root=data_root or config.data_root,
                              seed=0, inception=False)
    return record_quality(name, {
        "fd": round(quality["fd"], 3), "classes_covered": quality["classes_covered"],
        "confidence": round(quality["confidence"], 4), "recognised": round(quality["recognised"], 4), "n": quality["n"],
        **({"neg_elbo_nats": round(quality["neg_elbo_nats"], 2), "bits_per_dim": round(quality["bits_per_dim"], 4)}
           if "neg_elbo_nats" in quality else {}),
        **({"class_accuracy": round(quality["class_accuracy"], 4), "confusion": quality["confusion"]}
           if "class_accuracy" in quality else {}),  # a conditional model: how often it draws the class asked for
    })


def _train_flags(config: TrainConfig) -> str:
    latent = f" --latent-dim {config.latent_dim}" if config.latent_dim is not None else ""
    flags = (f"--model {config.model} --dataset {config.dataset}{latent} --epochs {config.epochs} "
             f"--batch-size {config.batch_size} --lr {config.lr:g} --width {config.width} --seed {config.seed}")
    for item in config.family.settings:  # the family's own, derived from its record (the WGAN-GP's n_critic, ...)
        flags += f" {item.flag} {item.text(getattr(config, item.name))}"
    if config.precision != "fp32":
        flags += f" --precision {config.precision}"
    return flags + (f" --time-budget {config.time_budget:g}" if config.time_budget else "")
