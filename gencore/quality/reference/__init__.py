"""Files shipped inside the package, each checked against its recorded sha256 before use:

- the quality classifiers (one per dataset), so every machine measures fd with the same
  network and no first run waits for one to train;
- small reference models (one per model x dataset pair), so a learner sees every figure of
  a notebook within a minute on a laptop CPU.

``manifest.json`` beside this file records, for each file, its checksum and how it was made
(the command, the configuration, the measured accuracy or quality). A file whose bytes do not
match is refused with its path, never loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gencore.engine.config import TrainConfig
from gencore.engine.data import image_shape
from gencore.engine.errors import CheckpointError, GencoreError
from gencore.engine.files import atomic_write, torch_bytes, write_json
from gencore.engine.models import build_models
from gencore.quality.classifier import TrainedClassifier, load_classifier

FOLDER = Path(__file__).resolve().parent
MANIFEST_NAME = "manifest.json"
PREFIX = "ref:"  # how the command line names a reference model: ref:gan-mnist
TRACE_POINTS = 400  # the within-epoch loss curve of a shipped model, thinned: enough to draw, small to ship


def folder() -> Path:
    """Where the shipped files live ($GENCORE_REFERENCE overrides it, for maintainers and tests)."""
    return Path(os.environ.get("GENCORE_REFERENCE", FOLDER))


def manifest() -> dict[str, Any]:
    """The manifest: {"classifiers": {dataset: entry}, "models": {name: entry}}."""
    return _read_manifest(str(folder() / MANIFEST_NAME))


@lru_cache(maxsize=4)
def _read_manifest(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot read the shipped manifest {path} ({error}): reinstall gencore.") from None
    return {"classifiers": data.get("classifiers", {}), "models": data.get("models", {})}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(entry: dict[str, Any]) -> Path:
    """The entry's file, after checking that its bytes are the ones recorded."""
    path = folder() / entry["file"]
    if not path.is_file():
        raise CheckpointError(f"the shipped file {path} is missing: reinstall gencore (or restore it with git).")
    if sha256(path) != entry["sha256"]:
        raise CheckpointError(
            f"the shipped file {path} does not match its recorded sha256: it is damaged or was altered, so it is "
            "refused. Reinstall gencore (or restore it with git)."
        )
    return path


# ---------------------------------------------------------------------- classifiers


def shipped_classifier(dataset: str) -> TrainedClassifier:
    """The dataset's shipped quality classifier, checksum verified."""
    entries = manifest()["classifiers"]
    if dataset not in entries:
        raise GencoreError(f"no shipped classifier for {dataset!r}; shipped: {', '.join(sorted(entries)) or 'none'}.")
    classifier = load_classifier(verified_path(entries[dataset]))
    classifier.origin = "shipped"
    return classifier


def ship_classifier(classifier: TrainedClassifier, dataset: str, source: str, machine: str) -> dict[str, Any]:
    """Maintainers: copy a trained classifier's file into the package and record it."""
    if classifier.path is None:
        raise GencoreError("save the classifier to a file before shipping it.")
    name = f"classifier-{dataset}.pt"
    shutil.copyfile(classifier.path, folder() / name)
    entry = {
        "file": name, "sha256": sha256(folder() / name), "bytes": (folder() / name).stat().st_size,
        "test_accuracy": round(classifier.test_accuracy, 4), "recipe": classifier.recipe.__dict__,
        "train_seconds": round(classifier.seconds, 1), "trained_on": source, "machine": machine,
        "command": f"python -m gencore classifier --dataset {dataset} --retrain",
    }
    _update_manifest("classifiers", dataset, entry)
    return entry


# ---------------------------------------------------------------------- reference models


def reference_names() -> list[str]:
    return sorted(manifest()["models"])


def parse_reference(text: str) -> str | None:
    """'ref:gan-mnist' -> 'gan-mnist'; anything else -> None (a run directory)."""
    return text[len(PREFIX):] if text.startswith(PREFIX) else None


def reference_entry(name: str) -> dict[str, Any]:
    entries = manifest()["models"]
    if name not in entries:
        raise GencoreError(f"unknown reference model {name!r}: choose one of {', '.join(sorted(entries)) or 'none'} "
                           f"(python -m gencore reference lists them).")
    return entries[name]


@dataclass
class ReferenceModel:
    """A shipped model: its configuration, networks (float32, inference mode), the history and
    trace of its training (for the loss curves), and its manifest entry (quality, time, command)."""

    name: str
    config: TrainConfig
    models: dict[str, nn.Module]
    history: list[dict[str, float]]
    trace: list[dict[str, float]]
    entry: dict[str, Any]


def load_reference(name: str, device: str | torch.device = "cpu") -> ReferenceModel:
    """Only the networks that sampling needs are shipped: the generator, or the VAE."""
    entry = reference_entry(name)
    path = verified_path(entry)
    config = TrainConfig.from_dict(entry["config"])
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        with torch.random.fork_rng(devices=[]):  # initial weights, overwritten next, must not move the caller's RNG
            models = build_models(config, image_shape(config.dataset))
        models = {role: models[role] for role in state["networks"]}
        for role, model in models.items():
            model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["networks"][role].items()})
            model.to(device).eval()
    except Exception as error:  # noqa: BLE001 - a verified file that does not load means a kit mismatch
        raise CheckpointError(f"the shipped model {path} does not fit its configuration ({type(error).__name__}: "
                              f"{str(error).splitlines()[0][:160]}): reinstall gencore.") from None
    return ReferenceModel(name, config, models, list(state["history"]), list(state["trace"]), entry)


