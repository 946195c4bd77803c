"""The course as graded work, with nbgrader itself: the course directory gencore writes, the
release nbgrader generates from it (no answers, no hidden tests, gencore's source without the
answers), and nbgrader's autograde of three submissions: untouched (every exercise 0, the
notebook runs to the end), solved (full marks) and one classic mistake (a batch-wide gradient
norm in the penalty: exactly that exercise's points lost), exported to CSV."""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from gencore.course.exercises import EXERCISES
from gencore.course.grading import marked_solution, nbgrader_notebook, write_nbgrader_course

NOTEBOOKS = REPO / "notebooks"
ASSIGNMENT = "05_wgan_gp_mnist"  # the critic's loss (2 points) and the gradient penalty (4)

BATCH_WIDE_PENALTY = '''def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The classic mistake: one gradient norm for the whole batch."""
    alpha = torch.rand(real.shape[0], 1, 1, 1)
    interpolates = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (gradients,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
    return (gradients.norm() - 1).pow(2)
'''


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    # nbgrader runs the environment's own `alembic` for its database: the environment's bin/ goes first on PATH,
    # as in an activated virtual environment.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                            timeout=900, env={**os.environ, "MPLBACKEND": "Agg", "PATH": path})
    assert result.returncode == 0, f"nbgrader {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_solution_bodies_sit_between_nbgraders_markers() -> None:
    source = 'def f(x):\n    """Doc."""\n    y = x + 1\n    return y\n\n\ndef g():\n    return 2\n'
    assert marked_solution(source) == ('def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n'
                                       '    ### END SOLUTION\n\n\ndef g():\n    ### BEGIN SOLUTION\n    return 2\n'
                                       '    ### END SOLUTION\n')


@pytest.mark.parametrize("stem", sorted({exercise.notebook for exercise in EXERCISES.values()}))
def test_every_exercise_is_an_autograded_cell_worth_its_points(stem: str) -> None:
    notebook, points = nbgrader_notebook(nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4), {"use_reference": True})
    expected = {f"check_{e.name}": e.points for e in EXERCISES.values() if e.notebook == stem}
    assert points == expected
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells if "nbgrader" in c.metadata}
    for name in (e.name for e in EXERCISES.values() if e.notebook == stem):
        answer, test = cells[f"answer_{name}"], cells[f"check_{name}"]
        assert answer.metadata["nbgrader"]["solution"] and "### BEGIN SOLUTION" in answer.source
        assert test.metadata["nbgrader"]["grade"] and test.metadata["nbgrader"]["locked"]
        assert ("### BEGIN HIDDEN TESTS" in test.source) == (EXERCISES[name].hidden is not None)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    assert "use_reference: Optional[bool] = True" in parameters.source
    assert any("course.hide_answers()" in c.source for c in notebook.cells)  # the student edition


def test_the_instructors_guide_lists_every_exercise_with_its_points() -> None:
    guide = (REPO / "docs" / "instructors.md").read_text()
    rows = re.findall(r"^\| `(\d\d_\w+)` \| `(\w+)` \| (\d+) \|", guide, re.M)
    assert sorted(rows) == sorted((e.notebook, e.name, str(e.points)) for e in EXERCISES.values())


def test_a_parameter_the_notebook_lacks_is_refused(tmp_path: Path) -> None:
    from gencore.engine.errors import GencoreError

    with pytest.raises(GencoreError, match="no parameter colour"):
        nbgrader_notebook(nbformat.read(NOTEBOOKS / f"{ASSIGNMENT}.ipynb", as_version=4), {"colour": 1})
    course = write_nbgrader_course(tmp_path / "course", NOTEBOOKS, {"colour": 1})  # across notebooks: only where it is one
    assert set(course) == {e.notebook for e in EXERCISES.values()}


@pytest.mark.slow
def test_nbgrader_releases_and_autogrades_the_course(tmp_path: Path, fixture_root: Path) -> None:
    course = tmp_path / "course"
    written = subprocess.run(
        [sys.executable, "-m", "gencore", "course", "--nbgrader", str(course), "--timeout", "600",
         "--param", "use_reference=true", "--param", f"data_root={json.dumps(str(fixture_root))}",
         "--param", "subset=1000", "--param", "eval_samples=500", "--param", "exercise_subset=512",
         "--param", "critic_steps=20", "--param", "own_minutes=0"], capture_output=True, text=True, timeout=300)
    assert written.returncode == 0, written.stderr[-2000:]
    assert f"source/{ASSIGNMENT}: 2 graded cells, 6 points" in written.stdout
    assert "c.Execute.timeout = 600" in (course / "nbgrader_config.py").read_text()

    for stem in sorted({e.notebook for e in EXERCISES.values()}):
        _nbgrader(course, "generate_assignment", stem, "--force")
        release = nbformat.read(course / "release" / stem / f"{stem}.ipynb", as_version=4)
        text = "\n".join(c.source for c in release.cells)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "check(" in text
        for exercise in (e for e in EXERCISES.values() if e.notebook == stem):  # no answer left in the release
            (answer,) = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"answer_{exercise.name}"]
            assert "raise NotImplementedError" in answer.source
            body = ast.parse(answer.source).body[0]
            assert isinstance(body, ast.FunctionDef) and len(body.body) == 2  # the docstring and the stub

    release = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in
                 nbgrader_notebook(nbformat.read(NOTEBOOKS / f"{ASSIGNMENT}.ipynb", as_version=4))[0].cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    answers = {grade_id: source.replace("    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", "")
               for grade_id, source in solutions.items()}
    submissions = {"untouched": {}, "solved": answers,
                   "batch_wide": {**answers, "answer_gradient_penalty": BATCH_WIDE_PENALTY}}
    for student, replace in submissions.items():
        notebook = nbformat.read(release, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in replace:
                cell.source = replace[grade_id]
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / release.name)

    _nbgrader(course, "autograde", ASSIGNMENT, "--force")
    _nbgrader(course, "export")
    scores = {row["student_id"]: (float(row["score"]), float(row["max_score"]))
              for row in csv.DictReader((course / "grades.csv").open()) if row["assignment"] == ASSIGNMENT}
    assert scores == {"untouched": (0.0, 6.0), "solved": (6.0, 6.0), "batch_wide": (2.0, 6.0)}, scores

    graded = nbformat.read(course / "autograded" / "untouched" / ASSIGNMENT / release.name, as_version=4)
    code = [c for c in graded.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "the untouched submission's notebook ran to its last cell"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors and all(o.ename in ("ExerciseFailed", "NotImplementedError") for o in errors), \
        [(o.ename, o.evalue[:200]) for o in errors]
    shutil.rmtree(course / "autograded")  # the checks' traces are large; nothing else is needed
