"""Nothing is lost: resume after SIGKILL, Ctrl-C, Stop and the time budget; safe loading;
NaN losses; fuzzed configurations and command lines."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, ctrl_c_as_in_a_terminal, folder_digest
from gencore.__main__ import main
from gencore.engine.config import TrainConfig
from gencore.engine.errors import CheckpointError, GencoreError, NonFiniteLossError
from gencore.engine.files import atomic_write
from gencore.engine.loop import LOG_EVERY, Trainer
from gencore.runs.checkpoint import load_checkpoint, load_run
from gencore.runs.start import run_name, start_run

# An epoch of about two seconds on two cores: long enough to be killed in the middle of.
SLOW = ["--model", "gan", "--dataset", "mnist", "--latent-dim", "16", "--epochs", "3", "--batch-size", "32",
        "--width", "24", "--subset", "1600", "--seed", "7", "--no-progress"]


def _train_process(root: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gencore", "train", *SLOW, "--data-root", str(root), "--out", str(out), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_as_in_a_terminal)


def _epochs_saved(run: Path) -> int:
    try:
        return len(list(csv.DictReader((run / "history.csv").open())))
    except FileNotFoundError:
        return 0


def _wait_for_epoch(process: subprocess.Popen, run: Path, epochs: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while _epochs_saved(run) < epochs:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "training did not reach the epoch in time"
        time.sleep(0.02)


def _into_epoch_2(run: Path) -> None:
    """Sleep about a third of epoch 1's measured time, so that a signal sent now lands inside epoch
    2 on any CPU (an epoch takes about 2 s on a 2-core AMD EPYC, several times less with AMX)."""
    deadline = time.monotonic() + 30
    while True:  # history.csv is written just before run.json: wait for the epoch's time to be there
        try:
            first_epoch = json.loads((run / "run.json").read_text())["epoch_seconds"][0]
            break
        except (OSError, ValueError, KeyError, IndexError):
            assert time.monotonic() < deadline, "run.json never recorded epoch 1"
            time.sleep(0.01)
    time.sleep(first_epoch / 3)


def _assert_same_run(a: Path, b: Path) -> None:
    state_a, state_b = load_checkpoint(a), load_checkpoint(b)
    assert state_a["history"] == state_b["history"]
    assert state_a["epoch"] == state_b["epoch"] == 3
    for role in state_a["models"]:
        for name, tensor in state_a["models"][role].items():
            assert torch.equal(tensor, state_b["models"][role][name]), f"{role}.{name}"
    assert (a / "history.csv").read_text() == (b / "history.csv").read_text()


@pytest.fixture(scope="module")
def reference_run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 3-epoch run, uninterrupted."""
    out = tmp_path_factory.mktemp("reference") / "run"
    process = _train_process(data_root, out)
    assert process.wait(timeout=600) == 0, process.communicate()
    return out


