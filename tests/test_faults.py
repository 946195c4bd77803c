"""Faults real machines send: a full disk, two writers on one run, a shared course server's umask."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from gencore.__main__ import main
from gencore.engine.config import TrainConfig
from gencore.engine.errors import RunLockedError
from gencore.runs.checkpoint import load_checkpoint
from gencore.runs.start import start_run

TINY = ["--latent-dim", "8", "--batch-size", "32", "--width", "8", "--subset", "256", "--no-progress"]


def test_a_full_disk_is_one_line_keeps_the_last_checkpoint_and_leaves_no_temporary_file(
        fixture_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    args = ["train", "--model", "gan", "--dataset", "mnist", *TINY, "--data-root", str(fixture_root), "--out", str(run)]
    assert main([*args, "--epochs", "1"]) == 0
    before = load_checkpoint(run)
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:  # the disk fills up while the next checkpoint is written
        if ".checkpoint.pt." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr("gencore.engine.files.os.fsync", full_disk)
    capsys.readouterr()
    assert main([*args[:-2], "--out", str(run), "--epochs", "2", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "no space left on device" in err and str(run / "checkpoint.pt") in err and "--resume" in err
    monkeypatch.setattr("gencore.engine.files.os.fsync", real_fsync)
    after = load_checkpoint(run)
    assert after["epoch"] == before["epoch"] == 1 and after["history"] == before["history"]
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    assert json.loads((run / "run.json").read_text())["status"] == "failed"  # run.json could still be written


def _config(root: Path, **changes) -> TrainConfig:  # noqa: ANN003
    settings = dict(model="vae", dataset="mnist", latent_dim=4, epochs=1, batch_size=32, width=8, subset=256,
                    data_root=str(root), device="cpu", eval_every=0)
    return TrainConfig(**{**settings, **changes})


def test_a_second_writer_is_refused_naming_the_holder_and_readers_are_not(fixture_root: Path, tmp_path: Path) -> None:
    first = start_run(_config(fixture_root), tmp_path, progress=False)
    with pytest.raises(RunLockedError, match=rf"{tmp_path} is being written by pid={os.getpid()} host=\S+ \(another trainer"):
        start_run(_config(fixture_root), tmp_path, resume=True, progress=False)
    first.fit()  # the lock is released at the end of fit
    assert main(["sample", str(tmp_path), "--n", "4", "--out", str(tmp_path / "s.pt")]) == 0
    second = start_run(_config(fixture_root, epochs=2), tmp_path, resume=True, progress=False)
    assert second.fit().status == "finished"


def test_a_lock_left_by_a_killed_process_does_not_block(fixture_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "gencore", "train", "--model", "gan", "--dataset", "mnist",
                                "--latent-dim", "16", "--epochs", "50", "--batch-size", "32", "--width", "16",
                                "--subset", "1024", "--no-progress", "--data-root", str(fixture_root), "--out", str(run)],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not (run / "checkpoint.pt").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    with pytest.raises(RunLockedError, match=rf"pid={process.pid}"):  # alive: it holds the run
        start_run(_config(fixture_root, model="gan", latent_dim=16, epochs=50, width=16, subset=1024, eval_every=5),
                run, resume=True, progress=False)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = start_run(_config(fixture_root, model="gan", latent_dim=16, epochs=50, width=16, subset=1024, eval_every=5),
                      run, resume=True, progress=False)
    assert resumed.epoch >= 1


def test_files_and_folders_follow_the_umask(fixture_root: Path, tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        start_run(_config(fixture_root, latent_dim=2), tmp_path / "runs" / "run", progress=False).fit()
    finally:
        os.umask(previous)
    run = tmp_path / "runs" / "run"
    assert stat.S_IMODE(run.stat().st_mode) == 0o750
    for name in ("checkpoint.pt", "config.json", "run.json", "history.csv", "samples.png", "losses.png"):
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o640, name
