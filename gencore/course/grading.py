"""The course as graded work: an nbgrader course directory written from the course notebooks.

The notebooks stay the only source. Their ``solution`` cells become nbgrader's solution cells,
each function's body between ``### BEGIN SOLUTION`` and ``### END SOLUTION``; the cell that
checks an exercise becomes an autograded test cell worth the exercise's points (EXERCISES), with
its hidden cases between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` where the
answer is deterministic. Every assignment is the student edition (shown source without the answers), and under nbgrader
an unanswered exercise fails its check (exercises.grading). Each written question's answer cell
(gencore.course.questions) becomes a manually graded answer cell worth the question's points:
autograde leaves it to the instructor. Release, collect and grade with nbgrader's own commands
(docs/instructors.md).
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path
from typing import Any

from gencore.course.exercises import EXERCISES
from gencore.course.questions import ANSWER_TAG, QUESTIONS, fold_readings
from gencore.course.source import function_bodies
from gencore.course.student import STUB, hide_answers_in_setup
from gencore.engine.errors import GencoreError
from gencore.engine.paths import NOTEBOOKS
from gencore.studies.sweep import notebook_parameter_names

SCHEMA_VERSION = 3  # nbgrader's cell metadata schema (nbgrader 0.9)
CELL_TIMEOUT = 1800  # seconds per cell under nbgrader (its default, 30 s, is shorter than one training epoch on a CPU)
TEXT_STUB = "Your answer here (a few sentences; numbers from your own run where the question asks for them)."
CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([a-z_]+)["']""")


def marked_solution(source: str) -> str:
    """A solution cell's source with each top-level function's body between nbgrader's
    solution markers (the signature and the docstring stay visible in the release)."""
    bodies = function_bodies(source)
    if not bodies:
        raise GencoreError("a solution cell defines no function: nbgrader would have nothing to hide in it.")
    lines = source.splitlines()
    for start, end, indent in bodies:
        lines[end:end] = [" " * indent + "### END SOLUTION"]
        lines[start:start] = [" " * indent + "### BEGIN SOLUTION"]
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def _set_parameters(cell: Any, values: dict[str, Any]) -> None:
    """Give the parameters cell's annotated assignments new values (a name it lacks is an error)."""
    tree = ast.parse(cell.source)
    found = {node.target.id: node for node in tree.body if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    unknown = sorted(set(values) - set(found))
    if unknown:
        raise GencoreError(f"the notebook has no parameter {', '.join(unknown)}: choose among {', '.join(found)}.")
    lines = cell.source.splitlines()
    for name, value in values.items():
        node = found[name].value
        assert node is not None and node.end_col_offset is not None
        line = lines[node.lineno - 1]
        lines[node.lineno - 1] = line[:node.col_offset] + repr(value) + line[node.end_col_offset:]
    cell.source = "\n".join(lines)


def _metadata(grade_id: str, solution: bool, grade: bool, points: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": SCHEMA_VERSION,
                            "solution": solution, "task": False}
    if points is not None:
        data["points"] = points
    return data


def nbgrader_notebook(notebook: Any, parameters: dict[str, Any] | None = None) -> tuple[Any, dict[str, int]]:
    """The nbgrader source version of a course notebook, and the points of each graded cell by its id: solutions
    between nbgrader's markers, checks as autograded test cells (hidden tests added), written answers as manually
    graded cells; a notebook with an exercise also hides gencore's answers (course.hide_answers), and a
    prediction's reading opens folded (questions.fold_readings), as in the student copies."""
    notebook = copy.deepcopy(notebook)
    if parameters:
        cell = next((c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])), None)
        if cell is None:
            raise GencoreError("the notebook has no parameters cell to set.")
        _set_parameters(cell, parameters)
    points: dict[str, int] = {}
    checks = False  # whether it checks an exercise: then it is the student edition, gencore's code without the answers
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if "solution" in tags:
            name = next(n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef))
            cell.source = marked_solution(cell.source)
            cell.metadata["nbgrader"] = _metadata(f"answer_{name}", solution=True, grade=False)
        elif cell.cell_type == "code" and (match := CHECK_CALL.search(cell.source)) and match.group(1) in EXERCISES:
            exercise = EXERCISES[match.group(1)]
            if exercise.hidden is not None:
                cell.source = (cell.source.rstrip("\n") + "\n### BEGIN HIDDEN TESTS\n"
                               f"check({exercise.name!r}, {exercise.name}, hidden=True)\n### END HIDDEN TESTS")
            grade_id = f"check_{exercise.name}"
            cell.metadata["nbgrader"] = _metadata(grade_id, solution=False, grade=True, points=exercise.points)
            points[grade_id] = exercise.points
            checks = True
        elif cell.cell_type == "markdown" and ANSWER_TAG in tags:
            question = QUESTIONS[cell.metadata["question"]]  # a written answer: graded by hand
            cell.metadata["nbgrader"] = _metadata(question.grade_id, solution=True, grade=True, points=question.points)
            points[question.grade_id] = question.points
    if checks:
        hide_answers_in_setup(notebook)
    fold_readings(notebook)  # the release opens in JupyterLab: a prediction's reading opens folded
    return notebook, points


def nbgrader_config(timeout: int) -> str:
    return f'''# nbgrader's settings for the gencore course, written by `python -m gencore course --nbgrader`.
# Edit freely: the command keeps this file when it exists. docs/instructors.md says how to use it.
c = get_config()  # noqa: F821 - nbgrader defines it
c.CourseDirectory.course_id = "gencore"
# Seconds per cell: a training cell runs for minutes on a CPU (nbgrader's default is 30 s).
c.Execute.timeout = {timeout}
# The release's stub is the one gencore's student copies use: the checks then say "not implemented".
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
# What a written question's answer cell holds in the release: the learner writes over it.
c.ClearSolutions.text_stub = {TEXT_STUB!r}
'''


def write_nbgrader_course(course_dir: str | Path, notebooks_dir: str | Path = NOTEBOOKS,
                          parameters: dict[str, Any] | None = None, timeout: int = CELL_TIMEOUT) -> dict[str, dict[str, int]]:
    """An nbgrader course directory: nbgrader_config.py (kept when it exists) and
    source/<assignment>/<assignment>.ipynb for every course notebook with graded cells, its
    parameters set from ``parameters`` where it has them. Returns each assignment's points by cell."""
    import nbformat

    root = Path(course_dir)
    root.mkdir(parents=True, exist_ok=True)
    config = root / "nbgrader_config.py"
    if not config.exists():
        config.write_text(nbgrader_config(timeout))
    assignments: dict[str, dict[str, int]] = {}
    for path in sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        names = notebook_parameter_names(path)
        graded, points = nbgrader_notebook(notebook, {k: v for k, v in (parameters or {}).items() if k in names})
        if not points:
            continue  # nothing to grade (00, the map)
        folder = root / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(graded, folder / path.name)
        assignments[path.stem] = points
    return assignments


__all__ = ["write_nbgrader_course", "nbgrader_notebook", "marked_solution", "nbgrader_config", "CELL_TIMEOUT"]
