"""Atomic saves, weights-only loads, and the check that a checkpoint fits a configuration."""

from __future__ import annotations

import io
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from .config import ARCHITECTURE_FIELDS, TRAINING_FIELDS, TrainConfig
from .data import IMAGE_SHAPES
from .errors import CheckpointError, GencoreError, WriteError
from .models import build_models

CHECKPOINT_NAME = "checkpoint.pt"
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1


def atomic_write(path: Path, write: Callable[[Any], None], binary: bool = True) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over
    ``path``: a reader (or a crash) sees the old file or the new one, never half of one.
    Any OSError (a full disk, no permission) becomes one WriteError naming the file, and no
    temporary file is left behind."""
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise WriteError(path, error) from None
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a plain open() would follow the umask
        with os.fdopen(handle, "wb" if binary else "w") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise WriteError(path, error) from None
        raise


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda f: json.dump(data, f, indent=2, sort_keys=True), binary=False)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Save a checkpoint dict (tensors, numbers, strings, lists, dicts) atomically. It is
    serialised in memory first, so a failing disk reports itself as the OSError it is."""
    atomic_write(path, lambda f: f.write(torch_bytes({"format": FORMAT_VERSION, **state})))


def torch_bytes(obj: Any) -> bytes:
    """What torch.save would write, as bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


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
    fields = ARCHITECTURE_FIELDS + (TRAINING_FIELDS if strict_training else ())
    differences = wanted.differences(saved, fields)
    if differences:
        raise CheckpointError(
            "the checkpoint was made with another configuration (" + "; ".join(
                d.replace(" vs ", " wanted, checkpoint has ") for d in differences
            ) + "): use a new --out directory, or the checkpoint's settings."
        )


def load_run(run_dir: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[TrainConfig, dict[str, torch.nn.Module], list[dict]]:
    """The configuration, networks (in inference mode) and history saved in a run directory
    (or in a checkpoint file, such as a study's kept epoch)."""
    state = load_checkpoint(Path(run_dir), map_location=device)
    config = checkpoint_config(state)
    models = build_models(config, IMAGE_SHAPES[config.dataset])
    try:
        for name, model in models.items():
            model.load_state_dict(state["models"][name])
            model.to(device).eval()
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f"the weights in {run_dir} do not match their configuration: {str(error).splitlines()[0]}") from None
    return config, models, list(state.get("history", []))
