"""The course as graded work, with nbgrader itself: the course directory gencore writes, the
release nbgrader generates from it (no answers, no hidden tests, gencore's source without the
answers), and nbgrader's autograde of five submissions: untouched (every exercise 0, the
notebook runs to the end), solved (full marks), one classic mistake (a batch-wide gradient
norm in the penalty: exactly that exercise's points lost) and two whose every answer calls
gencore's own (by the module attribute, by a name taken before the check, through
exercises.reference and through the family's parts: every exercise 0, each check failing with
its one-line reason), exported to CSV."""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from gencore.course.exercises import EXERCISES
from gencore.course.grading import TEXT_STUB, marked_solution, nbgrader_notebook, write_nbgrader_course
from gencore.course.questions import FOLD_LINE, QUESTIONS, answer_cells
from gencore.studies.notebook_timing import read_runs

NOTEBOOKS = REPO / "notebooks"
ASSIGNMENT = "05_wgan_gp_mnist"  # the critic's loss (2 points) and the gradient penalty (4)

BATCH_WIDE_PENALTY = '''def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The classic mistake: one gradient norm for the whole batch."""
    alpha = torch.rand(real.shape[0], 1, 1, 1)
    interpolates = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (gradients,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
    return (gradients.norm() - 1).pow(2)
'''


# Answers that hand the exercise to gencore, the way a hurried student would (the notebook has imported losses).
CALLS_GENCORE = {
    "by_attribute_and_reference": {
        "answer_critic_loss": "def critic_loss(real_scores, fake_scores):\n    return losses.critic_loss(real_scores, fake_scores)\n",
        "answer_gradient_penalty": ("from gencore.course import exercises\n\n\ndef gradient_penalty(critic, real, fake):\n"
                                    "    return exercises.reference('gradient_penalty')(critic, real, fake)\n"),
    },
    "by_names_taken_before": {
        "answer_critic_loss": ("from gencore.engine.losses import critic_loss as taken\n\n\n"
                               "def critic_loss(real_scores, fake_scores):\n    return taken(real_scores, fake_scores)\n"),
        "answer_gradient_penalty": ("from gencore.engine.families import get_family\n\n"
                                    "gradient_penalty = get_family('wgan-gp').parts['gradient_penalty']\n"),
    },
}
# The predictions whose reading sits right below the cell that shows the answer: the learner's copies fold it.
FOLDED_PREDICTIONS = ("02.1", "04.2", "05.2", "06.1", "09.1")
OWN_CODE_REASONS = {  # what each submission's two checks fail with: one line each
    "by_attribute_and_reference": ("critic_loss asks for your own code: your function called gencore.engine.losses.critic_loss, ",
                                   "gradient_penalty asks for your own code: your function called "
                                   "gencore.course.exercises.reference, "),
    "by_names_taken_before": ("critic_loss asks for your own code: your function called gencore.engine.losses.critic_loss, ",
                              "gradient_penalty asks for your own code: your function called "
                              "gencore.engine.losses.gradient_penalty, "),
}


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    # nbgrader runs the environment's own `alembic` for its database: the environment's bin/ goes first on PATH,
    # as in an activated virtual environment.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                            timeout=900, env={**os.environ, "MPLBACKEND": "Agg", "PATH": path})
    assert result.returncode == 0, f"nbgrader {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_solution_bodies_sit_between_nbgraders_markers() -> None:
    source = 'def f(x):\n    """Doc."""\n    y = x + 1\n    return y\n\n\ndef g():\n    return 2\n'
    assert marked_solution(source) == ('def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n'
                                       '    ### END SOLUTION\n\n\ndef g():\n    ### BEGIN SOLUTION\n    return 2\n'
                                       '    ### END SOLUTION\n')


@pytest.mark.parametrize("stem", sorted({exercise.notebook for exercise in EXERCISES.values()}))
def test_every_exercise_is_an_autograded_cell_worth_its_points(stem: str) -> None:
    notebook, points = nbgrader_notebook(nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4), {"use_reference": True})
    expected = {f"check_{e.name}": e.points for e in EXERCISES.values() if e.notebook == stem}
    expected.update({q.grade_id: q.points for q in QUESTIONS.values() if q.notebook == stem})
    assert points == expected
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells if "nbgrader" in c.metadata}
    for name in (e.name for e in EXERCISES.values() if e.notebook == stem):
        answer, test = cells[f"answer_{name}"], cells[f"check_{name}"]
        assert answer.metadata["nbgrader"]["solution"] and "### BEGIN SOLUTION" in answer.source
        assert test.metadata["nbgrader"]["grade"] and test.metadata["nbgrader"]["locked"]
        assert ("### BEGIN HIDDEN TESTS" in test.source) == (EXERCISES[name].hidden is not None)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    assert "use_reference: Optional[bool] = True" in parameters.source
    assert any("course.hide_answers()" in c.source for c in notebook.cells)  # the student edition


