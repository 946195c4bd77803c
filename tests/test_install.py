"""Installable anywhere: the package's dependencies are compatible ranges, so installing it into
an environment that already has torch and torchvision (here, the CI's own) keeps them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow  # pip resolves the package: the slow tier


def test_installing_the_kit_replaces_nothing_in_torch_or_torchvision(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
                             "--report", str(report), str(REPO)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    planned = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in json.loads(report.read_text())["install"]}
    assert "gencore" in planned
    assert not {"torch", "torchvision"} & set(planned), planned
    assert set(planned) == {"gencore"}, f"would also install or replace: {planned}"

