"""What every family's step shares: the optimisers and the numeric precision it runs in (each
step itself lives in its family record, gencore.engine.families).

A step takes a float batch already on the device and returns its metrics as detached 0-d
tensors (no host sync), keyed by the history's column names.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from typing import TYPE_CHECKING, Iterator

import torch

from gencore.engine.errors import GencoreError
from gencore.engine.families import Models, Optimizers

if TYPE_CHECKING:
    from gencore.engine.config import TrainConfig

__all__ = ["build_optimizers", "precision_context", "resolve_precision", "native_bf16", "step_rates"]


def build_optimizers(config: "TrainConfig", models: Models) -> Optimizers:
    """One Adam per network with the configuration's learning rate and betas. The fused
    kernel (one pass over all parameters) measured 2-6% faster per step on a 2-core CPU;
    it computes the same update, and is used where the device has it."""
    optimizers: Optimizers = {}
    for name, model in models.items():
        device = next(model.parameters()).device.type
        fused = True if device in ("cpu", "cuda", "mps") else None
        optimizers[name] = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas, fused=fused)
    return optimizers


# ---------------------------------------------------------------------- precision


@contextlib.contextmanager
def precision_context(device: torch.device, precision: str) -> Iterator[None]:
    """bf16 autocast around a step (matmuls and convolutions in bfloat16, reductions and losses
    in float32, weights and optimiser state in float32); fp32 changes nothing."""
    if precision == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


def native_bf16(device: torch.device) -> bool:
    """Whether the hardware computes bfloat16 itself: AVX512-BF16 or AMX on x86 CPUs, bf16 support
    on a GPU. Elsewhere bf16 is emulated, and measured 20x slower or worse."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        from gencore.engine.runtime import cpu_flags

        flags = cpu_flags()
        return bool({"avx512_bf16", "amx_bf16"} & flags)
    return False


def resolve_precision(config: "TrainConfig", device: torch.device, probe: bool = True) -> str:
    """The precision a run uses: 'fp32' or 'bf16'. 'auto' picks bf16 only for families allowed it,
    on hardware with native bf16, where a quick probe of the family's step measures it faster."""
    if config.precision != "auto":
        if config.precision not in config.family.precisions:
            raise GencoreError(f"the {config.model} trains in {' or '.join(config.family.precisions)} only.")
        return config.precision
    if "bf16" not in config.family.precisions or not native_bf16(device):
        return "fp32"
    return "bf16" if probe and _bf16_measures_faster(config, device) else "fp32"


def _bf16_measures_faster(config: "TrainConfig", device: torch.device, steps: int = 3) -> bool:
    """Whether the family's step runs clearly faster in bf16 than in fp32 at the run's settings."""
    rates = step_rates(config, device, steps, ("fp32", "bf16"))
    return rates["bf16"] > rates["fp32"] * 1.05  # a clear win, not noise


def step_rates(config: "TrainConfig", device: torch.device, steps: int = 3,
               precisions: tuple[str, ...] = ("fp32",)) -> dict[str, float]:
    """Images per second of the family's own training step, per precision, on random images at
    the run's batch size and width: the median over ``steps`` whole generator cycles (a WGAN-GP
    cycle is n_critic steps) after one warm-up cycle. Every random state is left as it was."""
    from gencore.engine.data import image_shape

    family = config.family
    shape = image_shape(config.dataset)
    cycle = family.steps_per_update(config)
    rates = {}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(0)
        networks = {k: m.to(device).to(memory_format=family.layout) for k, m in family.build(config, shape).items()}
        optimizers = build_optimizers(config, networks)
        x = torch.rand(config.batch_size, *shape, device=device).contiguous(memory_format=family.layout)
        labels = torch.arange(config.batch_size, device=device) % 10  # (B,) int64, for a conditional family's step
        step = family.bind()
        for precision in precisions:
            times = []
            for index in range((steps + 1) * cycle):
                start = time.perf_counter()
                with precision_context(device, precision):
                    metrics = step(networks, optimizers, x, labels, config, index)
                next(iter(metrics.values())).item()  # wait for the device
                times.append(time.perf_counter() - start)
            cycles = [sum(times[i:i + cycle]) for i in range(cycle, len(times), cycle)]  # the first cycle warms up
            rates[precision] = cycle * config.batch_size / statistics.median(cycles)
    return rates
