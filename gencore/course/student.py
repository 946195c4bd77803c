"""Copies of the course notebooks where a learner opens them: the course as it ships (from a
clone or an installed package alike), or student copies in which each exercise's solution is a
stub that keeps the signature and the docstring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gencore.course.questions import fold_readings
from gencore.course.source import replace_bodies
from gencore.engine.errors import GencoreError
from gencore.engine.paths import NOTEBOOKS

STUB = 'raise NotImplementedError("your code here: write this function, then run the check below")'
IMPORT_COURSE = "from gencore import course"
HIDE_ANSWERS = "course.hide_answers()  # the student edition: gencore's code is shown without the exercises' answers"


def student_source(source: str) -> str:
    """A solution cell's source with each top-level function's body replaced by a stub; the
    signature and the docstring stay, and so does everything outside the functions."""
    return replace_bodies(source, STUB)


def hide_answers_in_setup(notebook: Any) -> None:
    """Make a notebook the student edition: its first cell that imports the course also calls
    ``course.hide_answers()``, so gencore's code shown further down leaves out the answers."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and IMPORT_COURSE in cell.source.splitlines():
            lines = cell.source.splitlines()
            lines.insert(lines.index(IMPORT_COURSE) + 1, HIDE_ANSWERS)
            cell.source = "\n".join(lines)
            return
    raise GencoreError(f"no cell imports the course ({IMPORT_COURSE!r}): the student edition cannot hide the answers.")


def write_student_copies(out_dir: str | Path, notebooks_dir: str | Path = NOTEBOOKS) -> list[Path]:
    """Copies of the course notebooks in which every cell tagged ``solution`` holds stubs; the
    checks then say "not implemented yet" and the notebooks fall back to gencore's functions. The
    text that reads a prediction's answer opens folded (questions.fold_readings; the book opens it
    again)."""
    import nbformat

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        solutions = [cell for cell in notebook.cells if "solution" in cell.get("metadata", {}).get("tags", [])]
        for cell in solutions:
            cell.source = student_source(cell.source)
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "solution"] + ["exercise"]
        if solutions:
            hide_answers_in_setup(notebook)
        fold_readings(notebook)
        nbformat.write(notebook, out / path.name)
        written.append(out / path.name)
    return written


def write_course_copies(out_dir: str | Path, notebooks_dir: str | Path = NOTEBOOKS) -> tuple[list[Path], list[Path]]:
    """The course notebooks as they ship, copied to ``out_dir`` (what an installed kit's learner
    opens). A notebook already there is kept, never overwritten: it may hold the learner's work.
    Returns (written, kept)."""
    import shutil

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for path in sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb")):
        target = out / path.name
        if target.exists():
            kept.append(target)
            continue
        shutil.copyfile(path, target)
        written.append(target)
    return written, kept
