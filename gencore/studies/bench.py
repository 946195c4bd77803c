"""``python -m gencore bench``: training throughput of the kit against the textbook loop.

For each model x dataset, in the same run:
- images/s of the kit's own training path (``Trainer.fit``), median over timed windows
  after a warm-up;
- images/s of the textbook loop with the same model and batch size: a torchvision dataset
  with per-item ``ToTensor`` and ``Normalize``, a ``DataLoader``, a default Adam and a
  ``.item()`` per step for the running loss;
- the FLOP rate reached, as a fraction of this machine's peak in the same precision, measured
  here as the faster of a large matrix product and a large channels-last convolution (oneDNN's
  convolutions can run 2.5x faster than a float32 matmul on AMD CPUs, so a matmul alone is no peak);
- the peak resident memory of the kit's run.

Where the hardware computes bfloat16 natively (AVX512-BF16 or AMX, or a GPU), the GAN and
WGAN-GP are measured in both fp32 and bf16 autocast.

Every measurement runs in its own child process, so one run's memory does not count
towards another's.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import resource
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from queue import Empty
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from gencore.engine.config import DATASETS, TrainConfig
from gencore.engine.errors import GencoreError


@dataclass
class BenchRecord:
    model: str
    dataset: str
    precision: str  # fp32, or bf16 autocast for the kit's step (the textbook loop is always fp32)
    images_per_s: float  # the kit's training path, median of the timed windows
    baseline_images_per_s: float  # the textbook loop, same model and batch size
    speedup: float  # images_per_s / baseline_images_per_s
    flops_fraction: float  # achieved model FLOP/s over the measured peak of the same precision
    peak_source: str  # which measurement gave that peak: "matmul" or "conv"
    peak_rss_mb: float  # peak resident memory of the kit's run
    batch_size: int
    width: int
    windows: int
    steps_per_window: int


@dataclass
class BenchPlan:
    width: int = 64  # the default model width users train
    warmup_windows: int = 1  # discarded: allocator, oneDNN kernel choice, caches
    windows: int = 5  # the median of these is reported
    steps_per_window: int = 10


QUICK = BenchPlan(width=32, warmup_windows=1, windows=3, steps_per_window=4)  # under 2 minutes on 2 cores


def run_bench(
    data_root: str | None,
    quick: bool = False,
    models: tuple[str, ...] | None = None,
    datasets: tuple[str, ...] = DATASETS,
    precisions: tuple[str, ...] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[list[BenchRecord], dict[str, Any]]:
    """Measure every model x dataset (x precision); returns the records and the machine description.
    ``precisions`` None: fp32, and bf16 too where the CPU has it natively."""
    from gencore.engine.runtime import cpu_flags, machine_name
    from gencore.engine.steps import native_bf16

    from gencore.engine.families import seed_study_models

    models = seed_study_models() if models is None else models  # None: the seed study's three, as docs/speed.md times
    plan = QUICK if quick else BenchPlan()
    if precisions is None:
        precisions = ("fp32", "bf16") if native_bf16(torch.device("cpu")) else ("fp32",)
    peaks = {precision: _in_child(peak_flops, precision) for precision in precisions}
    flags = cpu_flags()
    machine: dict[str, Any] = {
        "cpu": machine_name("cpu"),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": "cpu",
        "flags": {flag: flag in flags for flag in CPU_FLAGS},
        "peak_gflops": {p: {k: round(v / 1e9, 1) if isinstance(v, float) else v for k, v in peak.items()}
                        for p, peak in peaks.items()},
        "matmul_peak_gflops": round(peaks["fp32"]["matmul"] / 1e9, 1) if "fp32" in peaks else None,
    }
    log(f"machine: {machine['cpu']}, torch {machine['torch']}; "
        + ", ".join(f"{flag} {'yes' if present else 'no'}" for flag, present in machine["flags"].items()))
    for precision, peak in peaks.items():
        log(f"{precision} peak: {peak['flops'] / 1e9:.0f} GFLOP/s from the {peak['source']} "
            f"(matmul {peak['matmul'] / 1e9:.0f}, conv {peak['conv'] / 1e9:.0f})")
    records = []
    for dataset in datasets:
        _in_child(_find_data, dataset, data_root)  # the files both loops read: found, or one clear message
        for model in models:
            config = TrainConfig(model=model, dataset=dataset, epochs=1, width=plan.width,  # latent 64 where it has one
                                 data_root=data_root, device="cpu")
            baseline = _in_child(_time_textbook, config, plan)
            for precision in precisions:
                if precision not in config.family.precisions:
                    continue
                ours = _in_child(_time_gencore, TrainConfig.from_dict({**config.to_dict(), "precision": precision}), plan)
                peak = peaks[precision]
                record = BenchRecord(
                    model=model, dataset=dataset, precision=precision,
                    images_per_s=round(ours["images_per_s"], 1),
                    baseline_images_per_s=round(baseline["images_per_s"], 1),
                    speedup=round(ours["images_per_s"] / baseline["images_per_s"], 2),
                    flops_fraction=round(ours["flops_per_image"] * ours["images_per_s"] / peak["flops"], 3),
                    peak_source=peak["source"],
                    peak_rss_mb=round(ours["peak_rss_mb"], 1),
                    batch_size=config.batch_size, width=plan.width,
                    windows=plan.windows, steps_per_window=plan.steps_per_window,
                )
                log(format_row(record))
                records.append(record)
    return records, machine


CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # what decides the speed of fp32 and bf16 training


HEADER = (f"{'model':8} {'dataset':8} {'prec':5} {'images/s':>9} {'textbook':>9} {'speedup':>8} {'FLOP frac':>9} "
          f"{'peak MB':>8}")


def format_row(r: BenchRecord) -> str:
    return (f"{r.model:8} {r.dataset:8} {r.precision:5} {r.images_per_s:9.1f} {r.baseline_images_per_s:9.1f} "
            f"{r.speedup:7.2f}x {r.flops_fraction:9.3f} {r.peak_rss_mb:8.0f}")


def write_bench_json(path: str | os.PathLike, records: list[BenchRecord], machine: dict[str, Any]) -> None:
    """A list of records; each also names the machine it was measured on."""
    Path(path).write_text(json.dumps([{**asdict(r), "machine": machine} for r in records], indent=2))


# ---------------------------------------------------------------------- measurements


def _in_child(fn: Callable[..., Any], *args: Any) -> Any:
    """Run fn in a child process and return its result, so each measurement has its own
    memory peak and no state (threads, allocator caches) leaks between them. Children come from
    a fork server that has imported torch but never run it: a plain fork of a parent whose
    OpenMP threads have started can hang (it did under pytest), and a spawn re-imports torch
    each time."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["gencore.studies.bench"])
    queue = context.Queue()
    process = context.Process(target=_child_main, args=(queue, fn, args))
    process.start()
    while True:
        try:
            ok, value = queue.get(timeout=2)
            break
        except Empty:
            if not process.is_alive():  # died without a word (killed, out of memory, a crash in C)
                raise GencoreError(f"benchmark step {fn.__name__} ended without a result "
                                   f"(exit code {process.exitcode}); nothing was measured for it") from None
    process.join()
    if not ok:
        raise GencoreError(value)
    return value


