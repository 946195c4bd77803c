"""gencore's own code shown in a notebook: the source that really runs, highlighted, so it cannot drift."""

from __future__ import annotations

import html
import inspect
from pathlib import Path
from typing import Any

from gencore.engine.errors import GencoreError
from gencore.engine.paths import REPO


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