def test_the_instructors_guide_lists_every_exercise_with_its_points() -> None:
    guide = (REPO / "docs" / "instructors.md").read_text()
    rows = re.findall(r"^\| `(\d\d_\w+)` \| `(\w+)` \| (\d+) \|", guide, re.M)
    assert sorted(rows) == sorted((e.notebook, e.name, str(e.points)) for e in EXERCISES.values())


def test_a_parameter_the_notebook_lacks_is_refused(tmp_path: Path) -> None:
    from gencore.engine.errors import GencoreError

    with pytest.raises(GencoreError, match="no parameter colour"):
        nbgrader_notebook(nbformat.read(NOTEBOOKS / f"{ASSIGNMENT}.ipynb", as_version=4), {"colour": 1})
    course = write_nbgrader_course(tmp_path / "course", NOTEBOOKS, {"colour": 1})  # across notebooks: only where it is one
    assert set(course) == {e.notebook for e in EXERCISES.values()} | {q.notebook for q in QUESTIONS.values()}


@pytest.mark.parametrize("stem", sorted({q.notebook for q in QUESTIONS.values()}))
def test_every_written_question_is_a_manually_graded_answer_cell_after_its_question(stem: str) -> None:
    """Two or three per notebook, each answer cell below its question and, for a prediction, above the cell that
    shows the answer; under nbgrader a manually graded answer cell (solution and grade, not locked) worth its points."""
    source = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    found = answer_cells(source)
    asked = [q for q in QUESTIONS.values() if q.notebook == stem]
    assert [q for _, _, q in found] == asked and 2 <= len(asked) <= 3
    for index, cell, question in found:
        above = source.cells[index - 1]
        assert above.cell_type == "markdown" and above.source.startswith(
            f"**Question {question.id}** ({question.kind}, {question.points} points).")
        if question.shown_by is not None:
            (shown,) = [i for i, c in enumerate(source.cells) if c.cell_type == "code" and question.shown_by in c.source]
            assert index < shown, f"{question.id} is asked after the cell that shows its answer"
    graded, points = nbgrader_notebook(source)
    for question in asked:
        (cell,) = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == question.grade_id]
        assert cell.cell_type == "markdown" and points[question.grade_id] == question.points
        assert {k: cell.metadata["nbgrader"][k] for k in ("solution", "grade", "locked", "points")} == {
            "solution": True, "grade": True, "locked": False, "points": question.points}
    assert (stem == "07_compare") == ("course.hide_answers()" not in "\n".join(c.source for c in graded.cells))


def test_a_predictions_reading_opens_folded_in_the_student_copies_and_the_release(tmp_path: Path) -> None:
    """Where the text right below the cell that shows a prediction's answer reads it, the learner's copies open it
    folded (JupyterLab hides a cell's input under a bar showing its first line: the line asking for the prediction
    first); the kit's notebooks keep it open, and the book, built from student copies, opens it again."""
    from gencore.course.questions import READING_OPENINGS, fold_readings, unfold_readings
    from gencore.course.student import write_student_copies

    copies = {p.stem: nbformat.read(p, as_version=4) for p in write_student_copies(tmp_path / "student", NOTEBOOKS)}
    folded = []
    for stem, notebook in copies.items():
        original = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.metadata.get("jupyter", {}).get("source_hidden"):
                first, _, rest = cell.source.partition("\n\n")
                question = QUESTIONS[re.search(r"Question (\d\d\.\d)", first).group(1)]
                assert first == FOLD_LINE.format(id=question.id) and rest.startswith(READING_OPENINGS)
                assert question.notebook == stem and question.kind == "predict"
                assert question.shown_by in notebook.cells[index - 1].source
                assert original.cells[index].source == rest and "jupyter" not in original.cells[index].metadata
                assert "nbgrader" not in cell.metadata
                folded.append((question.id, stem))
        assert fold_readings(notebook) == []  # folding twice changes nothing
        code = [c.source for c in notebook.cells if c.cell_type == "code"]
        unfold_readings(notebook)  # what the book does to a student copy
        markdown = lambda nb: [c.source for c in nb.cells if c.cell_type == "markdown"]  # noqa: E731
        assert markdown(notebook) == markdown(original) and [c.source for c in notebook.cells if c.cell_type == "code"] == code
        assert not any(c.metadata.get("jupyter", {}).get("source_hidden") for c in notebook.cells)
    assert folded == [(q, QUESTIONS[q].notebook) for q in FOLDED_PREDICTIONS]
    guide = " ".join((REPO / "docs" / "instructors.md").read_text().split())
    assert f"reads it ({', '.join(q for q, _ in folded)}), that text opens folded" in guide


