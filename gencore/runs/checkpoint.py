"""Atomic saves, weights-only loads, and the check that a checkpoint fits a configuration."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from gencore.engine.config import TrainConfig
from gencore.engine.data import image_shape
from gencore.engine.errors import CheckpointError, GencoreError
from gencore.engine.files import atomic_write, torch_bytes
from gencore.engine.models import build_models

CHECKPOINT_NAME = "checkpoint.pt"
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Save a checkpoint dict (tensors, numbers, strings, lists, dicts) atomically. It is
    serialised in memory first, so a failing disk reports itself as the OSError it is."""
    atomic_write(path, lambda f: f.write(torch_bytes({"format": FORMAT_VERSION, **state})))


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load with ``weights_only=True``: tensors and plain containers only, so a crafted file
    cannot run code. Anything else is refused with a clear message."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: train first, or point at a run directory that holds {CHECKPOINT_NAME}.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"refusing to load {path}: it holds objects other than tensors and plain data "
            f"({str(error).splitlines()[0][:160]}); only load checkpoints you trust, made by gencore."
        ) from None
    except Exception as error:  # truncated zip, wrong file type, ...
        raise CheckpointError(f"cannot read {path} ({type(error).__name__}): the file is damaged or not a checkpoint.") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION or "config" not in state:
        raise CheckpointError(f"{path} is not a gencore checkpoint (format {FORMAT_VERSION}).")
    return state


def checkpoint_config(state: dict[str, Any]) -> TrainConfig:
    try:
        return TrainConfig.from_dict(state["config"])
    except GencoreError as error:
        raise CheckpointError(f"the checkpoint's configuration is invalid: {error}") from None


def check_compatible(saved: TrainConfig, wanted: TrainConfig, strict_training: bool = True) -> None:
    """Refuse a checkpoint whose networks (or, when resuming, whose training settings)
    differ from the configuration asked for, naming each differing field."""
    wanted.check_fits(saved, resuming=strict_training)


def load_run(run_dir: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[TrainConfig, dict[str, torch.nn.Module], list[dict]]:
    """The configuration, networks (in inference mode) and history saved in a run directory
    (or in a checkpoint file, such as a study's kept epoch)."""
    state = load_checkpoint(Path(run_dir), map_location=device)
    config = checkpoint_config(state)
    models = build_models(config, image_shape(config.dataset))
    try:
        for name, model in models.items():
            model.load_state_dict(state["models"][name])
            model.to(device).eval()
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f"the weights in {run_dir} do not match their configuration: {str(error).splitlines()[0]}") from None
    return config, models, list(state.get("history", []))
