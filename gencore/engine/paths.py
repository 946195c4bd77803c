"""Where the kit's course files are (the sweep runs these notebooks; the course shows this
study): the clone's ``notebooks/`` folder and, in it, ``reference/``, the shipped study and samples."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # shown source files are named relative to it: gencore/engine/losses.py
NOTEBOOKS = REPO / "notebooks"
STUDY = NOTEBOOKS / "reference" / "study"  # the shipped study: results.csv, grids, curves, histories
