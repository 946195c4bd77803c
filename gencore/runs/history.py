"""A run's history on disk: history.csv, written whole, and its last row read back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gencore.engine.files import atomic_write


def write_history_csv(path: Path, history: list[dict[str, float]]) -> None:
    """One row per epoch; columns in the order they first appear (quality columns are sparse)."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(history)
    atomic_write(path, lambda f: f.write(buffer.getvalue()), binary=False)


def last_history_row(folder: Path) -> dict[str, float]:
    """The last epoch's numbers in a run folder's history.csv, or {} before the first epoch."""
    try:
        rows = list(csv.DictReader((folder / "history.csv").open()))
    except OSError:
        return {}
    return {k: float(v) for k, v in rows[-1].items() if v not in ("", None)} if rows else {}