@pytest.mark.parametrize("stem", sorted({q.notebook for q in QUESTIONS.values()}))
def test_each_notebook_closes_with_its_key_takeaways(stem: str) -> None:
    cells = [c for c in nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4).cells if c.cell_type == "markdown"]
    (index,) = [i for i, c in enumerate(cells) if c.source.startswith("## Key takeaways")]
    assert cells[index + 1].source.startswith("## References")
    assert 3 <= cells[index].source.count("\n- ") <= 6


def test_every_number_the_solutions_guide_quotes_is_measured_or_arithmetic() -> None:
    """Its decimals are values of the shipped study (tables, cells, references, histories) or the rank correlations
    of its CIFAR-10 histories, as 06 computes them; the rest are the course's own constants and one formula."""
    from test_claims import NUMBER, _in_data, shipped_numbers

    from gencore.course.diffusion import read_sweeps
    from gencore.course.lessons import FITTED_VARIANCE, KL_ACTIVE_NATS, measured_points, spearman
    from gencore.course.study_view import study_history

    values = shipped_numbers()
    values += [spearman(*measured_points(study_history(model, "cifar10", latent), column)[1:])
               for model, column in (("wgan-gp", "emd"), ("gan", "jsd")) for latent in (64, 512)]
    values += [FITTED_VARIANCE, KL_ACTIVE_NATS, 0.1, 100 * 63 / 1023, 1.5]  # the figure's two thresholds; 04.2; points
    values += [row[k] for row in read_sweeps() for k in ("fd", "class_accuracy", "seconds_per_1000")]  # 09's sweeps
    guide = (REPO / "docs" / "solutions.md").read_text()
    guide, _, measured = guide.partition("\n## What learners' runs printed, measured")  # the runs', not the study's
    for question in QUESTIONS:
        guide = guide.replace(question, "")  # the questions' names, 01.1 to 07.2, are not numbers
    assert not [n for n in NUMBER.findall(guide) if not _in_data(n, values)]
    printed = " ".join(c["stdout"] for run in read_runs() for e in run["notebooks"].values() for c in e["cells"])
    assert not [n for n in NUMBER.findall(measured) if n not in NUMBER.findall(printed)]


def test_the_synthesis_question_closes_the_seed_studys_part_of_the_course() -> None:
    last = [q for q in QUESTIONS.values() if q.notebook == "07_compare"][-1]
    seed_study = [q for q in QUESTIONS.values() if q.notebook <= "07_compare"]
    assert last.kind == "synthesis" and seed_study[-1] is last
    assert [q.notebook for q in QUESTIONS.values() if q.notebook > "07_compare"] == (
        ["08_conditional"] * 2 + ["09_diffusion"] * 2)  # read after 07


def test_the_instructors_guide_lists_every_question_and_the_syllabus_adds_up() -> None:
    guide = (REPO / "docs" / "instructors.md").read_text()
    rows = re.findall(r"^\| `(\d\d_\w+)` \| (\d\d\.\d) \| ([a-z -]+) \| (\d+) \|", guide, re.M)
    assert rows == [(q.notebook, q.id, q.kind, str(q.points)) for q in QUESTIONS.values()]
    weeks = re.findall(r"^\| (\d) \| ((?:`\d\d_\w+`(?:, )?)+) \|[^|]+\| (\d+) \| (\d+) \| (\d+) \|$", guide, re.M)
    assert [w[0] for w in weeks] == ["1", "2", "3", "4", "5"]  # the seed study's three, then 08, then 09
    stems = [re.findall(r"`(\d\d_\w+)`", w[1]) for w in weeks]
    assert sorted(s for week in stems for s in week) == sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for (_, _, exercise_points, written_points, total), week in zip(weeks, stems):
        assert int(exercise_points) == sum(e.points for e in EXERCISES.values() if e.notebook in week)
        assert int(written_points) == sum(q.points for q in QUESTIONS.values() if q.notebook in week)
        assert int(total) == int(exercise_points) + int(written_points)


