"""Device choice, seeding and random-state capture: what makes a run repeatable and resumable."""

from __future__ import annotations

import os
import platform
import random
from typing import Any

import numpy as np
import torch

from gencore.engine.errors import GencoreError


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then MPS, then CPU; a named device must exist on this machine."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            raise GencoreError(
                f"device {name!r} is not available on this machine ({count} CUDA device(s) found): "
                "use --device cpu or --device auto."
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GencoreError(f"device {name!r} is not available on this machine: use --device cpu or --device auto.")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU) from one number."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """Every global random state, in types that a weights-only checkpoint load accepts."""
    version, mt_state, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(mt_state), gauss],
        "numpy": [np_name, torch.from_numpy(np.asarray(np_keys).astype(np.int64)), int(np_pos), int(np_has_gauss), float(np_gauss)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    version, mt_state, gauss = state["python"]
    random.setstate((version, tuple(mt_state), gauss))
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = state["numpy"]
    np.random.set_state((np_name, np_keys.numpy().astype(np.uint32), np_pos, np_has_gauss, np_gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def cpu_model() -> str:
    """The CPU's model name ('AMD EPYC', 'Apple M2', ...), as the operating system reports it."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_name(device: torch.device | str = "cpu") -> str:
    """What a measurement ran on, for tables and run.json: the GPU's name, or the CPU's model,
    its cores and the threads torch uses (speeds differ several-fold between CPUs)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"mps ({cpu_model()})"
    threads = torch.get_num_threads()
    return f"cpu ({cpu_model()}, {os.cpu_count()} cores, {threads} thread{'s' * (threads != 1)})"


def cpu_family_model() -> dict[str, str] | None:
    """The first 'cpu family' and 'model' of /proc/cpuinfo (which generation of a CPU model name: AMD EPYC is
    several), as written there; None where the file cannot be read."""
    found: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key = line.split(":", 1)[0].strip()
                if key in ("cpu family", "model") and key not in found:
                    found[key] = line.split(":", 1)[1].strip()
    except OSError:
        return None
    return found


def cpu_flags() -> set[str]:
    """The CPU's feature flags as the operating system reports them (empty where it does not)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()
