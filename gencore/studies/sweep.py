"""The seed study as a sweep: a grid of (model, dataset, latent size, epochs, seed) runs, each
executed by running its course notebook through papermill, then one table and one figure.

A results folder holds:
    runs/                     the training runs (train-or-load: a finished one is never retrained)
    <run name>/notebook.ipynb the executed notebook, with every figure
    <run name>/notebook-result.json  what the notebook's last cell measured
    <run name>/result.json    the run's row: parameters and final quality numbers; written by the
                              sweep last, so its presence means the run is finished (a restart skips it)
    <run name>/thumbnail.png  its samples from fixed latent points, for the grid figure
    results.csv, results.md, grid-<model>-<dataset>.png   the study's table (results.py), the same
                              as the in-process study's

The run list is plain data (``plan``) and each run is one call of ``execute_run(spec, settings)``
that reads and writes only its own folder. Any executor that can call a function on a
worker can run the list: a process pool on this machine (``--jobs N``) or Dask tasks.

Faults a cluster sends: one sweep at a time fills a results folder (a second is refused, naming
the first); one executor at a time runs a run (its folder's lock); a run whose worker dies is
retried by Dask on another worker and resumes from the run's last checkpoint; a sweep run again
after an interrupt skips finished runs and resumes unfinished ones. Every executor starts the
notebook kernel with the same thread settings, so their numbers agree bit for bit on one machine.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from gencore.engine.config import DATASETS, MODELS, TrainConfig
from gencore.engine.datasets import get_dataset
from gencore.engine.errors import GencoreError
from gencore.engine.families import get_family
from gencore.engine.files import atomic_write, write_json
from gencore.engine.paths import NOTEBOOKS
from gencore.runs.lock import WAIT_VARIABLE, FolderLock
from gencore.studies.results import collect, read_table, save_thumbnail, write_grids, write_table

RESULT_NAME = "result.json"
NOTEBOOK_RESULT_NAME = "notebook-result.json"  # the notebook writes here; only the sweep writes RESULT_NAME
# Thread settings a kernel inherits. Dask's nanny sets the last two to 1 and a local pool leaves them
# unset; set alike, a local and a Dask sweep of one grid give the same numbers on one machine.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# How long a run waits for its folder or its run directory to be let go: a run retried after its
# worker died may start while that worker's kernel is still noticing (within a few seconds).
LOCK_WAIT_SECONDS = 120
TASK_RETRIES = 2  # Dask retries a run that raised; a run whose worker died is rescheduled by Dask itself


@dataclass(frozen=True)
class RunSpec:
    """One point of the grid. ``parameters`` are extra notebook parameters (e.g. width)."""

    model: str
    dataset: str
    latent_dim: int | None  # None: a family without a latent vector
    epochs: int
    seed: int = 0
    subset: int | None = None
    parameters: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        extra = "".join(f"-{k}{v}" for k, v in self.parameters)
        subset = f"-n{self.subset}" if self.subset else ""
        latent = f"-z{self.latent_dim}" if self.latent_dim is not None else ""
        return f"{self.model}-{self.dataset}{latent}-e{self.epochs}{subset}-s{self.seed}{extra}"


@dataclass(frozen=True)
class SweepSettings:
    """What every run of one sweep shares."""

    results_dir: str
    data_root: str | None = None
    eval_samples: int = 10_000
    threads: int | None = None  # torch threads per run; None: the cores of the machine running it shared among its jobs
    notebooks_dir: str = field(default_factory=lambda: str(NOTEBOOKS))


def plan(models: Iterable[str], datasets: Iterable[str], latent_dims: Iterable[int | str], epochs: Iterable[int | str],
         seeds: Iterable[int | str] = (0,), subset: int | str | None = None, parameters: dict[str, Any] | None = None) -> list[RunSpec]:
    """The grid as a list of runs, each validated now (a typo fails before anything runs)."""
    extra = tuple(sorted((parameters or {}).items()))
    specs = []
    for model, dataset, latent, epoch_count, seed in itertools.product(models, datasets, latent_dims, epochs, seeds):
        values: dict[str, Any] = dict(model=model, dataset=dataset, latent_dim=latent, epochs=epoch_count, seed=seed,
                                      subset=subset)  # text or numbers: TrainConfig validates and converts them
        config = TrainConfig(**values)
        specs.append(RunSpec(config.model, config.dataset, config.latent_dim, config.epochs, config.seed, config.subset, extra))
    if not specs:
        raise GencoreError("the sweep is empty: give at least one model, dataset, latent size, epoch count and seed.")
    return specs


def _notebook(spec: RunSpec) -> str:
    """The course notebook that trains this run's model on its dataset (its family record says)."""
    notebooks = get_family(spec.model).notebooks
    if spec.dataset not in notebooks:
        raise GencoreError(f"the {spec.model} has no course notebook for {spec.dataset} to sweep through yet: "
                           f"train its runs with python -m gencore train.")
    return notebooks[spec.dataset]