def _words(text: str) -> str:
    return " ".join(text.replace("*", "").split())


def _rubric_sentences() -> list[str]:
    """The solutions guide's own sentences and clauses (its rubrics), long enough to be distinctive."""
    text = (REPO / "docs" / "solutions.md").read_text()
    body = _words(re.sub(r"^(#+|-) ", "", text[text.index("## 01 "):], flags=re.M))
    return [part for part in re.split(r"(?<=[.;:])\s+|\s+\(\d(?:\.\d)? points?\)", body) if len(part) > 40]


def test_the_solutions_guide_has_a_rubric_for_every_question_and_no_student_copy_holds_it(tmp_path: Path) -> None:
    from gencore.course.student import write_student_copies

    guide = (REPO / "docs" / "solutions.md").read_text()
    headings = re.findall(r"^### (\d\d\.\d) · ([a-z -]+), (\d+) points?$", guide, re.M)
    assert headings == [(q.id, q.kind, str(q.points)) for q in QUESTIONS.values()]
    assert guide.count("A full answer") == len(QUESTIONS)
    lines = _rubric_sentences()
    assert len(lines) > 100
    copies = write_student_copies(tmp_path / "student", NOTEBOOKS)
    releases = [nbgrader_notebook(nbformat.read(p, as_version=4))[0] for p in sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb"))]
    for notebook in [nbformat.read(p, as_version=4) for p in copies] + releases:
        text = _words("\n".join(c.source for c in notebook.cells))
        leaked = [line for line in lines if line in text]
        assert not leaked, leaked[:3]


@pytest.mark.slow
def test_nbgrader_releases_and_autogrades_the_course(tmp_path: Path, fixture_root: Path) -> None:
    course = tmp_path / "course"
    written = subprocess.run(
        [sys.executable, "-m", "gencore", "course", "--nbgrader", str(course), "--timeout", "600",
         "--param", "use_reference=true", "--param", f"data_root={json.dumps(str(fixture_root))}",
         "--param", "subset=1000", "--param", "eval_samples=500", "--param", "exercise_subset=512",
         "--param", "critic_steps=20", "--param", "own_minutes=0", "--param", "sweep_samples=0",
         "--param", "cost_samples=16", "--param", "eval_every=0"], capture_output=True, text=True, timeout=300)
    assert written.returncode == 0, written.stderr[-2000:]
    written_points = {q.grade_id: q.points for q in QUESTIONS.values() if q.notebook == ASSIGNMENT}  # 05.1 and 05.2
    total = 6 + sum(written_points.values())
    assert f"source/{ASSIGNMENT}: {2 + len(written_points)} graded cells, {total} points" in written.stdout
    assert "c.Execute.timeout = 600" in (course / "nbgrader_config.py").read_text()

    for stem in sorted({e.notebook for e in EXERCISES.values()}):
        _nbgrader(course, "generate_assignment", stem, "--force")
        release = nbformat.read(course / "release" / stem / f"{stem}.ipynb", as_version=4)
        text = "\n".join(c.source for c in release.cells)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "check(" in text
        for exercise in (e for e in EXERCISES.values() if e.notebook == stem):  # no answer left in the release
            (answer,) = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"answer_{exercise.name}"]
            assert "raise NotImplementedError" in answer.source
            body = ast.parse(answer.source).body[0]
            assert isinstance(body, ast.FunctionDef) and len(body.body) == 2  # the docstring and the stub
        hidden = [c.source.partition("\n\n")[0] for c in release.cells if c.metadata.get("jupyter", {}).get("source_hidden")]
        assert hidden == [FOLD_LINE.format(id=q.id) for q in QUESTIONS.values() if q.notebook == stem
                          and q.id in FOLDED_PREDICTIONS]  # nbgrader keeps a reading folded
        for question in (q for q in QUESTIONS.values() if q.notebook == stem):  # written answers: graded by hand
            (answer,) = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == question.grade_id]
            assert answer.cell_type == "markdown" and answer.source == TEXT_STUB
            assert answer.metadata["nbgrader"]["points"] == question.points and answer.metadata["nbgrader"]["solution"]

    release = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in
                 nbgrader_notebook(nbformat.read(NOTEBOOKS / f"{ASSIGNMENT}.ipynb", as_version=4))[0].cells
                 if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    answers = {grade_id: source.replace("    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", "")
               for grade_id, source in solutions.items()}
    written = {grade_id: "The estimate fell with the penalty; the critic fell behind, so its gap is not W1."
               for grade_id in written_points}  # a learner's words: for the instructor to grade
    submissions = {"untouched": {}, "solved": {**answers, **written},
                   "batch_wide": {**answers, "answer_gradient_penalty": BATCH_WIDE_PENALTY}, **CALLS_GENCORE}
    for student, replace in submissions.items():
        notebook = nbformat.read(release, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in replace:
                cell.source = replace[grade_id]
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / release.name)

    _nbgrader(course, "autograde", ASSIGNMENT, "--force")
    _nbgrader(course, "export")
    scores = {row["student_id"]: (float(row["score"]), float(row["max_score"]))
              for row in csv.DictReader((course / "grades.csv").open()) if row["assignment"] == ASSIGNMENT}
    print("grades:", scores)
    assert scores == {"untouched": (0.0, total), "solved": (6.0, total), "batch_wide": (2.0, total),
                      "by_attribute_and_reference": (0.0, total), "by_names_taken_before": (0.0, total)}, scores

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:  # what the formgrader lists
        for student in submissions:
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            grades = {g: gradebook.find_grade(g, ASSIGNMENT, ASSIGNMENT, student) for g in written_points}
            if student == "solved":  # answered: left for the instructor, who sees them for manual grading
                assert notebook.needs_manual_grade and all(g.needs_manual_grade and g.auto_score is None
                                                            for g in grades.values())
            else:  # unanswered (the release's stub, unchanged): nbgrader scores them 0 itself
                assert not notebook.needs_manual_grade and all(g.auto_score == 0 for g in grades.values())

    for student, reasons in OWN_CODE_REASONS.items():  # each check fails with its one line, naming what was called
        graded = nbformat.read(course / "autograded" / student / ASSIGNMENT / release.name, as_version=4)
        failed = [o.evalue for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")
                  for o in c.get("outputs", []) if o.output_type == "error"]
        print(f"{student}:", *failed, sep="\n  ")
        assert len(failed) == 2 and all(line.startswith(reason) and "\n" not in line
                                        for line, reason in zip(failed, reasons)), failed

    graded = nbformat.read(course / "autograded" / "untouched" / ASSIGNMENT / release.name, as_version=4)
    code = [c for c in graded.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "the untouched submission's notebook ran to its last cell"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors and all(o.ename in ("ExerciseFailed", "NotImplementedError") for o in errors), \
        [(o.ename, o.evalue[:200]) for o in errors]
    # 08 and 09, past the seed study: blank 0, the solutions the exercises' full points (the written 5 of each wait
    # for the instructor)
    for past, expected in {"08_conditional": {"untouched": (0.0, 8.0), "solved": (3.0, 8.0)},
                           "09_diffusion": {"untouched": (0.0, 11.0), "solved": (6.0, 11.0)}}.items():
        release = course / "release" / past / f"{past}.ipynb"
        answers = {c.metadata["nbgrader"]["grade_id"]: c.source.replace("    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", "")
                   for c in nbgrader_notebook(nbformat.read(NOTEBOOKS / f"{past}.ipynb", as_version=4))[0].cells
                   if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
        assert list(answers) == [f"answer_{e.name}" for e in EXERCISES.values() if e.notebook == past]
        past_written = {q.grade_id: "A learner's words, for the instructor." for q in QUESTIONS.values() if q.notebook == past}
        for student, replace in {"untouched": {}, "solved": {**answers, **past_written}}.items():
            notebook = nbformat.read(release, as_version=4)
            for cell in notebook.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id") in replace:
                    cell.source = replace[cell.metadata["nbgrader"]["grade_id"]]
            (course / "submitted" / student / past).mkdir(parents=True)
            nbformat.write(notebook, course / "submitted" / student / past / release.name)
        _nbgrader(course, "autograde", past, "--force")
        _nbgrader(course, "export")
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"]))
                  for row in csv.DictReader((course / "grades.csv").open())
                  if row["assignment"] == past and row["student_id"] in ("untouched", "solved")}
        assert scores == expected, (past, scores)
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:  # the written answers wait for you
            for student in ("untouched", "solved"):
                grades = [gradebook.find_grade(g, past, past, student) for g in past_written]
                assert len(grades) == 2 and all(g.needs_manual_grade == (student == "solved") for g in grades), past
    shutil.rmtree(course / "autograded")  # the checks' traces are large; nothing else is needed
