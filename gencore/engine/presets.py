"""Named bundles of settings. A preset fills in what the user did not set; explicit flags win.

Each family's record holds its presets (``Family.presets``) with the measurements behind them.
``cpu-fast``: readable, diverse MNIST digits within 5 minutes on a 2-core CPU (CIFAR-10: colour
structure within 10), by spending the FLOPs where they matter: narrower networks, learning rates
well above the seed's cautious ones (measured per pair), and a time budget that ends the run
cleanly, saved.
"""

from __future__ import annotations

from typing import Any

from gencore.engine.errors import GencoreError
from gencore.engine.families import FAMILIES, get_family


def preset_names() -> tuple[str, ...]:
    """Every preset some family defines (the --preset choices)."""
    return tuple(sorted({name for family in FAMILIES.values() for name in family.presets}))


def preset_settings(name: str, model: str, dataset: str) -> dict[str, Any]:
    """The settings a preset gives this model and dataset."""
    family = get_family(model)
    if name not in preset_names():
        raise GencoreError(f"unknown preset {name!r}: choose one of {', '.join(preset_names())}.")
    if dataset not in family.presets.get(name, {}):
        raise GencoreError(f"the preset {name!r} has no settings for the {model} on {dataset}.")
    return dict(family.presets[name][dataset])
