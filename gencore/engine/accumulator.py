"""A run's numbers while it trains: per-epoch sums of the step metrics (kept on the device, so no step waits
for the host), the trace of means every few steps, the NaN check, and history.csv."""

from __future__ import annotations

import math
from typing import Any

import torch

from gencore.engine.errors import NonFiniteLossError


class Accumulator:
    """Per-epoch sums of step metrics on the device; a window of recent steps lets a NaN be
    traced to its exact step and loss."""

    def __init__(self, device: torch.device) -> None:
        self.dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.window: list[tuple[int, dict[str, torch.Tensor]]] = []

    def add(self, step: int, metrics: dict[str, torch.Tensor]) -> None:
        for name, value in metrics.items():
            value = value.to(self.dtype)
            self.sums[name] = self.sums[name] + value if name in self.sums else value.clone()
            self.counts[name] = self.counts.get(name, 0) + 1
        self.window.append((step, metrics))

    def window_means(self) -> dict[str, float]:
        """Each metric's mean over the steps since the last check (a metric missing from some
        steps, like the WGAN-GP generator loss, is averaged over the steps that have it)."""
        names: dict[str, list[torch.Tensor]] = {}
        for _, metrics in self.window:
            for name, value in metrics.items():
                names.setdefault(name, []).append(value)
        return {name: float(torch.stack(values).float().mean()) for name, values in names.items()}

    def check_finite(self) -> None:
        """Raise NonFiniteLossError naming the first non-finite loss since the last check."""
        values = [v for _, metrics in self.window for v in metrics.values()]
        if values and not bool(torch.isfinite(torch.stack(values)).all()):
            for step, metrics in self.window:
                for name, value in metrics.items():
                    if not math.isfinite(float(value)):
                        raise NonFiniteLossError(
                            f"{name} became {float(value)} at step {step}: training stopped, and the last "
                            "finite checkpoint is kept. A learning rate that is too high is the usual cause: "
                            "lower --lr (e.g. by 10x) and resume or start again."
                        )
        self.window.clear()

    def close_window(self, x: float) -> dict[str, float] | None:
        """Check the steps since the last check (raising names the step), then return their
        means as one trace row at ``x`` epochs; None when there were no steps."""
        if not self.window:
            return None
        row = {"epoch": x, **self.window_means()}
        self.check_finite()
        return row

    def means(self) -> dict[str, float]:
        return {name: float(self.sums[name] / self.counts[name]) for name in self.sums}

    def state(self) -> dict[str, Any]:
        return {"sums": {k: v.cpu() for k, v in self.sums.items()}, "counts": dict(self.counts)}

    def load(self, state: dict[str, Any], device: torch.device) -> None:
        self.sums = {k: v.to(device, self.dtype) for k, v in state["sums"].items()}
        self.counts = dict(state["counts"])
