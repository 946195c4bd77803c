"""Faults a cluster sends to a distributed sweep, and a notebook kernel that dies mid-training.

Each fault is made for real: a Dask worker process SIGKILLed while its run trains, the sweep's
client interrupted with Ctrl-C, a second sweep started on the same folder, a notebook kernel
killed as JupyterLab's restart does. Kills are triggered by what is on disk (a checkpoint, a lock's
holder), never by a sleep, so they land mid-run on a slow laptop and on a fast Xeon alike.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ACROSS_KERNELS, REPO, ctrl_c_as_in_a_terminal
from gencore.engine.files import read_json
from gencore.runs.lock import FolderLock
from gencore.studies.results import read_table

pytestmark = pytest.mark.slow

# 20 short epochs: a kill after the first checkpoint lands with most of the run still to do.
LONG = ["--model", "vae", "--dataset", "mnist", "--epochs", "20", "--subset", "2000", "--eval-samples", "200"]


def _sweep_process(out: Path, data_root: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gencore", "sweep", *LONG, "--data-root", str(data_root), "--out", str(out),
                             *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_as_in_a_terminal)


def _wait(condition, process: subprocess.Popen, what: str, timeout: float = 600) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, (what, process.communicate())
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _run_info(run_dir: Path) -> dict:
    return read_json(run_dir / "run.json")  # {} while the run is starting


def _training(runs: Path) -> Path | None:
    """The run directory that has saved an epoch and is still training, if any."""
    for run_dir in runs.glob("*"):
        info = _run_info(run_dir)
        if info.get("status") == "running" and info.get("epochs_done", 0) >= 1:
            return run_dir
    return None


def _holder_pid(folder: Path) -> int:
    holder = FolderLock(folder).holder()
    assert holder is not None, f"nobody holds {folder}"
    return int(holder.split()[0].removeprefix("pid="))


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.fixture
def quality_env(classifier_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENCORE_CLASSIFIERS", str(classifier_cache))


def test_a_worker_killed_mid_run_is_retried_and_resumes_from_its_checkpoint(quality_env: None, data_root: Path,
                                                                           tmp_path: Path) -> None:
    out = tmp_path / "results"
    sweep = _sweep_process(out, data_root, "--latent-dims", "2", "--executor", "dask", "--jobs", "2")
    _wait(lambda: _training(out / "runs") is not None, sweep, "the run's first checkpoint")
    run_dir = _training(out / "runs")
    kernel = _holder_pid(run_dir)  # the notebook kernel writes the run; its parent is the Dask worker process
    worker = _parent(kernel)
    assert worker not in (sweep.pid, os.getpid())  # a worker process of the sweep's LocalCluster, not the client
    os.kill(worker, signal.SIGKILL)
    killed_at = _run_info(run_dir)["epochs_done"]
    stdout, stderr = sweep.communicate(timeout=900)
    assert sweep.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert killed_at < 20, "the run finished before the kill: nothing was tested"
    info = _run_info(run_dir)
    assert info["status"] == "finished" and info["epochs_done"] == 20
    (resumed,) = info["resumed_from"]  # retried once, from the checkpoint, not from scratch
    assert 1 <= resumed["epoch"] <= 20
    (row,) = read_table(out)  # one row, whole
    assert row["status"] == "finished" and row["epochs"] == 20 and row["fd"] > 0
    assert not list(out.glob("*/failed.json"))


def test_an_interrupted_sweep_run_again_skips_finished_runs_and_resumes_the_unfinished_one(
        quality_env: None, data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    grid = ("--latent-dims", "2", "8", "--executor", "dask", "--jobs", "1")  # one worker: the runs go one after the other
    sweep = _sweep_process(out, data_root, *grid)
    _wait(lambda: len(list(out.glob("*/result.json"))) == 1 and _training(out / "runs") is not None, sweep,
          "one finished run and one in training")
    unfinished = _training(out / "runs")
    sweep.send_signal(signal.SIGINT)  # Ctrl-C in the terminal that runs the sweep
    stdout, stderr = sweep.communicate(timeout=300)
    assert sweep.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert "run the same sweep command again" in stderr and "Traceback" not in stderr, stderr[-3000:]
    assert _run_info(unfinished)["status"] != "finished", "the run finished before the interrupt: nothing was tested"
    again = _sweep_process(out, data_root, *grid)
    stdout, stderr = again.communicate(timeout=900)
    assert again.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert stdout.count("already done") == 1, stdout
    info = _run_info(unfinished)
    assert info["status"] == "finished" and info["resumed_from"][0]["epoch"] >= 1
    rows = read_table(out)
    assert len(rows) == 2 and {r["latent_dim"] for r in rows} == {2, 8} and all(r["status"] == "finished" for r in rows)


def test_a_second_sweep_on_the_same_folder_is_refused_naming_the_first(quality_env: None, data_root: Path,
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "results"
    first = _sweep_process(out, data_root, "--latent-dims", "2")
    try:
        _wait(lambda: FolderLock(out).holder() is not None, first, "the first sweep's lock")
        second = subprocess.run([sys.executable, "-m", "gencore", "sweep", *LONG, "--latent-dims", "2", "--data-root",
                                 str(data_root), "--out", str(out)], capture_output=True, text=True, cwd=REPO, timeout=300)
        assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
        assert f"is being swept by pid={first.pid} " in second.stderr and "choose another --out" in second.stderr
        assert first.poll() is None  # the first goes on, untouched
    finally:
        first.kill()
        first.wait()


def test_a_notebook_whose_kernel_dies_mid_training_resumes_when_run_again(fixture_root: Path, tmp_path: Path) -> None:
    """A kernel killed during epoch 3 of 4 (as JupyterLab's restart does): the run keeps its
    checkpoint; the panel says it can resume; running the cell again in a new kernel resumes it
    and ends with the numbers of an uninterrupted run."""
    from jupyter_client.manager import start_new_kernel

    from gencore.course.widgets import TrainingPanel
    from gencore.engine.config import TrainConfig
    from gencore.runs.start import run_name, start_run

    settings = dict(model="gan", dataset="mnist", latent_dim=8, epochs=4, batch_size=32, width=8, subset=256,
                    data_root=str(fixture_root), device="cpu", eval_every=0)
    runs = tmp_path / "runs"
    cell = ("from gencore.engine.config import TrainConfig\nfrom gencore.runs.start import train_or_load\n"
            f"config = TrainConfig(**{settings!r})\n")
    # The first session stalls after saving epoch 2 (built-in callbacks, the checkpoint among them, run first).
    stall = "import time\nhold = {'on_epoch_end': [lambda t: time.sleep(600) if t.epoch == 2 else None]}\n"
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO))
    try:
        client.execute(cell + stall + f"train_or_load(config, {str(runs)!r}, progress=False, callbacks=hold)")
        run_dir = runs / run_name(TrainConfig(**settings))
        deadline = time.monotonic() + 300
        while _run_info(run_dir).get("epochs_done") != 2:
            assert time.monotonic() < deadline, "the kernel never saved epoch 2"
            time.sleep(0.05)
        os.kill(manager.provisioner.process.pid, signal.SIGKILL)  # the kernel dies mid-training
        manager.provisioner.process.wait()
    finally:
        client.stop_channels()
        manager.cleanup_resources()
    panel = TrainingPanel(TrainConfig(**settings), runs)
    assert f"Found the unfinished run {run_dir.name}: 2 of 4 epochs saved" in panel.status.value, panel.status.value
    assert "resume it from its last checkpoint" in panel.status.value

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO))
    try:
        printed: list[str] = []
        keep = lambda message: printed.append(message["content"].get("text", ""))  # noqa: E731 - the cell's output
        reply = client.execute_interactive(cell + f"train_or_load(config, {str(runs)!r}, progress=False)", timeout=300,
                                           output_hook=keep)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "Resuming the unfinished run in" in "".join(printed) and "2 of 4 epochs done" in "".join(printed), printed
    info = _run_info(run_dir)
    assert info["status"] == "finished" and info["resumed_from"] == [{"epoch": 2, "step_in_epoch": 0}]
    uninterrupted = start_run(TrainConfig(**settings), progress=False)
    uninterrupted.fit()
    resumed = json.loads((run_dir / "run.json").read_text())
    assert resumed["epochs_done"] == 4
    from gencore.runs.checkpoint import load_checkpoint

    history = load_checkpoint(run_dir)["history"]
    assert len(history) == len(uninterrupted.history) == 4
    for row, expected in zip(history, uninterrupted.history):
        assert row == pytest.approx(expected, **ACROSS_KERNELS)  # another process, maybe other threads: within tolerance
