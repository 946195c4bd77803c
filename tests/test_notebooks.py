"""The notebooks: committed clean with a parameters cell, executed headlessly by papermill with
small parameters, then validated by nbval against that execution."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, real_data_root, run_nbval

NOTEBOOKS = sorted((REPO / "notebooks").glob("0[1-6]_*.ipynb"))  # one per model and dataset
ALL_NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))  # and 00_start_here, 07_compare
START = REPO / "notebooks" / "00_start_here.ipynb"
REQUIRED = {"dataset", "latent_dim", "epochs", "batch_size", "lr", "seed", "subset", "data_root", "device"}
# Figures each notebook must show: real images, losses, real vs generated, interpolation,
# plus reconstructions (VAE) and the 2-D latent map (latent_dim == 2).
MIN_FIGURES = {"01_vae_mnist": 6, "02_vae_cifar10": 5}


def _parameter_names(cell: nbformat.NotebookNode) -> set[str]:
    return {line.split("=")[0].strip() for line in cell.source.splitlines() if "=" in line and not line.startswith("#")}


def test_there_are_the_numbered_notebooks() -> None:
    assert [p.stem for p in ALL_NOTEBOOKS] == ["00_start_here", "01_vae_mnist", "02_vae_cifar10", "03_gan_mnist", "04_gan_cifar10",
                                               "05_wgan_gp_mnist", "06_wgan_gp_cifar10", "07_compare"]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_parameters_cell_and_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    names = _parameter_names(code[0])
    assert REQUIRED <= names or path.stem in ("00_start_here", "07_compare")
    if "wgan" in path.stem:
        assert {"n_critic", "gp_weight"} <= names
    for cell in code:
        assert cell.get("outputs") == [] and cell.get("execution_count") is None, "commit notebooks without outputs"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory, fixture_root: Path, classifier_cache: Path) -> dict[str, Path]:
    """Every notebook run by papermill with small parameters (about one epoch, ~1,000 images),
    measuring quality with the tests' small cached classifiers."""
    import papermill

    root = real_data_root() or fixture_root
    out = tmp_path_factory.mktemp("notebooks")
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENCORE_CLASSIFIERS", str(classifier_cache))  # the kernels inherit it
        for path in NOTEBOOKS:
            target = out / path.name
            papermill.execute_notebook(
                str(path), str(target), cwd=str(REPO), progress_bar=False, kernel_name="python3",
                parameters={"epochs": 1, "subset": 1000, "data_root": str(root), "runs_dir": str(out / "runs"),
                            "eval_samples": 500},
            )
            results[path.stem] = target
        papermill.execute_notebook(str(START), str(out / START.name), cwd=str(REPO), progress_bar=False,
                                   kernel_name="python3", parameters={"data_root": str(root), "estimate_steps": 1})
        results[START.stem] = out / START.name
    return results


def test_start_here_shows_both_datasets_and_the_time_a_run_takes(executed: dict[str, Path]) -> None:
    notebook = nbformat.read(executed["00_start_here"], as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # real MNIST and CIFAR-10 images
    text = "".join(o.get("text", "") for o in outputs)
    assert "mnist: 60,000 training images" in text and "cifar10: 50,000 training images" in text
    for model in ("vae", "gan", "wgan-gp"):
        assert f"\n{model:8} mnist" in text and f"\n{model:8} cifar10" in text
    assert "The whole seed study at full settings" in text


@pytest.mark.parametrize("stem", [p.stem for p in NOTEBOOKS])
def test_notebook_runs_headlessly_and_shows_its_figures(executed: dict[str, Path], stem: str) -> None:
    notebook = nbformat.read(executed[stem], as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= MIN_FIGURES.get(stem, 4), f"{figures} figures"
    runs = executed[stem].parent / "runs"
    model = stem.split("_", 1)[1].rsplit("_", 1)[0].replace("wgan_gp", "wgan-gp")
    finished = [json.loads((d / "run.json").read_text()) for d in runs.glob(f"{model}-*") if (d / "run.json").exists()]
    assert any(info["status"] == "finished" for info in finished)


def test_each_notebook_shows_its_quality_numbers(executed: dict[str, Path]) -> None:
    for stem, path in executed.items():
        if stem == START.stem:
            continue
        text = "".join(o.get("text", "") for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
                       for o in c.outputs)
        assert "fd " in text and "classes_covered" in text and "confidence" in text, stem
        assert ("bits/dim" in text) == stem.split("_")[1].startswith("vae"), stem


def test_nbval_validates_the_executed_notebooks(executed: dict[str, Path], tmp_path: Path, classifier_cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """nbval re-runs each executed notebook (train-or-load now loads) and compares the cells
    marked NBVAL_CHECK_OUTPUT (data shapes, parameter counts) with papermill's outputs."""
    monkeypatch.setenv("GENCORE_CLASSIFIERS", str(classifier_cache))
    result = run_nbval(list(executed.values()), tmp_path, REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout
