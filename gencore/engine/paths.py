"""Where the kit's course files are, the same rule in a clone and in an installed package (the
sweep runs these notebooks; the course shows this study): the notebooks (and, beside them, the
shipped study and samples in ``reference/``) are the clone's ``notebooks/`` folder when there is
one, else the copy a build puts inside the package (setup.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the folder that holds gencore/: a clone, or site-packages
REPO = ROOT  # shown source files are named relative to it: gencore/engine/losses.py
_CLONE_NOTEBOOKS = ROOT / "notebooks"
_PACKAGED_NOTEBOOKS = ROOT / "gencore" / "course" / "notebooks"  # where setup.py puts them
NOTEBOOKS = _CLONE_NOTEBOOKS if (_CLONE_NOTEBOOKS / "00_start_here.ipynb").is_file() else _PACKAGED_NOTEBOOKS
STUDY = NOTEBOOKS / "reference" / "study"  # the shipped study: results.csv, grids, curves, histories