def read_result(folder: Path, name: str = RESULT_NAME) -> dict[str, Any] | None:
    try:
        return json.loads((folder / name).read_text())
    except (OSError, ValueError):
        return None


def notebook_parameters(spec: RunSpec, settings: SweepSettings) -> dict[str, Any]:
    """What papermill injects into the run's notebook: the grid point, the seed study's learning
    rate and batch size (the GAN notebooks' own default is the paper's lr), then ``--param`` values."""
    results = Path(settings.results_dir)
    seed_settings = TrainConfig(model=spec.model, dataset=spec.dataset)
    parameters = {
        "lr": seed_settings.lr, "batch_size": seed_settings.batch_size,
        "model": spec.model,  # for a notebook that teaches several families (08): the one to train
        "dataset": spec.dataset, "latent_dim": spec.latent_dim, "epochs": spec.epochs, "seed": spec.seed,
        "subset": spec.subset, "data_root": settings.data_root, "runs_dir": str((results / "runs").resolve()),
        "eval_samples": settings.eval_samples, "result_json": str((results / spec.name / NOTEBOOK_RESULT_NAME).resolve()),
        "exercise_epochs": 0, "variance_epochs": 0,  # a sweep measures the study, not the learner's exercises and lessons
        "use_reference": False, "own_minutes": 0,  # a sweep trains its grid point, on any machine
        "sweep_samples": 0, "cost_samples": 0,  # nor 09's sampler sweeps and cost table, minutes each
        **dict(spec.parameters),
    }
    declared = notebook_parameter_names(Path(settings.notebooks_dir) / _notebook(spec))
    return {name: value for name, value in parameters.items() if name in declared}


def check_parameters(specs: list[RunSpec], settings: SweepSettings) -> None:
    """Refuse, before anything runs, a --param that a run's notebook does not declare."""
    for spec in specs:
        declared = notebook_parameter_names(Path(settings.notebooks_dir) / _notebook(spec))
        unknown = sorted(set(dict(spec.parameters)) - declared)
        if unknown:
            raise GencoreError(f"the {spec.model} {spec.dataset} notebook has no parameter {', '.join(unknown)}: "
                               f"choose among {', '.join(sorted(declared))}.")


def notebook_parameter_names(path: Path) -> set[str]:
    """The names the notebook's parameters cell declares (papermill's own reading of it)."""
    return set(_declared(str(path), path.stat().st_mtime))


@lru_cache(maxsize=16)
def _declared(path: str, mtime: float) -> tuple[str, ...]:
    import papermill

    return tuple(papermill.inspect_notebook(path))


