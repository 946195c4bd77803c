"""The notebooks: authored as notebooks and paired with py:percent text files that stay in sync,
committed clean with a parameters cell papermill can read, executed headlessly (full and student
copies) and validated by nbval against that execution."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jupytext
import nbformat
import pytest

from conftest import REPO, _parameters, _small_parameters, real_data_root, run_nbval
from gencore.course.exercises import EXERCISES as EXERCISE_RECORDS
from gencore.course.exercises import reference

FOLDER = REPO / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("0[1-6]_*.ipynb"))  # one per model and dataset
CONDITIONAL = FOLDER / "08_conditional.ipynb"  # the conditional models on both datasets
DIFFUSION = FOLDER / "09_diffusion.ipynb"  # the DDPM on MNIST
ALL_NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))  # and 00_start_here, 07_compare
START = FOLDER / "00_start_here.ipynb"
REQUIRED = {"dataset", "latent_dim", "epochs", "batch_size", "lr", "seed", "subset", "data_root", "device", "precision",
            "use_reference"}
# Checked exercises per notebook, as the exercise records say.
EXERCISES = {stem: sum(e.notebook == stem for e in EXERCISE_RECORDS.values()) for stem in {e.notebook for e in EXERCISE_RECORDS.values()}}
# Figures each notebook must show with small parameters (real images, losses, real vs generated, the lessons...).
MIN_FIGURES = {"01_vae_mnist": 8, "02_vae_cifar10": 8, "03_gan_mnist": 7, "04_gan_cifar10": 8, "05_wgan_gp_mnist": 7,
               "06_wgan_gp_cifar10": 4}


def test_there_are_the_numbered_notebooks() -> None:
    assert [p.stem for p in ALL_NOTEBOOKS] == ["00_start_here", "01_vae_mnist", "02_vae_cifar10", "03_gan_mnist",
                                               "04_gan_cifar10", "05_wgan_gp_mnist", "06_wgan_gp_cifar10", "07_compare",
                                               "08_conditional", "09_diffusion"]
    assert not (FOLDER / "make_notebooks.py").exists(), "the notebooks are the source: no template writes them"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_is_paired_with_its_text_file_and_in_sync(path: Path) -> None:
    text = path.with_suffix(".py")
    assert text.exists(), f"{path.name} has no paired {text.name}: run jupytext --sync {path}"
    cells = lambda nb: [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]  # noqa: E731
    assert cells(jupytext.read(path)) == cells(jupytext.read(text)), \
        f"{path.name} and {text.name} differ: run jupytext --sync notebooks/{path.name}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_ends_with_the_papers_it_teaches(path: Path) -> None:
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## References"), f"{path.name} ends without its papers"
    papers = re.findall(r"^- (.+\(https://arxiv\.org/abs/[0-9.]+\).*)$", last.source, re.M)
    readme = (REPO / "README.md").read_text().split("## Papers", 1)[1].split("\n## ", 1)[0]
    assert papers and all(f"- {paper}" in readme for paper in papers), "each paper as the README's list gives it"
    if path.stem in ("00_start_here", "07_compare"):  # the map and the comparison name all the seed study's
        seed_study = readme.split("Past the seed study", 1)[0]
        assert len(papers) == seed_study.count("https://arxiv.org/abs/") == 6


def test_the_pairing_is_configured_for_jupyterlab() -> None:
    """jupytext's contents manager reads this file, so a notebook saved in JupyterLab updates its pair."""
    config = (FOLDER / "jupytext.toml").read_text()
    assert re.search(r'^formats\s*=\s*"ipynb,py:percent"', config, re.M)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_parameters_cell_and_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    names = set(_parameters(notebook))
    # 09's DDPM has no latent vector and trains in fp32 only (its step takes no autocast)
    required = REQUIRED - {"latent_dim", "precision"} if path.stem == "09_diffusion" else REQUIRED
    assert required <= names or path.stem in ("00_start_here", "07_compare")
    if "wgan" in path.stem:
        assert {"n_critic", "gp_weight"} <= names
    for cell in code:
        assert cell.get("outputs") == [] and cell.get("execution_count") is None, "commit notebooks without outputs"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter_with_its_type_and_default(path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(path)],
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Unable to parse" not in output, output
    parameters = _parameters(nbformat.read(path, as_version=4))
    assert parameters
    for name, (annotation, default) in parameters.items():
        assert f"{name}: {annotation} (default {default.replace(chr(39), chr(34))})" in output, (name, output)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory, fixture_root: Path) -> dict[str, Path]:
    """Every notebook but 07 (test_sweep runs it on a sweep) run by papermill with small parameters,
    training its own run and measuring quality with the shipped classifiers."""
    import papermill

    root = real_data_root() or fixture_root
    out = tmp_path_factory.mktemp("notebooks")
    results = {}
    for path in [START, *NOTEBOOKS, CONDITIONAL, DIFFUSION]:
        target = out / path.name
        papermill.execute_notebook(str(path), str(target), cwd=str(FOLDER), progress_bar=False, kernel_name="python3",
                                   parameters=_small_parameters(path, root, out))
        results[path.stem] = target
    return results


