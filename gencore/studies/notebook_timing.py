"""One learner's run of each course notebook, measured: papermill's seconds per cell, what each cell printed, the
CPU, the load and the command, one file per run in docs/timing/. The instructors' guide quotes the time per section
and the solutions guide the printed numbers with their range over the runs (tests/test_timing.py renders both blocks
from the files). Run it alone on the machine, as the kit's other timings are (two torch processes on two cores slow
each other far more than twice)::

    python -m gencore.studies.notebook_timing --data-root ../shared/data            # every notebook, in reading order
    python -m gencore.studies.notebook_timing --data-root ../shared/data --seed 1   # again, at another seed
    python -m gencore.studies.notebook_timing --data-root ../shared/data 09_diffusion --out /tmp/09.json  # one
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import papermill

from gencore.engine.paths import NOTEBOOKS, REPO
from gencore.engine.runtime import cpu_family_model, cpu_flags, cpu_model

TIMING_DIR = REPO / "docs" / "timing"
HOW = ("each notebook alone, in reading order, with papermill at its default parameters; only data_root and runs_dir "
       "set where the notebook has them (one fresh runs folder for all), and seed in a run at another seed than 0; "
       "GENCORE_DATA set; seconds are papermill's "
       "per-cell durations summed per section (a section starts at a markdown cell whose first line starts with '## ')")


def cpu_record() -> dict[str, Any]:
    """What lscpu names: the model, family and number, and the vector extensions oneDNN picks kernels by."""
    ids, flags = cpu_family_model() or {}, cpu_flags()
    return {"model_name": cpu_model(), "cpu_family": int(ids.get("cpu family", -1)), "model": int(ids.get("model", -1)),
            "cores": os.cpu_count(), "avx512": sorted(f for f in flags if f.startswith("avx512")),
            "avx2": "avx2" in flags, "amx": sorted(f for f in flags if f.startswith("amx"))}


def other_processes() -> list[str]:
    """Python processes other than this one (a test run beside the measurement would slow it)."""
    listing = subprocess.run(["ps", "-eo", "pid=,etime=,args="], capture_output=True, text=True).stdout
    mine = {str(os.getpid()), str(os.getppid())}
    return [line.strip()[:160] for line in listing.splitlines()
            if "python" in line and line.split()[0] not in mine and "notebook_timing" not in line]


def _sections(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """Each code cell's seconds, status, first source line and printed text, under the section it belongs to."""
    section, cells = "start", []
    for index, cell in enumerate(notebook.cells):
        first = cell.source.splitlines()[0] if cell.source.strip() else ""
        if cell.cell_type == "markdown" and first.startswith("## "):
            section = first.removeprefix("## ").strip()
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("papermill", {})
        outputs = cell.get("outputs", [])
        cells.append({
            "index": index, "section": section, "seconds": meta.get("duration"), "source_first_line": first,
            "stdout": "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout"),
            "errors": [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"],
            "status": meta.get("status")})
    return cells


def measure_notebook(stem: str, data_root: str, runs_dir: Path, out_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Run one notebook with papermill at its defaults (data_root and runs_dir where it takes them; seed too where
    it takes one and ``seed`` is not its default 0)."""
    source = NOTEBOOKS / f"{stem}.ipynb"
    wanted = {"data_root": data_root, "runs_dir": str(runs_dir), **({"seed": str(seed)} if seed else {})}
    parameters = {name: value for name, value in wanted.items() if name in papermill.inspect_notebook(str(source))}
    output = out_dir / f"{stem[:2]}.ipynb"
    args = [f"{stem}.ipynb", str(output), "-k", "python3", "--cwd", str(NOTEBOOKS), "--no-progress-bar",
            *[part for name, value in parameters.items() for part in ("-p", name, value)]]
    load_before, before = list(os.getloadavg()), other_processes()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "papermill", *args], cwd=NOTEBOOKS,
                          env={**os.environ, "GENCORE_DATA": data_root})
    wall = time.perf_counter() - start
    cells = _sections(nbformat.read(output, as_version=4)) if output.exists() else []
    sections: dict[str, float] = {}
    for cell in cells:
        sections[cell["section"]] = sections.get(cell["section"], 0.0) + (cell["seconds"] or 0.0)
    return {"command": "papermill " + " ".join(args), "returncode": done.returncode, "load_before": load_before,
            "load_after": list(os.getloadavg()), "other_processes_at_start": before, "wall_seconds": round(wall, 1),
            "papermill_seconds": round(sum(c["seconds"] or 0.0 for c in cells), 1),
            "sections": [{"section": name, "seconds": round(seconds, 1)} for name, seconds in sections.items()],
            "cells": cells}


def run_file(record: dict[str, Any]) -> Path:
    """Where a run is kept: docs/timing/<date>-family<F>-model<M>-seed<S>.json (one machine, day and seed a file)."""
    cpu = record["cpu"]
    return TIMING_DIR / f"{record['date']}-family{cpu['cpu_family']}-model{cpu['model']}-seed{record['seed']}.json"


def read_runs() -> list[dict[str, Any]]:
    """Every shipped run, oldest first, each with its ``file`` name (a run from before seeds were recorded ran at 0)."""
    return [{"seed": 0, **json.loads(path.read_text()), "file": path.name} for path in sorted(TIMING_DIR.glob("*.json"))]


def measure(stems: list[str], data_root: str, file: Path | None = None,
            executed: Path | None = None, seed: int = 0) -> dict[str, Any]:
    """Measure ``stems`` in the order given and write ``file`` (default: ``run_file``) with them alone: one file, one
    machine, day and seed (the guides list every notebook no run has as not measured yet). ``executed``: a folder to
    keep the executed notebooks in, to look at their figures."""
    import torch

    notebooks: dict[str, Any] = {}
    record = {"date": datetime.date.today().isoformat(), "cpu": cpu_record(), "torch": torch.__version__,
              "python": platform.python_version(), "gpu": torch.cuda.is_available(),
              "threads": torch.get_num_threads(), "seed": seed, "how": HOW, "notebooks": notebooks}
    with tempfile.TemporaryDirectory(prefix="timing-") as folder:
        runs, out = Path(folder) / "runs", executed or Path(folder) / "out"
        runs.mkdir()
        out.mkdir(parents=True, exist_ok=True)
        for stem in stems:
            print(f"{stem} ...", flush=True)
            notebooks[stem] = entry = measure_notebook(stem, data_root, runs, out, seed)
            print(f"{stem}: {entry['papermill_seconds']:.0f} s, exit {entry['returncode']}", flush=True)
    file = file or run_file(record)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stems", nargs="*", help="notebooks to measure (default: every one, in reading order)")
    parser.add_argument("--data-root", required=True, help="the folder holding MNIST and CIFAR-10")
    parser.add_argument("--out", type=Path, help="the file to write (default: docs/timing/<date>-family<F>-model<M>-"
                                                 "seed<S>.json)")
    parser.add_argument("--executed", type=Path, help="keep the executed notebooks in this folder")
    parser.add_argument("--seed", type=int, default=0,
                        help="the seed parameter of every notebook that takes one (default: each notebook's own 0)")
    args = parser.parse_args(argv)
    stems = args.stems or sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    measure(stems, str(Path(args.data_root).resolve()), args.out, args.executed, args.seed)


if __name__ == "__main__":
    main()
