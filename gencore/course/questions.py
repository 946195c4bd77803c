"""The course's written questions: the learner predicts, reads a figure or explains a trade-off in
words, in a markdown answer cell below the question (tagged ``written``, with the question's id in
its ``question`` metadata). Each is a record here: its notebook, its points and, for a prediction,
the code cell that shows the answer, which must come after it. Under nbgrader the answer cell is a
manually graded answer cell worth the points (grading.nbgrader_notebook): autograde leaves it to
the instructor, whose rubric and solutions are in docs/solutions.md, a file no student copy holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ANSWER_TAG = "written"  # the tag of a written answer's markdown cell; its metadata "question" holds the id


@dataclass(frozen=True)
class Question:
    """One written question: where it is asked, what it is worth and what kind of thinking it asks for."""

    id: str  # "NN.k": the notebook's number and the question's place in it
    notebook: str
    points: int
    kind: str  # "predict" (before the cell that shows it), "read a figure", "trade-off", "synthesis"
    asks: str  # one line, for the instructor guide's table
    shown_by: str | None = None  # a prediction: a line of the code cell that shows the answer (it comes after)

    @property
    def grade_id(self) -> str:
        return "written_" + self.id.replace(".", "_")


QUESTIONS: dict[str, Question] = {q.id: q for q in (
    Question("01.1", "01_vae_mnist", 2, "predict",
             "what a 25 times heavier reconstruction (sigma^2 = 0.02) does to the KL, the squared error and the dimensions used",
             shown_by="variance_figure, variance_runs = lessons.decoder_variance_runs("),
    Question("01.2", "01_vae_mnist", 3, "trade-off", "what a smaller decoder variance buys and what it costs"),
    Question("01.3", "01_vae_mnist", 2, "read a figure", "the latent map: which digits neighbour each other, and what the 2-D "
             "model then confuses"),
    Question("02.1", "02_vae_cifar10", 2, "predict", "which spatial frequencies the VAE's images keep and lose",
             shown_by='"reconstructions": recon_many'),
    Question("02.2", "02_vae_cifar10", 3, "read a figure", "the KL per latent dimension: how many are used, why the loss closes "
             "the rest, and why 512 dimensions do not help"),
    Question("03.1", "03_gan_mnist", 3, "read a figure", "why the JSD estimate is not a distance to the data"),
    Question("03.2", "03_gan_mnist", 2, "predict", "the class shares of 10,000 samples, and whether the losses show "
             "mode collapse", shown_by="lessons.plot_class_shares("),
    Question("04.1", "04_gan_cifar10", 3, "trade-off", "which checkpoint of an unstable GAN to keep, and what choosing "
             "it costs"),
    Question("04.2", "04_gan_cifar10", 2, "predict", "the order of the Nyquist shares of real images, samples and "
             "noise, and the value for noise", shown_by="for name, images in"),
    Question("05.1", "05_wgan_gp_mnist", 2, "read a figure", "the loss curves: the Earth Mover estimate and the penalty, and "
             "what each says about the critic"),
    Question("05.2", "05_wgan_gp_mnist", 3, "predict", "whether critics trained against a frozen generator open a "
             "larger gap than the training estimate", shown_by="display(course.critic_catch_up("),
    Question("06.1", "06_wgan_gp_cifar10", 2, "predict", "which estimate's rank correlation with fd is higher, the "
             "Earth Mover one or the JSD", shown_by="display(lessons.progress_measures(panels))"),
    Question("06.2", "06_wgan_gp_cifar10", 3, "read a figure", "whether the Earth Mover estimate tracks fd in the learner's "
             "own run"),
    Question("07.1", "07_compare", 2, "read a figure", "with one CPU hour, which model to train on each dataset, and how "
             "sure the figure lets one be"),
    Question("07.2", "07_compare", 6, "synthesis", "the seed study's own questions: latent size, training length and "
             "the model, on each dataset, and what the losses can and cannot tell"),
    # Past the seed study: 08 is read after 07, so the synthesis closes the seed study's part of the course.
    Question("08.1", "08_conditional", 3, "read a figure", "what a column of the class-by-noise grid keeps across the "
             "classes in the cVAE and the cGAN, and why the ELBO leaves the class out of z"),
    Question("08.2", "08_conditional", 2, "predict", "which classes the conditional model confuses, in which direction, "
             "and why", shown_by="display(conditional.confusion_figure("),
    Question("09.1", "09_diffusion", 2, "predict", "how the seconds and fd move with the DDIM steps, and what more "
             "steps can and cannot make better", shown_by="shipped_sweeps = lesson.read_sweeps()"),
    Question("09.2", "09_diffusion", 3, "trade-off", "which shipped model, steps and guidance to draw 1,000 digits of one "
             "class live on a laptop, and what that choice gives up"),
)}


READING_OPENINGS = ("**Reading it.**", "**What it shows.**")  # how a notebook's text on a figure or table begins
# Plain text: JupyterLab's folded bar shows a cell's first line as typed, markup included.
FOLD_LINE = "Folded so that you predict first: answer Question {id} above, then click this bar to read on."


def fold_readings(notebook: Any) -> list[str]:
    """The student edition of a prediction, in place: for each prediction the notebook asks, the markdown
    cell right below the cell that shows its answer, where it starts with a READING_OPENINGS text that
    reads that answer, opens folded (its input hidden, as JupyterLab folds a cell) under FOLD_LINE as its
    first line (the line JupyterLab's folded bar shows). Any other cell there (a heading, a question, code)
    is left alone, and so is a reading already folded, so folding twice changes nothing. Returns the ids
    of the questions whose reading was folded."""
    folded = []
    for _, _, question in answer_cells(notebook):
        if question.shown_by is None:
            continue
        showing_cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and question.shown_by in c.source]
        if len(showing_cells) != 1 or showing_cells[0] + 1 >= len(notebook.cells):
            continue
        reading = notebook.cells[showing_cells[0] + 1]
        if reading.cell_type == "markdown" and reading.source.startswith(READING_OPENINGS):
            reading.source = FOLD_LINE.format(id=question.id) + "\n\n" + reading.source
            reading.metadata.setdefault("jupyter", {})["source_hidden"] = True
            folded.append(question.id)
    return folded


def unfold_readings(notebook: Any) -> None:
    """Undo fold_readings in place (for a static page, which cannot fold): each folded reading loses its
    first line and opens."""
    for cell in notebook.cells:
        first, _, rest = cell.source.partition("\n\n")
        if cell.cell_type == "markdown" and cell.metadata.get("jupyter", {}).get("source_hidden") and \
                first.startswith(FOLD_LINE.split("{id}")[0]):
            cell.source = rest
            del cell.metadata["jupyter"]["source_hidden"]
            if not cell.metadata["jupyter"]:
                del cell.metadata["jupyter"]


def answer_cells(notebook: Any) -> list[tuple[int, Any, Question]]:
    """(index, cell, question) of every written answer cell in a notebook, in order."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and ANSWER_TAG in cell.metadata.get("tags", []):
            found.append((index, cell, QUESTIONS[cell.metadata["question"]]))
    return found


__all__ = ["ANSWER_TAG", "FOLD_LINE", "QUESTIONS", "READING_OPENINGS", "Question", "answer_cells", "fold_readings",
           "unfold_readings"]