def _find_data(dataset: str, data_root: str | None) -> None:
    from gencore.engine.data import load_dataset

    load_dataset(dataset, "train", data_root, subset=10)


def _child_main(queue: Any, fn: Callable[..., Any], args: tuple) -> None:
    try:
        queue.put((True, fn(*args)))
    except GencoreError as error:  # already one clear line
        queue.put((False, str(error)))
    except BaseException as error:  # reported by the parent as one line
        queue.put((False, f"benchmark step {fn.__name__} failed: {type(error).__name__}: {error}"))


def peak_flops(precision: str = "fp32", repeats: int = 10) -> dict[str, Any]:
    """This machine's peak FLOP/s in a precision: the faster of a large matrix product and a large
    3x3 convolution in channels_last (which oneDNN runs with its own kernels), each the best
    of several timed runs after a warm-up. Returns the peak, its source and both rates."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    n = 2048
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    matmul = _best_rate(lambda: a @ b, 2 * n**3, repeats)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).to(dtype=dtype).to(memory_format=torch.channels_last)
    x = torch.randn(32, 256, 32, 32, dtype=dtype).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        convolution = _best_rate(lambda: conv(x), 2 * 32 * 32 * 32 * 256 * 256 * 9, repeats)
    source = "conv" if convolution > matmul else "matmul"
    return {"flops": max(matmul, convolution), "source": source, "matmul": matmul, "conv": convolution}


def _best_rate(fn: Callable[[], Any], flops: float, repeats: int) -> float:
    """The fastest of several timed runs: a peak is what the machine can reach, and anything else
    running at the same time only ever makes a run slower (a median would let noise lower the peak)."""
    fn()  # warm-up: kernel choice, caches
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(flops / (time.perf_counter() - start))
    return max(rates)


def _window_rates(times: list[float], images_per_window: int, warmup: int) -> float:
    rates = [images_per_window / (b - a) for a, b in zip(times, times[1:])][warmup:]
    return statistics.median(rates)


def _time_gencore(config: TrainConfig, plan: BenchPlan) -> dict[str, float]:
    from gencore.engine.loop import Trainer

    steps = (plan.warmup_windows + plan.windows) * plan.steps_per_window
    # Only the images the timed steps use are loaded: the data sits in memory either way.
    config = TrainConfig.from_dict({**config.to_dict(), "subset": steps * config.batch_size, "eval_every": 0})
    trainer = Trainer(config)
    trainer.log_every = plan.steps_per_window
    flops = _flops_per_image(trainer)
    times = [time.perf_counter()]

    def tick(t: Trainer) -> None:
        times.append(time.perf_counter())
        if t.step_in_epoch >= steps:
            t.request_stop("bench")

    trainer.add_callback("on_step", tick)
    trainer.fit()
    return {
        "images_per_s": _window_rates(times, plan.steps_per_window * config.batch_size, plan.warmup_windows),
        "flops_per_image": flops,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _flops_per_image(trainer: Any) -> float:
    """Model FLOPs (forward, backward, gradient penalty) of the kit's step, per image,
    counted on copies so the timed run is untouched."""
    from gencore.engine.data import to_float
    from gencore.engine.steps import build_optimizers

    config = trainer.config
    models = {k: copy.deepcopy(m) for k, m in trainer.models.items()}
    optimizers = build_optimizers(config, models)
    steps = config.family.steps_per_update(config)  # one generator update per cycle
    x = to_float(trainer.images[: config.batch_size], config.family.value_range)
    labels = trainer.labels[: config.batch_size]
    with _FlopCounter() as counter:
        for step in range(steps):
            trainer.step_fn(models, optimizers, x, labels, config, step)
    return counter.total / (steps * config.batch_size)


class _FlopCounter(TorchDispatchMode):
    """Adds up torch's own FLOP formulas (matmuls, convolutions and their backward passes)
    for every operator that runs. Unlike FlopCounterMode it installs no module hooks, which
    break the double backward of the gradient penalty."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def _time_textbook(config: TrainConfig, plan: BenchPlan) -> dict[str, float]:
    """The loop of a typical tutorial, with the kit's model and losses."""
    from torch.utils.data import DataLoader
    from torchvision import transforms

    from gencore.engine.data import default_data_root
    from gencore.engine.datasets import get_dataset
    from gencore.engine.models import build_models

    root = Path(config.data_root) if config.data_root else default_data_root()[0]
    record = get_dataset(config.dataset)
    channels = record.image_shape[0]
    steps_ = [transforms.ToTensor()]
    if config.family.value_range == "symmetric":  # GANs train on [-1, 1]
        steps_.append(transforms.Normalize([0.5] * channels, [0.5] * channels))
    transform = transforms.Compose(steps_)
    if record.textbook_dataset is None:
        raise GencoreError(f"the {config.dataset} record has no textbook loader to time the baseline with.")
    dataset = record.textbook_dataset(root, transform)
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=True)
    torch.manual_seed(config.seed)
    models = build_models(config, record.image_shape)
    optimizers = {k: torch.optim.Adam(m.parameters(), lr=config.lr, betas=config.betas) for k, m in models.items()}
    step_fn = config.family.bind()
    steps = (plan.warmup_windows + plan.windows) * plan.steps_per_window
    times, running = [time.perf_counter()], 0.0
    for step, (x, labels) in enumerate(loader):
        metrics = step_fn(models, optimizers, x, labels, config, step)
        running += next(iter(metrics.values())).item()  # the tutorial's running loss
        if (step + 1) % plan.steps_per_window == 0:
            times.append(time.perf_counter())
        if step + 1 >= steps:
            break
    return {"images_per_s": _window_rates(times, plan.steps_per_window * config.batch_size, plan.warmup_windows)}


