"""Files written whole or not at all, and read without surprises: the one place that touches
the disk's bytes for every layer above (runs, references, studies, the course)."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from gencore.engine.errors import WriteError


def atomic_write(path: Path, write: Callable[[Any], None], binary: bool = True) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over
    ``path``: a reader (or a crash) sees the old file or the new one, never half of one.
    Any OSError (a full disk, no permission) becomes one WriteError naming the file, and no
    temporary file is left behind."""
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise WriteError(path, error) from None
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a plain open() would follow the umask
        with os.fdopen(handle, "wb" if binary else "w") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise WriteError(path, error) from None
        raise


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda f: json.dump(data, f, indent=2, sort_keys=True), binary=False)


def torch_bytes(obj: Any) -> bytes:
    """What torch.save would write, as bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def read_json(path: Path) -> dict:
    """A JSON file's content, or {} when it is missing or unreadable (a run still starting)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