def execute_run(spec: RunSpec, settings: SweepSettings) -> dict[str, Any]:
    """Run one notebook into ``results_dir/<name>``, or return its result if it already finished.
    Everything the run needs is in its arguments, so any worker process or machine can call it.
    The run's folder is locked while it runs: a second executor of the same run waits for the
    first (a Dask retry whose dead predecessor's kernel is still exiting), then finds it done or resumes it."""
    results = Path(settings.results_dir)
    folder = results / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(folder, "run", "another executor has it: wait for it, or stop the sweep that runs it.")
    lock.acquire(wait=LOCK_WAIT_SECONDS)
    try:
        done = read_result(folder)
        if done is not None:
            return {**done, "skipped": True}
        return _execute_notebook(spec, settings, folder)
    finally:
        lock.release()


def _execute_notebook(spec: RunSpec, settings: SweepSettings, folder: Path) -> dict[str, Any]:
    import papermill

    (folder / NOTEBOOK_RESULT_NAME).unlink(missing_ok=True)  # left by a run killed before the sweep wrote its result
    kernel = kernel_manager(kernel_environment(settings.threads or _worker_threads()))
    notebook = Path(settings.notebooks_dir) / _notebook(spec)
    parameters = notebook_parameters(spec, settings)
    start = time.monotonic()
    try:
        papermill.execute_notebook(str(notebook), str(folder / "notebook.ipynb"), parameters=parameters,
                                   cwd=str(notebook.parent), progress_bar=False, kernel_name="python3",
                                   kernel_manager_class=kernel)
    except Exception as error:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
        failure = {**asdict(spec), "name": spec.name, "status": "failed",
                   "error": f"{type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error).strip() else ''}",
                   "wall_seconds": round(time.monotonic() - start, 1)}
        write_json(folder / "failed.json", failure)
        return failure
    result = read_result(folder, NOTEBOOK_RESULT_NAME)
    if result is None:
        raise GencoreError(f"{notebook.name} finished without writing {folder / NOTEBOOK_RESULT_NAME}: is it the kit's notebook?")
    result = {**result, "name": spec.name, "wall_seconds": round(time.monotonic() - start, 1)}
    samples = Path(result.get("run_dir", "")) / "samples.png"
    if samples.is_file():  # the run's own figure beside the numbers, for the results browser
        atomic_write(folder / "samples.png", lambda f: f.write(samples.read_bytes()))
    if (folder / "thumbnail.png").is_file():  # written by the notebook (write_result): the grid figure's cell
        result["thumbnail"] = f"{spec.name}/thumbnail.png"
    write_json(folder / RESULT_NAME, result)  # atomic: the row appears whole, once
    (folder / "failed.json").unlink(missing_ok=True)
    return result


def kernel_environment(threads: int) -> dict[str, str]:
    """The environment a run's notebook kernel gets, whichever executor starts it: this process's,
    with ``threads`` for torch (OpenMP), MKL and OpenBLAS, without Dask's allocator tuning (memory
    laid out alike), and with the lock wait, so a retried run waits for its dead predecessor's kernel."""
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    environment.update({name: str(threads) for name in THREAD_VARIABLES})
    environment[WAIT_VARIABLE] = str(LOCK_WAIT_SECONDS)
    return environment


def kernel_manager(environment: dict[str, str]) -> type:
    """A Jupyter kernel manager that starts its kernel in ``environment``: the kernel alone gets it,
    so a sweep run in-process (or in a worker's thread) leaves its caller's environment untouched."""
    from jupyter_client import AsyncKernelManager

    class KernelInEnvironment(AsyncKernelManager):
        # papermill's client awaits it; the provisioner reads env. (jupyter_client declares it as an
        # alias of its async implementation, typed as a plain callable: hence the ignore.)
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            await super().start_kernel(**{**kw, "env": dict(environment)})

    return KernelInEnvironment


EXECUTORS = ("local", "dask")