# ---------------------------------------------------------------------- time estimates


@dataclass
class TimeEstimate:
    model: str
    dataset: str
    device: str
    images_per_s: float  # the kit's training step on random images, median of the timed steps
    minutes_per_epoch: float  # one pass over the full training split
    hours_20_epochs: float  # the seed study's two settings
    hours_100_epochs: float


def estimate_training_time(
    device: str = "auto",
    models: tuple[str, ...] | None = None,
    datasets: tuple[str, ...] = DATASETS,
    steps: int = 3,
    width: int = 64,
) -> list[TimeEstimate]:
    """How long the seed study's settings take on this machine: a few of the kit's own training
    steps per model x dataset (random images of the right shape, the seed's batch sizes), timed
    after one warm-up step. Seconds per pair on a laptop CPU; no data files needed."""
    from gencore.engine.runtime import resolve_device

    from gencore.engine.families import seed_study_models

    if steps < 1:
        raise GencoreError(f"steps must be at least 1, got {steps}.")
    models = seed_study_models() if models is None else models  # None: the seed study's three
    where = resolve_device(device)
    return [_estimate_one(TrainConfig(model=model, dataset=dataset, width=width, device=device), where, steps)
            for dataset in datasets for model in models]  # step_rates leaves the caller's random state alone


def _estimate_one(config: TrainConfig, where: torch.device, steps: int) -> TimeEstimate:
    from gencore.engine.datasets import get_dataset
    from gencore.engine.steps import step_rates

    images_per_s = step_rates(config, where, steps)["fp32"]
    epoch_minutes = get_dataset(config.dataset).split_sizes["train"] / images_per_s / 60
    return TimeEstimate(
        model=config.model, dataset=config.dataset, device=str(where), images_per_s=round(images_per_s, 1),
        minutes_per_epoch=round(epoch_minutes, 1), hours_20_epochs=round(20 * epoch_minutes / 60, 1),
        hours_100_epochs=round(100 * epoch_minutes / 60, 1),
    )


def format_estimates(estimates: list[TimeEstimate]) -> str:
    lines = [f"{'model':8} {'dataset':8} {'images/s':>9} {'min/epoch':>9} {'20 epochs':>10} {'100 epochs':>11}"]
    for e in estimates:
        lines.append(f"{e.model:8} {e.dataset:8} {e.images_per_s:9.0f} {e.minutes_per_epoch:9.1f} "
                     f"{e.hours_20_epochs:9.1f}h {e.hours_100_epochs:10.1f}h")
    return "\n".join(lines)
