"""The course notebooks and the shipped study travel inside the package.

pyproject.toml holds the metadata; this file only adds one build step: ``notebooks/`` (the
numbered notebooks, their text pairs and ``reference/``, the shipped study and samples) is copied
to ``gencore/course/notebooks/`` in the built package, so that a non-editable install (a wheel,
``pip install .`` on a JupyterHub) finds the study and can write the notebooks out
(``python -m gencore course --copy DIR``). In a clone, gencore reads ``notebooks/`` itself.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
LEFT_OUT = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "runs", "*.pyc")  # a learner's own output stays home


class BuildWithCourse(build_py):
    def run(self) -> None:
        super().run()
        if NOTEBOOKS.is_dir():  # building from a clone or an sdist (MANIFEST.in carries the folder)
            shutil.copytree(NOTEBOOKS, Path(self.build_lib) / "gencore" / "course" / "notebooks", dirs_exist_ok=True,
                            ignore=LEFT_OUT)


setup(cmdclass={"build_py": BuildWithCourse})