def _outputs(path: Path) -> list:
    return [o for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" for o in c.outputs]


def _text(path: Path) -> str:
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in _outputs(path))


def test_start_here_shows_the_map_both_datasets_and_the_time_a_run_takes(executed: dict[str, Path]) -> None:
    outputs = _outputs(executed["00_start_here"])
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # real MNIST and CIFAR-10 images
    text = _text(executed["00_start_here"])
    assert "mnist: 60,000 training images" in text and "cifar10: 50,000 training images" in text
    for model in ("vae", "gan", "wgan-gp"):
        assert f"\n{model:8} mnist" in text and f"\n{model:8} cifar10" in text
    assert "The whole seed study at full settings" in text and "ref:gan-mnist" in text
    source = "".join(c.source for c in nbformat.read(START, as_version=4).cells)
    for stem in [p.stem for p in ALL_NOTEBOOKS[1:]]:
        assert f"`{stem}`" in source  # the map names every notebook


@pytest.mark.parametrize("stem", [p.stem for p in NOTEBOOKS])
def test_notebook_runs_headlessly_and_shows_its_figures(executed: dict[str, Path], stem: str) -> None:
    outputs = _outputs(executed[stem])
    assert not [o for o in outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= MIN_FIGURES[stem], f"{figures} figures"
    runs = executed[stem].parent / "runs"
    model = stem.split("_", 1)[1].rsplit("_", 1)[0].replace("wgan_gp", "wgan-gp")
    finished = [json.loads((d / "run.json").read_text()) for d in runs.glob(f"{model}-*") if (d / "run.json").exists()]
    assert any(info["status"] == "finished" for info in finished)


@pytest.mark.parametrize("stem", [p.stem for p in NOTEBOOKS])
def test_each_notebook_shows_the_code_that_trains_and_its_quality_numbers(executed: dict[str, Path], stem: str) -> None:
    text = _text(executed[stem])
    assert "fd " in text and "classes_covered" in text and "confidence" in text
    assert ("bits_per_dim" in text) == stem.split("_")[1].startswith("vae")  # the VAE's likelihood, and only its
    assert text.count(": all cases pass.") == EXERCISES.get(stem, 0)  # every exercise checked, and passed
    if "mnist" in stem:  # the MNIST notebooks show the step, and train with the learner's functions
        assert "_step (gencore/engine/families/" in text
        assert "give the same numbers" in text  # the learner's functions trained like gencore's


def test_08_trains_a_conditional_gan_with_the_learners_function_and_measures_its_class_accuracy(
        executed: dict[str, Path]) -> None:
    outputs = _outputs(executed["08_conditional"])
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 9  # grids, walks, confusion, the picker's first view
    text = _text(executed["08_conditional"])
    assert text.count(": all cases pass.") == EXERCISES["08_conditional"] and "give the same numbers" in text
    assert "class_accuracy" in text and "cgan_step (gencore/engine/families/cgan.py" in text
    assert "ref:cgan-mnist" in text and "ref:cvae-cifar10" in text  # both datasets' shipped models
    runs = executed["08_conditional"].parent / "runs"
    assert any(json.loads((d / "run.json").read_text())["status"] == "finished" for d in runs.glob("cgan-*"))


def test_09_trains_a_ddpm_with_the_learners_forward_process_and_samples_through_their_step(
        executed: dict[str, Path]) -> None:
    outputs = _outputs(executed["09_diffusion"])
    assert not [o for o in outputs if o.output_type == "error"]
    # the forward process, the learner's run, the path, the shipped and own sweeps, the losses (the class picker is a
    # widget, and the notebook trained its run, so there is no short run beside a reference)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 6
    text = _text(executed["09_diffusion"])
    assert text.count(": all cases pass.") == EXERCISES["09_diffusion"] == 2 and "give the same numbers" in text
    assert "ddpm_training_step (gencore/engine/families/diffusion.py" in text and "class_accuracy" in text
    assert "seconds_per_1000" not in text and "s/1000" in text  # the sweeps' and the cost table's columns
    for model in ("vae", "gan", "wgan-gp", "ddpm"):
        assert f"\n{model:8} " in text  # each shipped MNIST model in the cost table
    runs = executed["09_diffusion"].parent / "runs"
    assert any(json.loads((d / "run.json").read_text())["status"] == "finished" for d in runs.glob("ddpm-*"))


def test_nbval_validates_the_executed_notebooks(executed: dict[str, Path], tmp_path: Path) -> None:
    """nbval re-runs each executed notebook (train-or-load now loads) and compares the cells
    marked NBVAL_CHECK_OUTPUT (data shapes, layer shapes) with papermill's outputs."""
    result = run_nbval(list(executed.values()), tmp_path, FOLDER)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout


# ---------------------------------------------------------------------- student copies


def test_student_copies_hold_stubs_instead_of_solutions(student: dict[str, Path]) -> None:
    for stem, count in EXERCISES.items():
        copy = nbformat.read(student[stem].parent / "copies" / f"{stem}.ipynb", as_version=4)
        stubs = [c for c in copy.cells if "exercise" in c.metadata.get("tags", [])]
        assert len(stubs) == count and not [c for c in copy.cells if "solution" in c.metadata.get("tags", [])]
        for cell in stubs:
            assert "raise NotImplementedError" in cell.source and "def " in cell.source and '"""' in cell.source
            assert "torch.randn_like" not in cell.source and "autograd.grad" not in cell.source


@pytest.mark.parametrize("stem", [p.stem for p in [*NOTEBOOKS, CONDITIONAL, DIFFUSION]])
def test_student_copies_run_to_the_end_on_the_shipped_models(student: dict[str, Path], stem: str) -> None:
    outputs = _outputs(student[stem])
    assert not [o for o in outputs if o.output_type == "error"]
    text = _text(student[stem])
    assert "Loaded the shipped reference ref:" in text and "Nothing was trained" in text
    assert text.count("not implemented yet") == EXERCISES.get(stem, 0)
    if stem in EXERCISES:  # the student edition shows gencore's code without the answers
        assert "Student edition: gencore's source is shown without the answers" in text
        for exercise in (e for e in EXERCISE_RECORDS.values() if e.notebook == stem):
            for line in _answer_lines(exercise.name):
                assert line not in text, f"{stem}'s student copy shows the answer to {exercise.name}: {line!r}"


def _answer_lines(name: str) -> list[str]:
    """The distinctive code lines of gencore's answer to an exercise (docstring and signature aside)."""
    source = textwrap.dedent(inspect.getsource(reference(name)))
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    first = function.body[1] if isinstance(function.body[0], ast.Expr) and len(function.body) > 1 else function.body[0]
    lines = source.splitlines()[first.lineno - 1:function.end_lineno]
    return [line.strip() for line in lines if len(line.strip()) > 20]


def test_nbval_validates_the_student_copies(student: dict[str, Path], tmp_path: Path) -> None:
    result = run_nbval([student[p.stem] for p in [*NOTEBOOKS, CONDITIONAL, DIFFUSION]], tmp_path, FOLDER)  # the model notebooks
    assert result.returncode == 0, result.stdout[-3000:]