def _worker_threads() -> int:
    """Threads per run where the sweep did not fix them (a remote Dask cluster): this machine's
    cores shared among the Dask worker's task slots, or all of them outside a worker."""
    slots = 1
    try:
        from distributed import get_worker

        worker = get_worker()
        slots = getattr(getattr(worker, "state", worker), "nthreads", 1) or 1
    except (ImportError, ValueError):  # not a Dask worker
        pass
    return max(1, (os.cpu_count() or 1) // slots)


def run_sweep(specs: list[RunSpec], settings: SweepSettings, jobs: int = 1, log=print,  # noqa: ANN001
              executor: str = "local", scheduler: str | None = None) -> list[dict[str, Any]]:
    """Execute every run (finished ones are skipped), ``jobs`` at a time, then write the table
    and figures. Returns one record per run: its result, or what made it fail.

    ``executor``: "local" (this machine: in turn, or a process pool of ``jobs``) or "dask" (Dask
    tasks on the cluster at ``scheduler``, or on a LocalCluster of ``jobs`` workers when None).
    Each run is the same call of ``execute_run`` either way, so skipping, resuming and failures
    behave the same."""
    if executor not in EXECUTORS:
        raise GencoreError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}.")
    check_parameters(specs, settings)
    Path(settings.results_dir).mkdir(parents=True, exist_ok=True)
    sweep_lock = FolderLock(Path(settings.results_dir), "swept",
                            "wait for that sweep to finish or stop it (run again, it continues), or choose another --out.")
    sweep_lock.acquire(wait=0)  # never two sweeps on one folder
    try:
        return _run_and_report(specs, settings, jobs, log, executor, scheduler)
    finally:
        sweep_lock.release()


