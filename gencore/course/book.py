"""The course as a book: a static site of the executed notebooks, in reading order, with the course
map (00_start_here) as its front page.

Built with Sphinx and MyST-NB, the stack Jupyter Book 1 is made of, because both are pure Python
(pip installs them anywhere the kit installs; Jupyter Book 2 needs Node.js, nbsphinx needs pandoc)
and the site needs no server. The notebooks run first with papermill on the shipped reference
models (``use_reference=True``, ``own_minutes=0``), so the book builds in minutes on a CPU; the
student edition is built from the student copies (stubs, and gencore's code without the answers).
The mathematics is typeset by a local copy of MathJax (jupyter-server-mathjax), so the site reads
offline. A live widget cannot work in a static page: where one would be, the book says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from gencore.course.questions import unfold_readings
from gencore.course.student import write_student_copies
from gencore.engine.errors import GencoreError
from gencore.engine.paths import NOTEBOOKS
from gencore.studies.sweep import notebook_parameter_names

FRONT_PAGE = "00_start_here"
BOOK_PARAMETERS = {"use_reference": True, "own_minutes": 0}  # every figure from the shipped models, in minutes
WIDGET_CALLS = ("course.panel(", "ResultsBrowser(")
WIDGET_NOTE = ("*In the notebook, a live panel appears here (latent size, epochs, Train and Stop). A static page "
               "cannot run one: open the notebook in JupyterLab to use it.*")

CONF = '''# Sphinx settings for the gencore course book, written by `python -m gencore book`.
project = "gencore: generative image models, a course"
author = "The gencore authors"
copyright = "2026, The gencore authors (MIT licence)"
extensions = ["myst_nb"]
root_doc = {front!r}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "runs"]
nb_execution_mode = "off"  # the notebooks were run with papermill before the build
myst_enable_extensions = ["dollarmath", "amsmath"]
# MathJax 2, a local copy (its output code is in the combined configuration): the book reads offline
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {{
    "extensions": ["tex2jax.js"],
    "TeX": {{"extensions": ["AMSmath.js", "AMSsymbols.js", "noErrors.js", "noUndefined.js"]}},
    "tex2jax": {{"inlineMath": [["\\\\(", "\\\\)"]], "displayMath": [["\\\\[", "\\\\]"]], "processEscapes": True,
                "ignoreClass": "tex2jax_ignore|mathjax_ignore",  # MyST-NB marks each notebook so: only its math
                "processClass": "tex2jax_process|mathjax_process|math|output_area"}},
    # the copy carries the STIX-Web fonts only, not MathJax's TeX fonts
    "HTML-CSS": {{"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web", "webFont": "STIX-Web", "imageFont": None}},
}}
nb_ipywidgets_js = {{}}  # no widget scripts from a CDN: a static page runs no widgets, and the book reads offline
html_static_path = ["_static"]
html_title = "gencore course ({edition} edition)"
html_theme = "alabaster"
html_theme_options = {{"page_width": "1200px", "sidebar_width": "260px"}}
'''


def _prepare(path: Path, chapters: list[str]) -> None:
    """Mark where a widget would be, open the readings a student copy folds (a static page cannot
    fold), and give the front page the book's table of contents."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    unfold_readings(notebook)  # student copies arrive folded, run here or already (--executed)
    cells = []
    for cell in notebook.cells:
        cells.append(cell)
        if cell.cell_type == "code" and any(call in cell.source for call in WIDGET_CALLS):
            cell.metadata.setdefault("tags", []).append("remove-output")
            cells.append(nbformat.v4.new_markdown_cell(WIDGET_NOTE))
    if path.stem == FRONT_PAGE:
        cells.append(nbformat.v4.new_markdown_cell("```{toctree}\n:maxdepth: 1\n:caption: The notebooks\n\n"
                                                   + "\n".join(chapters) + "\n```"))
    notebook.cells = cells
    nbformat.write(notebook, path)


def build_book(out_dir: str | Path, student: bool = False, notebooks_dir: str | Path = NOTEBOOKS,
               parameters: dict[str, Any] | None = None, log: Any = print, executed: Path | None = None) -> Path:
    """Execute the course notebooks (or their student copies) on the shipped models and build the
    site into ``out_dir/html``; returns the path of its front page. ``parameters`` add to or
    replace the book's notebook parameters where a notebook has them (``data_root``, say).
    ``executed``: a folder where the same notebooks were already run (CI's notebook tests run
    the student copies once, and the book is built from those runs); nothing runs again."""
    import papermill

    out = Path(out_dir)
    source = out / "source"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    notebooks = sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise GencoreError(f"no course notebooks in {notebooks_dir}: pass the course's notebooks/ folder.")
    if student:
        write_student_copies(out / "student", notebooks_dir)
        notebooks = [out / "student" / p.name for p in notebooks]
    chapters = [p.stem for p in notebooks if p.stem != FRONT_PAGE]
    if executed is not None:
        missing = [p.name for p in notebooks if not (Path(executed) / p.name).exists()]
        if missing:
            raise GencoreError(f"{executed} lacks the executed {', '.join(missing)}: run them first, or build without --executed.")
    for path in notebooks:
        target = source / path.name
        if executed is not None:
            _check_executed(Path(executed) / path.name, path)
            shutil.copyfile(Path(executed) / path.name, target)
            _prepare(target, chapters)
            continue
        wanted = {**BOOK_PARAMETERS, **(parameters or {})}
        declared = notebook_parameter_names(path)
        log(f"running {path.name} ...")
        papermill.execute_notebook(str(path), str(target), cwd=str(source), progress_bar=False, kernel_name="python3",
                                   parameters={k: v for k, v in wanted.items() if k in declared})
        _prepare(target, chapters)
    edition = "student" if student else "instructor"
    (source / "conf.py").write_text(CONF.format(front=FRONT_PAGE, edition=edition))
    _copy_mathjax(source / "_static" / "mathjax")
    html = out / "html"
    log("building the site ...")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(source), str(html)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise GencoreError(f"the site did not build (sphinx said: {result.stderr.strip()[-800:]}).")
    (html / "index.html").write_text(f'<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" '
                                     f'content="0; url={FRONT_PAGE}.html"><a href="{FRONT_PAGE}.html">The course</a>\n')
    (html / "book.json").write_text(json.dumps({"edition": edition, "chapters": [FRONT_PAGE, *chapters]}, indent=2))
    return html / f"{FRONT_PAGE}.html"


def _check_executed(run: Path, source: Path) -> None:
    """An executed notebook must be the notebook the book shows (its cells' sources), run to the end."""
    import nbformat

    ran, wanted = nbformat.read(run, as_version=4), nbformat.read(source, as_version=4)
    code = lambda nb: [c.source for c in nb.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]  # noqa: E731
    if code(ran) != code(wanted):
        raise GencoreError(f"{run} was run from another version of {source.name}: run it again, or build without --executed.")
    if any(o.get("output_type") == "error" for c in ran.cells if c.cell_type == "code" for o in c.get("outputs", [])):
        raise GencoreError(f"{run} stopped at an error: fix it and run it again.")


def _copy_mathjax(target: Path) -> None:
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise GencoreError("the book typesets its mathematics with a local MathJax: pip install "
                           "jupyter-server-mathjax (requirements.txt has it).") from None
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", target, dirs_exist_ok=True)


__all__ = ["build_book", "FRONT_PAGE", "WIDGET_NOTE"]