def ship_model(name: str, config: TrainConfig, models: dict[str, nn.Module], history: list[dict[str, float]],
               trace: list[dict[str, float]], record: dict[str, Any]) -> dict[str, Any]:
    """Maintainers: store the sampling networks of a trained run in fp16, with its history and a
    thinned trace (at most TRACE_POINTS points), and record them in the manifest."""
    networks = {role: {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
                for role, model in models.items() if role in config.family.shipped_networks}
    stride = max(1, len(trace) // TRACE_POINTS)
    state = {"networks": networks, "history": history, "trace": trace[::stride]}
    file_name = f"{name}.pt"
    atomic_write(folder() / file_name, lambda f: f.write(torch_bytes(state)))
    entry = {"file": file_name, "sha256": sha256(folder() / file_name), "bytes": (folder() / file_name).stat().st_size,
             "config": {**config.to_dict(), "data_root": None}, **record}  # where it was trained is no part of what it is
    _update_manifest("models", name, entry)
    return entry


def record_quality(name: str, quality: dict[str, Any]) -> dict[str, Any]:
    """Maintainers: add the shipped model's measured quality to its manifest entry."""
    entry = {**reference_entry(name), **quality}
    _update_manifest("models", name, entry)
    return entry


def record_floor(dataset: str, floor: dict[str, Any]) -> dict[str, Any]:
    """Maintainers: keep the real-data floor measured with the shipped classifier beside it (a
    retrained classifier's entry starts without one: its floor must be measured again)."""
    entry = {**manifest()["classifiers"][dataset], "floor": floor}
    _update_manifest("classifiers", dataset, entry)
    return entry


def shipped_floor(dataset: str) -> dict[str, Any] | None:
    """fd, classes_covered, confidence and recognised of held-out real images, with the shipped
    classifier and the sample count n of the shipped numbers (None if not measured yet)."""
    return manifest()["classifiers"].get(dataset, {}).get("floor")


def describe_references() -> str:
    """The shipped models and classifiers, one line each: what `python -m gencore reference` prints."""
    data = manifest()
    lines = ["Reference models (python -m gencore sample ref:NAME --n N --out F.pt):"]
    for name, entry in sorted(data["models"].items()):
        c = entry["config"]
        own = own_settings_label(c)
        lines.append(
            f"  {PREFIX}{name:<16} latent {str(c.get('latent_dim', '-')):<3} width {c['width']:<3} lr {c['lr']:g} batch {c['batch_size']}, "
            f"{own + ', ' if own else ''}{entry.get('epochs_done')} epochs ({entry.get('train_seconds', 0) / 60:.0f} min on {entry.get('device')}): "
            f"fd {entry['fd']:.2f}, {entry['classes_covered']} classes, confidence {entry['confidence']:.2f}"
            f"  [{entry['bytes'] / 1e6:.2f} MB]"
        )
    lines.append("Quality classifiers (the feature space of fd):")
    for dataset, entry in sorted(data["classifiers"].items()):
        lines.append(f"  {dataset:<8} test accuracy {entry['test_accuracy']:.2%}, width {entry['recipe']['width']}, "
                     f"{entry['recipe']['epochs']} epochs on {entry['trained_on']}  [{entry['bytes'] / 1e6:.2f} MB]")
        floor = entry.get("floor")
        if floor:
            lines.append(f"           floor (real images, n {floor['n']}): fd {floor['fd']:.2f}, {floor['classes_covered']} classes, "
                         f"confidence {floor['confidence']:.2f}, recognised {floor['recognised']:.2f}")
    return "\n".join(lines)


def own_settings_label(config: dict[str, Any]) -> str:
    """A shipped model's family settings ("n_critic 5, gp_weight 10, critic_norm layer"); fields added
    after it was shipped read as their defaults, as its configuration loads."""
    own = TrainConfig.from_dict(config).own_settings()
    return ", ".join(f"{name} {value}" for name, value in own.items())  # "" for the GAN: it has none


def reference_markdown() -> str:
    """The shipped models as the Markdown table docs/study.md shows (a test keeps the two equal)."""
    data = manifest()
    lines = ["| reference | latent | width | lr, batch | its family's settings | epochs | trained in | fd | classes | confidence "
             "| recognised | size |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, entry in sorted(data["models"].items()):
        c = entry["config"]
        lines.append(f"| `{PREFIX}{name}` | {c.get('latent_dim', 'none')} | {c['width']} | {c['lr']:g}, {c['batch_size']} | "
                     f"{own_settings_label(c)} | {entry.get('epochs_done')} | {entry.get('train_seconds', 0) / 60:.0f} min | {entry['fd']:.2f} | "
                     f"{entry['classes_covered']} | {entry['confidence']:.2f} | {entry['recognised']:.2f} | "
                     f"{entry['bytes'] / 1e6:.2f} MB |")
    for dataset, entry in sorted(data["classifiers"].items()):
        floor = entry.get("floor")
        if floor:
            lines.append(f"| real {dataset} images (the floor) | | | | | | | {floor['fd']:.2f} | {floor['classes_covered']} | "
                         f"{floor['confidence']:.2f} | {floor['recognised']:.2f} | |")
    return "\n".join(lines) + "\n"


def _update_manifest(section: str, key: str, entry: dict[str, Any]) -> None:
    path = folder() / MANIFEST_NAME
    data = json.loads(path.read_text()) if path.exists() else {"classifiers": {}, "models": {}}
    data.setdefault(section, {})[key] = entry
    write_json(path, data)
    _read_manifest.cache_clear()
