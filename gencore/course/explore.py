"""What the notebooks show after training: latent interpolation, layer shapes, and the
seed study's comparisons assembled from the runs that already exist."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch
from torch import nn

from gencore.engine.config import TrainConfig
from gencore.engine.datasets import get_dataset
from gencore.engine.errors import GencoreError
from gencore.engine.files import read_json
from gencore.engine.sampling import generate
from gencore.runs.history import last_history_row
from gencore.runs.start import run_name
from gencore.studies.study import SEED_EPOCHS

# The seed study's grid (DESIGN.md): latent sizes per dataset, and the two training lengths.


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Points on the arc from z0 to z1 (spherical interpolation). When the two ends have the same
    norm every point keeps it, and two Gaussian draws in high dimensions nearly do, so the path
    stays where the generator was trained; a straight line's midpoint has about 1/sqrt(2) of their
    norm (White 2016, "Sampling Generative Networks")."""
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    cos = torch.nn.functional.cosine_similarity(z0, z1, dim=0).clamp(-1 + 1e-7, 1 - 1e-7)
    omega = torch.arccos(cos)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def interpolation_images(models: dict[str, nn.Module], config: TrainConfig, pairs: int = 4, steps: int = 10,
                         seed: int = 0, device: str | torch.device = "cpu") -> torch.Tensor:
    """``pairs`` rows of ``steps`` images each, decoded along slerp paths between prior draws."""
    generator = torch.Generator().manual_seed(seed)
    if config.latent_dim is None:
        raise GencoreError(f"the {config.model} has no latent vector to interpolate in.")
    ends = torch.randn(pairs, 2, config.latent_dim, generator=generator)
    z = torch.cat([slerp(a, b, steps) for a, b in ends])
    with torch.no_grad():
        return generate(models, config, z.to(device)).cpu()


def seed_study_runs(config: TrainConfig, runs_dir: str | Path = "runs") -> list[dict]:
    """The seed study's grid for this model and dataset (its latent sizes x 20 and 100 epochs,
    full data, the seed's learning rate and batch size), each with its run folder if it exists
    and the command that would make it."""
    rows = []
    for latent in get_dataset(config.dataset).seed_latents:
        for epochs in SEED_EPOCHS:
            # The seed's optimiser settings (None: the family's), whatever the notebook trains with.
            wanted = TrainConfig.from_dict({**config.to_dict(), "latent_dim": latent, "epochs": epochs, "subset": None,
                                            "time_budget": None, "lr": None, "batch_size": None, "betas": None})
            folder = Path(runs_dir) / run_name(wanted)
            info = read_json(folder / "run.json")
            rows.append({
                "latent_dim": latent, "epochs": epochs, "folder": folder,
                "exists": info.get("status") == "finished",
                "seconds": info.get("seconds"),
                "last": last_history_row(folder),
                "command": (f"python -m gencore train --model {wanted.model} --dataset {wanted.dataset} "
                            f"--latent-dim {latent} --epochs {epochs} --batch-size {wanted.batch_size} --lr {wanted.lr:g} "
                            f"--width {wanted.width} --seed {wanted.seed} --out {folder}"),
            })
    return rows


def quality_points(history: list[dict], epoch_seconds: list[float]) -> list[tuple[float, float, int]]:
    """(training seconds, fd, classes_covered) for each epoch whose history row was measured."""
    points = []
    for row, seconds in zip(history, epoch_seconds):
        fd = row.get("fd")
        if fd not in (None, "") and not (isinstance(fd, float) and math.isnan(fd)):
            points.append((float(seconds), float(fd), int(float(row["classes_covered"]))))
    return points


def run_quality_points(folder: str | Path) -> list[tuple[float, float, int]]:
    """quality_points of a run folder, read from history.csv and run.json (no checkpoint load)."""
    folder = Path(folder)
    try:
        history = list(csv.DictReader((folder / "history.csv").open()))
    except OSError:
        return []
    return quality_points(history, read_json(folder / "run.json").get("epoch_seconds", []))


def shape_table(models: dict[str, nn.Module], image_shape: tuple[int, int, int], latent_dim: int | None) -> str:
    """Every layer of every network with the shape it outputs for a batch of 2 and its parameter
    count: the sizes the code's shape comments promise, measured by running the network."""
    lines = []
    for role, model in models.items():
        inputs = _example_inputs(model, image_shape, latent_dim)
        x = inputs[0]
        rows: list[tuple[str, str, str, int]] = []
        leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
        hooks = [m.register_forward_hook(lambda module, args, out, name=name: rows.append(
            (name, type(module).__name__, str(tuple(out.shape)), sum(p.numel() for p in module.parameters()))))
            for name, m in leaves]
        was_training = model.training
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):  # the VAE draws z: leave the caller's RNG alone
            model(*inputs)
        model.train(was_training)
        for hook in hooks:
            hook.remove()
        total = sum(p.numel() for p in model.parameters())
        lines.append(f"{role}: {type(model).__name__}, {total:,} parameters; input {tuple(x.shape)}")
        lines += [f"  {name:<14} {kind:<16} -> {shape:<18} {params:>10,}" for name, kind, shape, params in rows]
    return "\n".join(lines)


def _example_inputs(model: nn.Module, image_shape: tuple[int, int, int], latent_dim: int | None) -> tuple[torch.Tensor, ...]:
    """A batch of 2 of what the network reads: z for a generator, images (with as many channels as its first
    convolution takes: the conditional discriminator's C + K), and the class (and time step) where it reads them."""
    from gencore.engine.models.conditional import ConditionalGenerator, ConditionalVAE
    from gencore.engine.models.gan import Generator
    from gencore.engine.models.unet import UNet

    labels = torch.zeros(2, dtype=torch.long)
    if isinstance(model, ConditionalGenerator):
        return torch.zeros(2, model.latent_dim), labels
    if isinstance(model, Generator):
        return (torch.zeros(2, latent_dim or 0),)
    if isinstance(model, ConditionalVAE):
        return torch.zeros(2, *image_shape), labels
    if isinstance(model, UNet):
        return torch.zeros(2, *image_shape), labels, labels  # x_t, the time step t, the class
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    channels = first.in_channels if first is not None else image_shape[0]
    return (torch.zeros(2, channels, *image_shape[1:]),)

