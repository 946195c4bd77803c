"""Copies of the course notebooks where a learner opens them: the course as it ships (from a
clone or an installed package alike), or student copies in which each exercise's solution is a
stub that keeps the signature and the docstring."""

from __future__ import annotations

import ast
from pathlib import Path

from gencore.engine.paths import NOTEBOOKS

STUB = 'raise NotImplementedError("your code here: write this function, then run the check below")'


def student_source(source: str) -> str:
    """A solution cell's source with each top-level function's body replaced by a stub; the
    signature and the docstring stay, and so does everything outside the functions."""
    tree = ast.parse(source)
    lines = source.splitlines()
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    for node in sorted(functions, key=lambda n: n.lineno, reverse=True):  # bottom-up keeps line numbers valid
        first = node.body[0]
        has_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
        keep = first.end_lineno if has_docstring else first.lineno - 1  # 1-based last line kept
        lines[keep:node.end_lineno] = [" " * first.col_offset + STUB]
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def write_student_copies(out_dir: str | Path, notebooks_dir: str | Path = NOTEBOOKS) -> list[Path]:
    """Copies of the course notebooks in which every cell tagged ``solution`` holds stubs; the
    checks then say "not implemented yet" and the notebooks fall back to gencore's functions."""
    import nbformat

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if "solution" in cell.get("metadata", {}).get("tags", []):
                cell.source = student_source(cell.source)
                cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "solution"] + ["exercise"]
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
