"""The training panel, driven through its button callbacks as a learner would click them."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gencore.course.widgets import TrainingPanel
from gencore.engine.config import TrainConfig


def panel(root: Path, runs: Path, **overrides) -> TrainingPanel:  # noqa: ANN003
    settings = dict(model="gan", dataset="mnist", latent_dim=8, epochs=1, batch_size=32, width=8, subset=256,
                    data_root=str(root), device="cpu")
    settings.update(overrides)
    return TrainingPanel(TrainConfig(**settings), runs)


def test_train_shows_live_views_and_lists_the_run(fixture_root: Path, tmp_path: Path) -> None:
    p = panel(fixture_root, tmp_path)
    p.latent.value, p.epochs.value = "2", 2
    p.train_button.click()
    assert p.stop_button.disabled is False
    p.wait(120)
    assert p.status.value.startswith("finished: 2/2 epochs"), p.status.value
    assert p.losses.value[:4] == b"\x89PNG" and p.samples.value[:4] == b"\x89PNG"
    assert len(p.runs.options) == 1 and "finished, 2 epochs" in p.runs.options[0][0]
    assert p.train_button.disabled is False and p.stop_button.disabled is True
    p.train_button.click()  # the same settings again: loaded, not retrained
    p.wait(60)
    assert "nothing to train" in p.status.value
    assert len(p.runs.options) == 1


def test_stop_ends_cleanly_and_keeps_what_was_learned(fixture_root: Path, tmp_path: Path) -> None:
    p = panel(fixture_root, tmp_path, subset=2000)
    p.epochs.value = 200
    p.train_button.click()
    time.sleep(3)
    p.stop_button.click()
    p.wait(120)
    assert not p.thread.is_alive()
    assert p.status.value.startswith("stopped:"), p.status.value
    run = Path(p.runs.options[0][1])
    assert json.loads((run / "run.json").read_text())["status"] == "stopped"
    assert (run / "checkpoint.pt").exists() and (run / "samples.png").exists()


def test_a_bad_latent_size_is_explained_in_the_panel(fixture_root: Path, tmp_path: Path) -> None:
    p = panel(fixture_root, tmp_path)
    p.latent.value = "zero"
    p.train_button.click()
    assert p.thread is None
    assert "Cannot train" in p.status.value and "latent_dim must be a whole number" in p.status.value


def test_compare_shows_the_selected_runs_side_by_side(fixture_root: Path, tmp_path: Path) -> None:
    p = panel(fixture_root, tmp_path)
    for latent in ("2", "16"):
        p.latent.value = latent
        p.train_button.click()
        p.wait(120)
    assert len(p.runs.options) == 2
    p.runs.value = tuple(value for _, value in p.runs.options)
    p.compare_button.click()
    assert "latent 2," in p.comparison.value and "latent 16," in p.comparison.value
    assert p.comparison.value.count("<img") == 2


def test_an_unfinished_run_is_announced_and_train_resumes_it(fixture_root: Path, tmp_path: Path) -> None:
    """A run left unfinished (here stopped after epoch 1 of 3; a dead kernel leaves the same folder)."""
    from gencore.runs.start import run_name, start_run

    config = TrainConfig(model="gan", dataset="mnist", latent_dim=8, epochs=3, batch_size=32, width=8, subset=256,
                         data_root=str(fixture_root), device="cpu")
    first = start_run(config, tmp_path / run_name(config), progress=False)
    first.add_callback("on_epoch_end", lambda t: t.request_stop() if t.epoch == 1 else None)
    assert first.fit().epochs_done == 1
    p = panel(fixture_root, tmp_path, epochs=3)
    assert "Found the unfinished run" in p.status.value and "1 of 3 epochs saved" in p.status.value, p.status.value
    shown: list[str] = []
    p.status.observe(lambda change: shown.append(change["new"]), "value")
    p.train_button.click()
    p.wait(120)
    assert any(s.startswith(f"Resuming {run_name(config)} from its last checkpoint (1 of 3 epochs done)") for s in shown), shown
    assert p.status.value.startswith("finished: 3/3 epochs") and "(resumed from its last checkpoint)" in p.status.value
    info = json.loads((tmp_path / run_name(config) / "run.json").read_text())
    assert info["resumed_from"] == [{"epoch": 1, "step_in_epoch": 0}]


def test_compare_names_the_settings_in_which_the_runs_differ(tmp_path: Path) -> None:
    """Two runs both headed "latent 16, 5 epochs" whose numbers differ: the table says why (lr and width), and a
    field an older run's config.json lacks counts as its default, not as a difference."""
    from gencore.course.widgets import compare_runs_html

    def run(name: str, **settings: object) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        config = TrainConfig(model="vae", dataset="mnist", latent_dim=16, epochs=5, **settings).to_dict()
        if name == "older":
            del config["decoder_variance"]  # written before the field existed
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "run.json").write_text(json.dumps({"status": "finished", "epochs_done": 5, "seconds": 60, "device": "cpu"}))
        return folder

    fast, slow, older = run("fast", lr=1e-3, width=32), run("slow", lr=1e-4, width=64), run("older", lr=1e-4, width=64)
    table = compare_runs_html([fast, slow])
    assert table.count("latent 16, 5 epochs") == 2
    assert "The selected runs differ in lr, width (in bold below)." in table
    assert "<td><b>lr</b></td><td style='padding:2px 10px;text-align:right;vertical-align:top'><b>0.001</b>" in table
    assert "The selected runs have the same settings." in compare_runs_html([slow, older])
    assert "differ in" not in compare_runs_html([fast]) and "same settings" not in compare_runs_html([fast])
