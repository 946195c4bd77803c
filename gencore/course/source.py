"""gencore's own code shown in a notebook: the source that really runs, highlighted, so it cannot
drift. In the student edition (``hide_answers()``) the body of every function an exercise asks
for is left out wherever it appears (a function, or a method of a class shown whole): the
learner sees its signature and docstring, not the answer."""

from __future__ import annotations

import ast
import html
import inspect
import textwrap
from pathlib import Path
from typing import Any, Collection

from gencore.engine.errors import GencoreError
from gencore.engine.paths import REPO

HIDDEN_BODY = "...  # hidden in the student edition: an exercise asks you to write this"
_hidden_names: set[str] = set()  # the functions whose bodies Source leaves out (hide_answers)


def hide_answers() -> None:
    """The student edition: from now on, shown source leaves out the body of every function that
    an exercise asks for (the student copies and the nbgrader release call this first)."""
    from gencore.course.exercises import EXERCISES, withhold_answers

    _hidden_names.update(EXERCISES)
    withhold_answers(True)  # and exercises.reference hands none out
    print("Student edition: gencore's source is shown without the answers to the exercises.")


def show_answers() -> None:
    """The instructor's edition again: shown source is whole."""
    from gencore.course.exercises import withhold_answers

    _hidden_names.clear()
    withhold_answers(False)


def function_bodies(source: str, names: Collection[str] | None = None, nested: bool = False) -> list[tuple[int, int, int]]:
    """Where each function's body is in ``source`` (only those in ``names``, when given; at any
    depth, methods included, when ``nested``): (first line after the docstring, line after the
    body, both 0-based; the body's indentation), last function first, so that editing one keeps
    the line numbers of those above valid."""
    tree = ast.parse(source)
    nodes = ast.walk(tree) if nested else iter(tree.body)
    functions = [n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and (names is None or n.name in names)]
    bodies = []
    for node in sorted(functions, key=lambda n: n.lineno, reverse=True):
        first = node.body[0]
        has_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
        start = first.end_lineno if has_docstring else first.lineno - 1
        assert start is not None and node.end_lineno is not None
        bodies.append((start, node.end_lineno, first.col_offset))
    return bodies


def replace_bodies(source: str, replacement: str, names: Collection[str] | None = None, nested: bool = False) -> str:
    """``source`` with the body of each function (as function_bodies finds them) replaced by
    ``replacement``; signatures, decorators and docstrings stay, and so does everything else."""
    lines = source.splitlines()
    for start, end, indent in function_bodies(source, names, nested):
        lines[start:end] = [" " * indent + replacement]
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


class Source:
    """gencore's own source of a function or class: highlighted in a notebook, plain in text."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.source = inspect.getsource(obj)
        lines, self.line = inspect.getsourcelines(obj)
        source_file = inspect.getsourcefile(obj)
        if source_file is None:
            raise GencoreError(f"{obj!r} has no source file to show.")
        self.path = Path(source_file).resolve().relative_to(REPO)
        self.name = f"{obj.__module__}.{obj.__qualname__}"
        if _hidden_names and any(f"def {name}(" in self.source for name in _hidden_names):
            indent = self.source[: len(self.source) - len(self.source.lstrip(" "))]  # a method's own source is indented
            hidden = replace_bodies(textwrap.dedent(self.source), HIDDEN_BODY, _hidden_names, nested=True)
            self.source = textwrap.indent(hidden, indent) if indent else hidden

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        code = highlight(self.source, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True))
        return (f"<div style='border-left:3px solid #7aa6da;padding-left:8px;margin:4px 0'>"
                f"<div style='font-size:85%;color:#555'><code>{html.escape(self.name)}</code> "
                f"&middot; {html.escape(str(self.path))}, line {self.line}</div>{code}</div>")

    def __repr__(self) -> str:
        return f"# {self.name} ({self.path}, line {self.line})\n{self.source}"


def show(obj: Any) -> Source:
    """Display the source that really runs (from the installed gencore, so it cannot drift)."""
    return Source(obj)