def test_sigkill_during_epoch_2_then_resume_matches_the_uninterrupted_run(reference_run: Path, data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = _train_process(data_root, run)
    _wait_for_epoch(process, run, 1)
    _into_epoch_2(run)
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = load_checkpoint(run)
    assert state["epoch"] == 1, "the kill should land in epoch 2; epochs ran faster than expected"
    resumed = _train_process(data_root, run, "--resume")
    assert resumed.wait(timeout=600) == 0, resumed.communicate()
    _assert_same_run(reference_run, run)


def test_ctrl_c_finishes_the_step_saves_and_resumes_exactly(reference_run: Path, data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = _train_process(data_root, run)
    _wait_for_epoch(process, run, 1)
    _into_epoch_2(run)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "stopped: 1/3 epochs" in out and "Traceback" not in err
    state = load_checkpoint(run)
    assert state["epoch"] == 1 and state["step_in_epoch"] > 0  # saved in the middle of epoch 2
    assert json.loads((run / "run.json").read_text())["status"] == "stopped"
    assert (run / "samples.png").exists()
    resumed = _train_process(data_root, run, "--resume")
    assert resumed.wait(timeout=600) == 0, resumed.communicate()
    _assert_same_run(reference_run, run)


def tiny(root: Path, **overrides) -> TrainConfig:  # noqa: ANN003
    settings_ = dict(model="wgan-gp", dataset="mnist", latent_dim=8, epochs=2, batch_size=16, width=8,
                     subset=2 * LOG_EVERY * 16, data_root=str(root), device="cpu", n_critic=3)
    settings_.update(overrides)
    return TrainConfig(**settings_)


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {f"{role}.{k}": v.clone() for role, m in trainer.models.items() for k, v in m.state_dict().items()}


def test_stop_button_returns_partial_history_and_resume_is_exact(fixture_root: Path, tmp_path: Path) -> None:
    whole = start_run(tiny(fixture_root), progress=False)
    whole.fit()
    stopped = start_run(tiny(fixture_root), tmp_path, progress=False)
    stopped.add_callback("on_step", lambda t: t.request_stop() if t.epoch == 1 else None)  # Stop in epoch 2
    result = stopped.fit()
    assert result.status == "stopped" and result.epochs_done == 1 and len(result.history) == 1
    assert load_checkpoint(tmp_path)["step_in_epoch"] == LOG_EVERY
    resumed = start_run(tiny(fixture_root), tmp_path, resume=True, progress=False)
    assert resumed.fit().status == "finished"
    assert resumed.history == whole.history
    assert all(torch.equal(a, b) for a, b in zip(_weights(whole).values(), _weights(resumed).values()))
    # The within-epoch curves (a point every LOG_EVERY steps) survive the stop and resume too.
    assert [row["epoch"] for row in whole.trace] == [0.5, 1.0, 1.5, 2.0]
    assert resumed.trace == whole.trace


def test_time_budget_stops_cleanly_with_everything_saved(fixture_root: Path, tmp_path: Path) -> None:
    result = start_run(tiny(fixture_root, time_budget=1e-6), tmp_path, progress=False).fit()
    assert result.status == "time budget" and result.epochs_done == 0
    assert load_checkpoint(tmp_path)["step_in_epoch"] == 1
    assert {"samples.png", "real_vs_generated.png", "run.json"} <= {p.name for p in tmp_path.iterdir()}


def test_a_nan_stops_training_with_a_clear_message_and_keeps_the_last_finite_checkpoint(fixture_root: Path, tmp_path: Path) -> None:
    trainer = start_run(tiny(fixture_root, model="vae", epochs=3), tmp_path, progress=False)

    def poison(t: Trainer) -> None:  # after epoch 1 is saved, a weight becomes NaN
        with torch.no_grad():
            next(t.models["vae"].parameters()).view(-1)[0] = float("nan")

    trainer.add_callback("on_epoch_end", poison)
    with pytest.raises(NonFiniteLossError, match=r"train_kl became nan at step 4\d.*last finite checkpoint is kept.*lower --lr"):
        trainer.fit()
    state = load_checkpoint(tmp_path)
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["models"]["vae"].values())
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "failed"


def test_a_crafted_checkpoint_cannot_run_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):  # noqa: ANN204
            return (Path.touch, (marker,))

    run = tmp_path / "run"
    run.mkdir()
    torch.save({"format": 1, "config": TrainConfig().to_dict(), "models": Exploit()}, run / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_run(run)
    assert main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "s.pt")]) == 2
    assert "refusing to load" in capsys.readouterr().err
    assert not marker.exists()


def test_a_damaged_checkpoint_gives_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match="damaged or not a checkpoint"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "elsewhere")


def test_a_checkpoint_from_another_configuration_names_the_field(fixture_root: Path, tmp_path: Path) -> None:
    start_run(tiny(fixture_root, epochs=1), tmp_path, progress=False).fit()
    for change, field in (({"dataset": "cifar10"}, "dataset"), ({"model": "gan"}, "model"), ({"seed": 3}, "seed")):
        with pytest.raises(CheckpointError, match=f"{field}: .* wanted, checkpoint has"):
            start_run(tiny(fixture_root, epochs=1, **change), tmp_path, resume=True, progress=False)


