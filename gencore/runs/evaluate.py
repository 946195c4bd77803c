"""The quality of a finished run folder: what ``python -m gencore evaluate`` writes."""

from __future__ import annotations

import os
from typing import Any

from gencore.quality.metrics import evaluate_models
from gencore.runs.checkpoint import load_run


def evaluate_run(run_dir: str | os.PathLike, n: int = 10_000, data_root: str | None = None, seed: int = 0,
                 train_classifier: bool = True, inception: bool = True, classifier: str | None = None) -> dict[str, Any]:
    """evaluate_models for a run directory: the JSON that ``python -m gencore evaluate`` writes."""
    config, models, history = load_run(run_dir)
    result = evaluate_models(config, models, n, data_root, seed, train_classifier, inception, classifier)
    return {"run_dir": str(run_dir), "epochs_done": len(history), **result}
