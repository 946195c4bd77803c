"""Installable anywhere: the package's dependencies are compatible ranges, so installing it into
an environment that already has torch and torchvision (here, the CI's own) keeps them."""

from __future__ import annotations

import csv
import json
import os
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


def test_an_installed_kit_ships_the_study_and_writes_the_course(tmp_path: Path) -> None:
    """A non-editable install (what a JupyterHub gets) finds the shipped study, and writes the
    course notebooks where a learner opens them, keeping one already there."""
    site = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet",
                            "--disable-pip-version-check", "--target", str(site), str(REPO)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    environment = {**os.environ, "PYTHONPATH": str(site)}  # the installed copy, not the clone
    course = tmp_path / "course"
    course.mkdir()
    (course / "03_gan_mnist.ipynb").write_text("my own work")
    copied = subprocess.run([sys.executable, "-m", "gencore", "course", "--copy", str(course)], cwd=tmp_path,
                            env=environment, capture_output=True, text=True, timeout=300)
    assert copied.returncode == 0, copied.stderr[-2000:]
    assert "kept 1 already there" in copied.stdout and (course / "03_gan_mnist.ipynb").read_text() == "my own work"
    assert {p.name for p in course.glob("*.ipynb")} == {p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    probe = ("import gencore, json\nfrom gencore import course\nfrom gencore.engine import paths\n"
             "print(json.dumps({'package': gencore.__file__, 'study': str(paths.STUDY), 'rows': len(course.study_rows()),"
             " 'source': str(course.show(course.show).path)}))")
    found = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=environment, capture_output=True, text=True,
                           timeout=300)
    assert found.returncode == 0, found.stderr[-2000:]
    where = json.loads(found.stdout.splitlines()[-1])
    assert where["package"].startswith(str(site)) and where["study"].startswith(str(site)), where
    shipped = [r for r in csv.DictReader((REPO / "notebooks/reference/study/results.csv").open()) if r["model"] != "real"]
    assert where["rows"] == len(shipped)  # every measurement row; the floor rows are not study rows
    assert where["source"] == "gencore/course/source.py"