def test_the_critic_norm_is_part_of_the_architecture_and_old_configurations_mean_none(fixture_root: Path,
                                                                                       tmp_path: Path) -> None:
    start_run(tiny(fixture_root, epochs=1), tmp_path, progress=False).fit()
    with pytest.raises(CheckpointError, match="critic_norm: 'layer' wanted, checkpoint has 'none'"):
        start_run(tiny(fixture_root, epochs=1, critic_norm="layer"), tmp_path, resume=True, progress=False)
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["critic_norm"]  # a run saved before the field existed
    assert TrainConfig.from_dict(saved).critic_norm == "none"
    assert run_name(TrainConfig(model="wgan-gp", dataset="cifar10", latent_dim=512, epochs=100)) == \
        "wgan-gp-cifar10-z512-e100-s0-436452f8"  # the seed's critic keeps the name its runs had before the field
    with pytest.raises(GencoreError, match="unknown critic_norm 'batch'"):
        TrainConfig(model="wgan-gp", critic_norm="batch")  # batch norm would couple the per-sample penalty


def test_an_interrupted_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_text("old")

    def half_then_crash(stream) -> None:  # noqa: ANN001
        stream.write("new, but only ha")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_then_crash, binary=False)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
                     st.text(max_size=12), st.lists(st.integers(), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["model", "dataset", "latent_dim", "epochs", "batch_size", "lr", "betas", "width",
                                        "n_critic", "gp_weight", "critic_norm", "subset", "seed", "device", "time_budget",
                                        "data_root"]),
                       ANYTHING, max_size=6))
def test_fuzzed_configurations_are_valid_or_a_clear_error(values: dict) -> None:
    try:
        config = TrainConfig(**values)
    except GencoreError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert 1 <= config.latent_dim <= 4096 and config.epochs >= 1 and config.lr > 0 and config.batch_size >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["--latent-dim", "--epochs", "--batch-size", "--lr", "--subset", "--seed", "--width",
                                 "--n-critic", "--gp-weight", "--critic-norm", "--device", "--time-budget", "--model",
                                 "--dataset"]),
                min_size=1, max_size=4),
       st.lists(st.text(alphabet="0123456789-.eEnaxcpu:", min_size=1, max_size=6), min_size=4, max_size=4))
def test_fuzzed_command_lines_never_touch_an_existing_run(existing_run: tuple[Path, dict], flags: list[str], values: list[str]) -> None:
    run, digest = existing_run
    args = ["train", "--model", "vae", "--dataset", "mnist", "--latent-dim", "8", "--epochs", "1", "--data-root",
            "/no/such/root", "--out", str(run), "--no-progress"] + [f"{f}={v}" for f, v in zip(flags, values)]
    assert main(args) == 2  # a bad value, the missing root, or the existing run: never a traceback
    assert folder_digest(run) == digest



@pytest.fixture(scope="module")
def existing_run(fixture_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("existing") / "run"
    start_run(tiny(fixture_root, model="vae", epochs=1, subset=64), run, progress=False).fit()
    return run, folder_digest(run)


def test_the_largest_seed_is_kept_exactly() -> None:
    assert TrainConfig(seed=2**63 - 1).seed == 2**63 - 1
    assert TrainConfig(seed="9223372036854775807").seed == 2**63 - 1
    assert TrainConfig(latent_dim="1e2").latent_dim == 100


def test_sigterm_during_epoch_2_stops_cleanly_and_resume_matches_the_uninterrupted_run(
        reference_run: Path, data_root: Path, tmp_path: Path) -> None:
    """What Jupyter's kernel shutdown, Slurm's preemption and docker stop send (SIGHUP: a closed terminal)."""
    run = tmp_path / "run"
    process = _train_process(data_root, run)
    _wait_for_epoch(process, run, 1)
    _into_epoch_2(run)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "SIGTERM: stopping after this step" in out and "stopped: 1/3 epochs" in out and "Traceback" not in err
    state = load_checkpoint(run)
    assert state["epoch"] == 1 and state["step_in_epoch"] > 0  # the partial epoch is saved
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "stopped" and info["stopped_by"] == "SIGTERM"
    assert (run / "samples.png").exists() and (run / "losses.png").exists()
    resumed = _train_process(data_root, run, "--resume")
    assert resumed.wait(timeout=600) == 0, resumed.communicate()
    _assert_same_run(reference_run, run)