def _run_and_report(specs: list[RunSpec], settings: SweepSettings, jobs: int, log, executor: str,  # noqa: ANN001
                    scheduler: str | None) -> list[dict[str, Any]]:
    if settings.threads is None and not (executor == "dask" and scheduler):
        # Runs at once share this machine's cores, the same way for every executor (a remote
        # cluster's workers share their own: execute_run).
        settings = SweepSettings(**{**asdict(settings), "threads": max(1, (os.cpu_count() or 1) // jobs)})
    results: list[dict[str, Any]] = []

    def report(result: dict[str, Any]) -> None:
        results.append(result)
        log(f"[{len(results)}/{len(specs)}] {_one_line(result)}")

    if executor == "dask":
        for result in _dask_results(specs, settings, jobs, scheduler):
            report(result)
    elif jobs <= 1:
        for index, spec in enumerate(specs, 1):
            log(f"[{index}/{len(specs)}] {spec.name} ...")
            report(execute_run(spec, settings))
    else:
        import multiprocessing

        # spawn: fresh workers, nothing inherited from a parent that already started torch's threads
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in as_completed([pool.submit(execute_run, spec, settings) for spec in specs]):
                report(future.result())
    rows = collect(settings.results_dir)
    write_table(settings.results_dir, rows)
    write_grids(settings.results_dir, rows, dpi=100)
    failed = [r for r in results if r.get("status") == "failed"]
    if failed:
        log(f"{len(failed)} run(s) failed; see failed.json and notebook.ipynb in their folders. Run the sweep again to retry them.")
    return results


def _dask_results(specs: list[RunSpec], settings: SweepSettings, jobs: int, scheduler: str | None):  # noqa: ANN202
    """Each run as a Dask task (pure=False: a rerun really reruns), yielded as they finish. Without
    a scheduler address, a LocalCluster of ``jobs`` single-threaded worker processes."""
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as completed
    except ImportError:
        raise GencoreError("--executor dask needs dask and distributed: pip install 'dask[distributed]'.") from None
    cluster = None if scheduler else LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                                   dashboard_address=None)
    try:
        with Client(scheduler or cluster) as client:
            # pure=False: a rerun really reruns. Dask reschedules a run whose worker died (up to its
            # allowed-failures) and retries one that raised; either way execute_run resumes the checkpoint.
            futures = client.map(execute_run, specs, settings=settings, pure=False, retries=TASK_RETRIES)
            for _future, result in completed(futures, with_results=True):
                yield result
    except OSError as error:  # no scheduler at that address
        raise GencoreError(f"cannot reach the Dask scheduler {scheduler} ({error}): check the address, or leave "
                           "--scheduler out to run a local cluster.") from None
    finally:
        if cluster is not None:
            cluster.close()


def _one_line(result: dict[str, Any]) -> str:
    if result.get("status") == "failed":
        return f"{result['name']}: FAILED ({result['error']})"
    verb = "already done" if result.get("skipped") else f"done in {result.get('wall_seconds', 0):.0f} s"
    return f"{result['name']}: {verb}, fd {result.get('fd', float('nan')):.3g}, classes {result.get('classes_covered')}"


def write_result(path: str | os.PathLike, trainer: Any, quality: dict[str, Any]) -> None:
    """What a notebook leaves for the sweep: its parameters, timing and quality numbers."""
    from gencore.runs.start import run_name

    config = trainer.config
    info = json.loads((trainer.run_dir / "run.json").read_text()) if trainer.run_dir else {}
    save_thumbnail(trainer.models, config, Path(path).parent / "thumbnail.png")
    row = {
        "model": config.model, "dataset": config.dataset, "latent_dim": config.latent_dim, "epochs": config.epochs,
        "width": config.width, "lr": config.lr, "batch_size": config.batch_size,
        "precision": info.get("precision", config.precision), "run": run_name(config),
        "seed": config.seed, "subset": config.subset, "run_dir": str(trainer.run_dir), "run_name": run_name(config),
        "status": info.get("status", "finished"), "epochs_done": trainer.epoch,
        "train_seconds": info.get("seconds"), "images_per_s": info.get("images_per_s"), "device": info.get("device"),
        "torch": info.get("torch"), "threads": info.get("threads"), "cpu": info.get("cpu"),
        **({"resumed_from": info["resumed_from"]} if info.get("resumed_from") else {}),
        **{k: v for k, v in quality.items() if k not in ("model", "dataset", "latent_dim")},
    }
    write_json(Path(path), row)


def comparison_markdown(rows: list[dict[str, Any]], model: str, dataset: str) -> str:
    """The seed's comparison as a table: rows latent size, columns epochs, cells the run's
    numbers (mean over seeds when there are several)."""
    chosen = [r for r in rows if r["model"] == model and r["dataset"] == dataset]
    if not chosen:
        return (f"*No {model} runs on {dataset} yet.* Make them with `python -m gencore sweep --model {model} "
                f"--dataset {dataset} --latent-dims {' '.join(map(str, get_dataset(dataset).seed_latents))} --epochs 20 100`.")
    latents = sorted({r["latent_dim"] for r in chosen})
    epochs = sorted({r["epochs"] for r in chosen})
    lines = ["| latent \\ epochs | " + " | ".join(str(e) for e in epochs) + " |", "|---|" + "---|" * len(epochs)]
    for latent in latents:
        cells = []
        for epoch in epochs:
            group = [r for r in chosen if r["latent_dim"] == latent and r["epochs"] == epoch]
            if not group:
                cells.append("")
                continue
            mean = lambda key: sum(r[key] for r in group) / len(group)  # noqa: E731
            text = f"fd {mean('fd'):.3g}, {mean('classes_covered'):.3g} classes"
            if group[0].get("bits_per_dim") is not None:
                text += f", {mean('bits_per_dim'):.3f} bits/dim"
            minutes = mean("train_seconds") / 60 if all(r.get("train_seconds") for r in group) else None
            text += f", {minutes:.1f} min" if minutes is not None else ""
            cells.append(text + (f" ({len(group)} seeds)" if len(group) > 1 else ""))
        lines.append(f"| {latent} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """NAME=VALUE strings (numbers become numbers) for extra notebook parameters."""
    parameters = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise GencoreError(f"--param wants NAME=VALUE, got {pair!r}.")
        try:
            parameters[name] = json.loads(value)
        except ValueError:
            parameters[name] = value
    return parameters


__all__ = ["DATASETS", "MODELS", "RunSpec", "SweepSettings", "plan", "execute_run", "run_sweep", "write_result",
           "comparison_markdown", "parse_parameters", "read_table"]
