"""The course: what the notebooks call, one module per job, gathered here so that a notebook
cell reads ``course.show(...)``, ``course.figure(run, "samples")``.

- source: show gencore's own code (the code that really runs)
- notebook: the set-up cells (layers, training data, quality, the training panel, a sweep's record)
- reference_runs: the learner's run or the shipped reference model, seen alike; shipped models side by side
- conditional: 08's views of a conditional model (class-by-noise grids, walks between classes, the
  confusion matrix, the class picker)
- notebook_figures: a run's figures titled with what they show; 05's catching-up critics
- own_code: train with the learner's own functions
- study_view: the shipped study for one pair
- student: copies of the notebooks, as they ship or for students
- grading: the nbgrader course directory; book: the course as a static site
- exercises, lessons, explore, widgets: the checks, the lessons' measurements, latent-space
  walks, and the training panel and results browser
"""

from __future__ import annotations

from gencore.course.notebook import layers, panel, quality, real_images, record, training_data
from gencore.course.notebook_figures import critic_catch_up, figure, interpolation, label, losses_figure
from gencore.course.own_code import own_run_figures, train_with
from gencore.course.reference_runs import ReferenceRun, reference_run, references_table, short_run, train_or_reference
from gencore.course.source import Source, hide_answers, show
from gencore.course.student import student_source, write_course_copies, write_student_copies
from gencore.course.study_view import show_study, study_history, study_kl_per_dimension, study_rows, study_table
from gencore.engine.paths import REPO, STUDY

__all__ = ["layers", "training_data", "real_images", "quality", "panel", "record", "show", "Source", "hide_answers", "ReferenceRun",
           "reference_run", "references_table", "train_or_reference", "short_run", "figure", "losses_figure", "interpolation", "critic_catch_up",
           "train_with", "own_run_figures", "study_rows", "study_table", "study_history", "show_study",
           "study_kl_per_dimension", "student_source", "write_student_copies", "write_course_copies", "STUDY", "REPO", "label"]
