"""Sentences in the notebooks that quote the shipped study, checked against the shipped files.

Each test derives the quoted numbers (and directions: "rises", "falls") from
notebooks/reference/study and asserts that the notebook's text says exactly that, so it fails
when the data or the sentence changes without the other. Numbers are compared as the text
rounds them.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, real_data_root
from gencore.course import STUDY
from gencore.course.lessons import KL_ACTIVE_NATS
from gencore.course.study_view import study_cells
from gencore.quality.reference import manifest
from gencore.studies.results import read_table, tell_apart

NUMBER = re.compile(r"(?<![\w.^/-])-?\d+\.\d+(?![\w.])")  # 14.24, 0.38, -0.03: not 1e-4, v1.2.3 or 2^{1/2}
STUDY_NOTEBOOKS = ("01_vae_mnist", "02_vae_cifar10", "03_gan_mnist", "04_gan_cifar10", "05_wgan_gp_mnist",
                   "06_wgan_gp_cifar10", "07_compare")


def _text(stem: str) -> str:
    """The notebook's text, as its paired py:percent file holds it, with comment markers removed."""
    lines = (REPO / "notebooks" / f"{stem}.py").read_text().splitlines()
    return " ".join(line.removeprefix("#").strip() for line in lines)


def _history(run: str) -> dict[int, dict[str, float]]:
    rows = csv.DictReader((STUDY / run / "history.csv").open())
    return {int(float(r["epoch"])): {k: float(v) for k, v in r.items() if v not in ("", None)} for r in rows}


def test_03_says_the_jsd_estimate_rises_at_latent_2_while_fd_improves_and_falls_at_latent_64() -> None:
    z2, z64 = _history("gan-mnist-z2"), _history("gan-mnist-z64")
    last = max(z2)
    assert z2[5]["jsd"] < z2[last]["jsd"] and z2[last]["fd"] < z2[5]["fd"]  # rises while fd improves
    assert z64[last]["jsd"] < z64[1]["jsd"]  # falls
    text = _text("03_gan_mnist")
    assert (f"At latent 64 it falls from {z64[1]['jsd']:.2f} after epoch 1 to {z64[last]['jsd']:.2f} after epoch {last}"
            in text), text
    assert f"at latent 2 it falls to {z2[5]['jsd']:.2f} by epoch 5 and then **rises** to {z2[last]['jsd']:.2f}" in text
    assert f"(9.3 at epoch 5, 4.9 at epoch {last})" in text and (round(z2[5]["fd"], 1), round(z2[last]["fd"], 1)) == (9.3, 4.9)


def test_02_counts_active_latent_dimensions_at_the_figures_threshold() -> None:
    def active(latent: int, threshold: float) -> int:
        rows = csv.DictReader((STUDY / f"vae-cifar10-z{latent}" / "kl_per_dimension.csv").open())
        return sum(float(r["kl_nats"]) > threshold for r in rows)

    text = _text("02_vae_cifar10")
    assert KL_ACTIVE_NATS == 0.01  # the figure's dashed line, which the text names
    assert (f"{active(64, KL_ACTIVE_NATS)} of the latent-64 VAE's 64 dimensions carry more than 0.01 nats" in text
            and f"{active(64, 0.1)} more than 0.1 nats" in text), text
    assert (f"has {active(512, KL_ACTIVE_NATS)} of its 512 above 0.01 nats and only {active(512, 0.1)} above 0.1"
            in text), text


def test_01_quotes_the_shipped_vaes_squared_error_per_pixel_and_the_weight_it_implies() -> None:
    per_pixel = []
    for run, pixels in (("vae-mnist-z2", 784), ("vae-mnist-z64", 784), ("vae-cifar10-z64", 3072), ("vae-cifar10-z512", 3072)):
        history = _history(run)
        per_pixel.append(history[max(history)]["test_mse"] / pixels)
    assert 0.02 <= min(per_pixel) and max(per_pixel) <= 0.04, per_pixel
    weights = [1 / (2 * mse) for mse in per_pixel]  # a fitted variance's weight, against 1 for variance 1/2
    assert 12 <= min(weights) and max(weights) <= 25, weights
    text = _text("01_vae_mnist")
    assert "a squared error of 0.02 to 0.04 per pixel" in text and "12 to 25 times more" in text, text


def test_a_claim_check_fails_when_the_sentence_and_the_data_disagree(tmp_path: Path) -> None:
    """The mechanism can fail: the old sentence of 03 ('keeps falling towards 0') is not what the data says."""
    z2 = _history("gan-mnist-z2")
    old_sentence = "the Jensen-Shannon estimate keeps falling towards 0"
    assert not (z2[max(z2)]["jsd"] < z2[5]["jsd"])  # the data contradicts it at latent 2
    assert old_sentence not in _text("03_gan_mnist")


# ---------------------------------------------------------------------- every number of a finding is in the data


def _paragraphs(text: str) -> list[str]:
    """A notebook's (or document's) markdown paragraphs, comment markers removed."""
    lines = [line.removeprefix("#").strip() for line in text.splitlines()]
    lines = ["" if line.startswith("%%") else line for line in lines]  # a cell marker ends a paragraph
    return [" ".join(block.split("\n")).strip() for block in "\n".join(lines).split("\n\n")]


PAIRS = {"01": "vae-mnist", "02": "vae-cifar10", "03": "gan-mnist", "04": "gan-cifar10", "05": "wgan-gp-mnist",
         "06": "wgan-gp-cifar10", "07": "", "docs": ""}  # whose histories a finding may quote ("": any run's)
QUOTED_HISTORY = ("fd", "jsd", "emd")  # the history columns findings quote


def findings() -> dict[str, str]:
    """Every paragraph that reports what the shipped study found: the notebooks' "What it shows." paragraphs and
    the study document's "What the rows say." list, by where they are ("NN_name paragraph K" or "docs/study.md")."""
    found = {}
    for stem in STUDY_NOTEBOOKS:
        for index, paragraph in enumerate(_paragraphs((REPO / "notebooks" / f"{stem}.py").read_text())):
            if paragraph.startswith("**What it shows.**"):
                found[f"{stem} paragraph {index}"] = paragraph
    study_doc = (REPO / "docs" / "study.md").read_text()
    found["docs/study.md"] = study_doc[study_doc.index("What the rows say."):study_doc.index("Reproduce it with")]
    return found


def shipped_numbers(pair: str = "") -> list[float]:
    """The numbers a finding may quote: every table row and floor, each cell's mean and spread, the shipped
    models' measurements, and the fd, JSD and Earth Mover columns of the histories of ``pair``'s runs."""
    values: list[float] = []
    for row in read_table(STUDY) + study_cells():
        values += [v for v in row.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for path in STUDY.glob(f"{pair}*/history.csv"):
        for row in csv.DictReader(path.open()):
            values += [float(row[k]) for k in QUOTED_HISTORY if row.get(k) not in ("", None)]
    for entry in manifest()["models"].values():
        values += [v for v in entry.values() if isinstance(v, (int, float))]
    return values


def _in_data(number: str, values: list[float]) -> bool:
    digits = len(number.split(".")[1])
    return any(round(v, digits) == float(number) for v in values)


def test_every_number_in_a_finding_is_in_the_shipped_data() -> None:
    """A finding quotes the data: each decimal in it must be a value of the shipped table, its cells, a shipped
    model or its own pair's histories, as the text rounds it. A rerun study that changes a number fails here until
    the sentence is rewritten, and so does a mistyped one."""
    paragraphs = findings()
    assert len(paragraphs) >= 7, sorted(paragraphs)  # one per study notebook, and the document
    missing = {}
    for where, text in paragraphs.items():
        values = shipped_numbers(PAIRS[where[:2]] if where[:2] in PAIRS else "")
        missing[where] = [n for n in NUMBER.findall(text) if not _in_data(n, values)]
    assert not any(missing.values()), {where: numbers for where, numbers in missing.items() if numbers}


def test_no_finding_generalises_past_its_runs() -> None:
    """Claims sized to their evidence: one seed per setting is said, and no sentence speaks for every run."""
    for where, text in findings().items():
        assert "in every WGAN-GP run" not in text and "every run" not in text.lower(), where
    assert "in every WGAN-GP run" not in (REPO / "README.md").read_text()


@pytest.mark.parametrize(("model", "dataset", "a", "b", "words"), [
    ("vae", "mnist", (64, 20), (2, 20), "latent 64 beats latent 2 after 20 epochs by far more than the seed-to-seed spread"),
    ("vae", "cifar10", (64, 20), (512, 20), "latent 512 is worse than latent 64 by more than the spread"),
])
def test_a_comparison_the_text_makes_is_larger_than_the_spread(model: str, dataset: str, a: tuple[int, int],
                                                               b: tuple[int, int], words: str) -> None:
    cells = {(c["latent_dim"], c["epochs"]): c for c in study_cells(model, dataset)}
    assert tell_apart(cells[a], cells[b]) is True and cells[a]["fd"] < cells[b]["fd"], (cells[a], cells[b])
    assert any(words in text for text in findings().values()), words


# ---------------------------------------------------------------------- the floor, and noise


def _noise(shape: tuple[int, ...], n: int = 10_000) -> Any:
    import torch

    return torch.rand((n, *shape), generator=torch.Generator().manual_seed(0))


@pytest.mark.slow  # two meters and 40,000 images through the shipped classifiers: about a minute
@pytest.mark.skipif(real_data_root() is None, reason="the floor is measured on the real datasets")
def test_the_floor_and_noise_rows_quoted_in_the_docs_and_notebooks_are_measured() -> None:
    import torch

    from gencore.quality.metrics import quality_meter
    from gencore.quality.reference import shipped_floor

    quality_doc = " ".join((REPO / "docs" / "quality.md").read_text().split())
    root = str(real_data_root())
    for dataset, title, shape in (("mnist", "MNIST", (1, 28, 28)), ("cifar10", "CIFAR-10", (3, 32, 32))):
        meter = quality_meter(dataset, root, classifier="shipped")
        noise = meter.measure(_noise(shape))
        floor = shipped_floor(dataset)
        assert floor is not None and floor["n"] == 10_000
        readme_row = f"| real {title} (the floor) | {floor['fd']:.2f} | {floor['classes_covered']} | {floor['confidence']:.2f} |"
        assert readme_row in (REPO / "README.md").read_text(), readme_row
        for what, q in (("real", floor), ("uniform noise,", noise)):
            row = (f"| {what} {title}{' (the floor)' if what == 'real' else ''} | {q['fd']:.2f} | {q['classes_covered']} | "
                   f"{q['confidence']:.2f} | {q['recognised']:.2f} |")
            assert row in quality_doc, row
        # Noise is far from the floor on every measure.
        assert noise["fd"] > 100 * floor["fd"] and noise["classes_covered"] <= 1
        assert noise["confidence"] < 0.6 * floor["confidence"] and noise["recognised"] < 0.5 * floor["recognised"]
        if dataset == "mnist":
            with torch.no_grad():  # the classifier alone, without the real images' range: fooled
                unchecked = float(meter.classifier.model(_noise(shape)).softmax(1).max(1).values.mean())
            assert f"uniform noise a top-class probability of {unchecked:.2f}, above its {floor['confidence']:.2f}" in quality_doc
            notebook = _text("01_vae_mnist")
            assert f"uniform noise a digit with probability {unchecked:.2f}" in notebook
            assert f"Uniform noise scores fd {noise['fd']:.0f}, no class and confidence 0" in notebook
            assert noise["classes_covered"] == 0 and round(noise["confidence"], 2) == 0


def _earth_mover_course(run: str) -> tuple[float, int, int]:
    """(peak of the Earth Mover estimate, its epoch, the first later epoch below 1) of a shipped run; and it stays below 1."""
    history = _history(run)
    peak_epoch = max(history, key=lambda e: history[e]["emd"])
    below = min(e for e in history if e > peak_epoch and history[e]["emd"] < 1)
    assert all(history[e]["emd"] < 1 for e in history if e >= below), run
    return history[peak_epoch]["emd"], peak_epoch, below


def test_05_quotes_the_earth_mover_estimates_climb_and_fall_in_the_shipped_mnist_runs() -> None:
    (p2, e2, b2), (p64, e64, b64) = _earth_mover_course("wgan-gp-mnist-z2"), _earth_mover_course("wgan-gp-mnist-z64")
    z64 = _history("wgan-gp-mnist-z64")
    text = _text("05_wgan_gp_mnist")
    assert e2 == e64 and f"climbs to a peak of about 25 in epoch {e2} ({p2:.1f} at latent 2, {p64:.1f} at latent 64)" in text
    assert round(p2) == round(p64) == 25 or abs(p2 - 25) < 1 and abs(p64 - 25) < 1
    assert f"below 1 by epoch {b2} (latent 2) and {b64} (latent 64), and stays below 1 to epoch 100" in text
    assert z64[25]["fd"] > z64[100]["fd"]  # fd goes on falling
    assert f"(latent 64: {z64[25]['fd']:.2f} at epoch 25 and {z64[100]['fd']:.2f} at epoch 100" in text


def test_the_documents_tables_are_the_shipped_ones() -> None:
    """docs/study.md shows the references and the study as the package holds them (regenerate them with
    gencore.quality.reference.reference_markdown and the study's results.md when either changes)."""
    from gencore.quality.reference import reference_markdown
    from gencore.studies.results import cells, cells_markdown

    doc = (REPO / "docs" / "study.md").read_text()
    assert reference_markdown() in doc
    rows = [r for r in read_table(STUDY) if r["model"] != "real"]
    assert cells_markdown(cells(rows)) in doc
    assert cells_markdown(cells(rows)) in (STUDY / "results.md").read_text()


def test_06_quotes_the_earth_mover_estimates_peak_and_fall_in_the_shipped_cifar10_runs() -> None:
    (p64, e64, b64), (p512, e512, b512) = (_earth_mover_course("wgan-gp-cifar10-z64"),
                                           _earth_mover_course("wgan-gp-cifar10-z512"))
    text = _text("06_wgan_gp_cifar10")
    assert (f"climbs to a peak ({p64:.1f} in epoch {e64} at latent 64, {p512:.1f} in epoch {e512} at latent 512), "
            f"then falls below 1 in epoch {b64} and {b512}") in text
    speed = (REPO / "docs" / "speed.md").read_text()
    assert f"below 1 in epoch {b64} (latent 64) and {b512} (latent 512)" in " ".join(speed.split())


def test_06_reads_the_rank_correlations_and_ranges_of_the_shipped_histories() -> None:
    from gencore.course.lessons import measured_points, spearman
    from gencore.course.study_view import study_history

    rho = {}
    points = {}
    for model, column in (("wgan-gp", "emd"), ("gan", "jsd")):
        for latent in (64, 512):
            epochs, estimates, fds = measured_points(study_history(model, "cifar10", latent), column)
            rho[(model, latent)] = spearman(estimates, fds)
            points[(model, latent)] = dict(zip(epochs, zip(estimates, fds)))
    text = _text("06_wgan_gp_cifar10")
    assert f"weak ($\\rho$ = {rho[('wgan-gp', 64)]:+.2f})" in text and f"agree ($\\rho$ = {rho[('wgan-gp', 512)]:+.2f})" in text
    assert f"about as well ($\\rho$ = {rho[('gan', 64)]:+.2f})" in text
    late64 = [fd for epoch, (_, fd) in points[("wgan-gp", 64)].items() if epoch >= 20]
    assert (round(min(late64)), round(max(late64))) == (19, 31) and "wandering between 19 and 31" in text
    z512 = _history("wgan-gp-cifar10-z512")
    assert f"fd falls from {z512[20]['fd']:.1f} to {z512[100]['fd']:.1f}" in text
    assert f"creeps towards 0 ({z512[20]['emd']:.2f} at epoch 20, {z512[100]['emd']:.2f} at epoch 100)" in text


def test_the_wgan_gp_cifar10_reference_is_quoted_as_shipped() -> None:
    from gencore.quality.reference import load_reference

    wgan, gan = manifest()["models"]["wgan-gp-cifar10"], manifest()["models"]["gan-cifar10"]
    config = wgan["config"]
    assert (config["n_critic"], config["width"], config["critic_norm"]) == (5, 32, "layer")  # the setting the text names
    assert "--critic-norm layer" in wgan["trained_by"]
    history = {int(row["epoch"]): row for row in load_reference("wgan-gp-cifar10").history}
    text = _text("06_wgan_gp_cifar10")
    assert f"fd was {history[5]['fd']:.1f} after 5 epochs" in text
    assert min(row["emd"] for row in history.values()) > 1.0 and "never came near 0" in text  # "never near 0"
    assert (f"{wgan['epochs_done']} epochs, fd {wgan['fd']:.2f}, within 1.5x of the GAN reference's (fd {gan['fd']:.2f}, 04)"
            in text)
    ratio = wgan["fd"] / gan["fd"]
    assert ratio <= 1.5  # the target the text claims is met
    speed = " ".join((REPO / "docs" / "speed.md").read_text().split())
    assert f"fd {wgan['fd']:.2f} on 10,000 samples, {ratio:.2f}x the GAN reference's {gan['fd']:.2f}" in speed
    last = max(history)
    assert (f"{history[5]['fd']:.1f} (epoch 5), {history[10]['fd']:.1f} (10), {history[last]['fd']:.1f} ({last})" in speed
            and f"{history[5]['fd']:.1f} after 5 epochs" in speed and f"{history[last]['fd']:.1f} after {last}" in speed)
    emd = [row["emd"] for row in history.values()]
    assert f"never fell near 0 ({min(emd):.2f} to {max(emd):.2f} over the run" in speed


def test_01_reads_the_vae_seeds_classes_the_single_100_epoch_runs_and_the_still_falling_test_loss() -> None:
    cells = {(c["latent_dim"], c["epochs"]): c for c in study_cells("vae", "mnist")}
    rows = [r for r in read_table(STUDY) if (r["model"], r["dataset"], r["epochs"]) == ("vae", "mnist", 20)]
    classes = {z: sorted({r["classes_covered"] for r in rows if r["latent_dim"] == z}) for z in (2, 64)}
    text = _text("01_vae_mnist")
    assert classes == {2: [5, 6], 64: [8, 9]} and "cover 5 or 6 of the 10 digits, the 64-D models' 8 or 9" in text
    fds = sorted(r["fd"] for r in rows if r["latent_dim"] == 2)
    assert f"between {fds[0]:.2f} and {fds[-1]:.2f}" in text and cells[(64, 20)]["fd_sd"] < cells[(2, 20)]["fd_sd"] / 3
    assert cells[(2, 100)]["fd_n"] == cells[(64, 100)]["fd_n"] == 1 and "one run of each size" in text
    for z in (2, 64):  # each 100-epoch run against its own seed's 20-epoch row: a quarter to a half
        own = next(r["fd"] for r in rows if r["latent_dim"] == z and not r.get("seed"))
        assert 0.25 <= cells[(z, 100)]["fd"] / own <= 0.5, z
    assert "a quarter to a half of the fd its own seed had after 20" in text
    for run in ("vae-mnist-z2", "vae-mnist-z64"):
        history = _history(run)
        assert history[20]["test_total"] < history[19]["test_total"], run  # still falling at epoch 20
    bits = (cells[(64, 20)]["bits_per_dim"], cells[(2, 20)]["bits_per_dim"])
    assert bits[0] < bits[1] - cells[(64, 20)]["bits_per_dim_sd"] - cells[(2, 20)]["bits_per_dim_sd"]


def test_04_reads_the_gan_cifar10_history_and_does_not_rank_one_seed_runs_closer_than_the_spread() -> None:
    history = _history("gan-cifar10-z64")
    measured = {e: row for e, row in history.items() if "fd" in row}
    best = min(measured, key=lambda e: measured[e]["fd"])
    text = _text("04_gan_cifar10")
    assert f"best point at epoch {best} ({measured[best]['fd']:.2f} on 2,000 samples)" in text
    assert f"climbs back from {history[best]['jsd']:.2f} to {history[100]['jsd']:.2f} at epoch 100" in text
    cells = {(c["latent_dim"], c["epochs"]): c for c in study_cells("gan", "cifar10")}
    gan_mnist_spread = max(c["fd_sd"] for c in study_cells("gan", "mnist") if (c.get("fd_n") or 0) >= 3)
    for epochs in (20, 100):
        gap = abs(cells[(512, epochs)]["fd"] - cells[(64, epochs)]["fd"])
        assert cells[(64, epochs)]["fd_n"] == 1 and gap < 1.1 and gap < 2 * gan_mnist_spread, (epochs, gap)
    assert "these runs cannot tell the two latent sizes apart" in text and "a little ahead" not in text


def test_05_compares_one_seed_wgan_gp_runs_only_by_gaps_beyond_the_largest_mnist_spread() -> None:
    cells = {(c["latent_dim"], c["epochs"]): c for c in study_cells("wgan-gp", "mnist")}
    mnist_spreads = [c["fd_sd"] for m in ("vae", "gan") for c in study_cells(m, "mnist") if (c.get("fd_n") or 0) >= 3]
    largest = max(mnist_spreads)
    text = _text("05_wgan_gp_mnist")
    assert f"(at most {largest:.2f}, the VAE's at latent 2)" in text
    largest_cell = max((c for m in ("vae", "gan") for c in study_cells(m, "mnist") if (c.get("fd_n") or 0) >= 3),
                       key=lambda c: c["fd_sd"])
    assert (largest_cell["model"], largest_cell["latent_dim"]) == ("vae", 2)
    for epochs in (20, 100):
        assert cells[(64, epochs)]["fd_n"] == 1 and cells[(2, epochs)]["fd"] - cells[(64, epochs)]["fd"] > largest


def test_06_sizes_the_latent_512_reading_to_the_largest_measured_spread() -> None:
    cells = {(c["latent_dim"], c["epochs"]): c for c in study_cells("wgan-gp", "cifar10")}
    seeded = [c for m in ("vae", "gan") for d in ("mnist", "cifar10") for c in study_cells(m, d) if (c.get("fd_n") or 0) >= 3]
    largest = max(seeded, key=lambda c: c["fd_sd"])
    gap = {e: cells[(64, e)]["fd"] - cells[(512, e)]["fd"] for e in (20, 100)}
    assert all(0 < g < 2 * largest["fd_sd"] for g in gap.values()), (gap, largest["fd_sd"])
    assert (largest["model"], largest["dataset"], largest["latent_dim"]) == ("vae", "mnist", 2)
    text = _text("06_wgan_gp_cifar10")
    assert (f"both gaps are within twice the largest seed-to-seed spread the study measured ({largest['fd_sd']:.2f}, the "
            "VAE's at latent 2 on MNIST): these runs cannot tell the two latent sizes apart") in text


@pytest.mark.slow  # two short VAE runs at the notebook's defaults: about a minute
@pytest.mark.skipif(real_data_root() is None, reason="01's lesson is read on the real MNIST")
def test_01s_variance_lesson_reads_as_its_text_says_at_the_notebooks_defaults(tmp_path: Path) -> None:
    import ast

    from gencore.course.lessons import FITTED_VARIANCE, decoder_variance_runs
    from gencore.engine.config import TrainConfig

    cell = (REPO / "notebooks" / "01_vae_mnist.py").read_text().split("# %%")[2]
    defaults = {n.target.id: ast.literal_eval(n.value) for n in ast.parse(cell.split("\n", 1)[1]).body
                if isinstance(n, ast.AnnAssign) and n.target.id in ("variance_epochs", "variance_subset")}
    config = TrainConfig(model="vae", dataset="mnist", data_root=str(real_data_root()))
    _, (seed, fitted) = decoder_variance_runs(config, (0.5, FITTED_VARIANCE), str(tmp_path), defaults["variance_epochs"],
                                              defaults["variance_subset"])
    assert fitted["kl_nats"] > 3 * seed["kl_nats"] and fitted["mse_per_pixel"] < seed["mse_per_pixel"], (seed, fitted)
    assert "the KL grows several-fold, the squared error falls" in _text("01_vae_mnist")


def test_03_cannot_rank_the_gan_latent_sizes_but_can_rank_the_gan_against_the_vae() -> None:
    from gencore.course.study_view import study_comparisons
    from gencore.studies.results import largest_spread

    gan = {(c["latent_dim"], c["epochs"]): c for c in study_cells("gan", "mnist")}
    vae = {(c["latent_dim"], c["epochs"]): c for c in study_cells("vae", "mnist")}
    borrowed = largest_spread(list(gan.values()))["fd_sd"]
    for epochs in (20, 100):
        assert tell_apart(gan[(64, epochs)], gan[(2, epochs)], borrowed_sd=borrowed) is False, epochs
    assert sum("these runs cannot tell them apart" in line for line in study_comparisons("gan", "mnist")[:2]) == 2
    spreads = [c["fd_sd"] for m in ("vae", "gan") for c in study_cells(m, "mnist") if (c.get("fd_n") or 0) >= 3]
    assert vae[(2, 100)]["fd"] - gan[(2, 20)]["fd"] > gan[(2, 20)]["fd_sd"] + max(spreads)  # "by far more than any spread"
    z2 = sorted(r["fd"] for r in read_table(STUDY) if (r["model"], r["dataset"], r["latent_dim"], r["epochs"]) == ("gan", "mnist", 2, 20))
    text = _text("03_gan_mnist")
    assert f"the latent-2 seeds end between {z2[0]:.2f} and {z2[-1]:.2f} after 20 epochs" in text
    assert "cannot tell the two sizes apart at either length" in text


def test_the_readmes_run_all_range_is_the_measured_tables() -> None:
    """The README quotes the shortest and longest Run All of docs/course.md's measured table."""
    course = (REPO / "docs" / "course.md").read_text()
    seconds = [int(s) for s in re.findall(r"^\| `0\d_\w+` \| (\d+) \|$", course, re.M)]
    assert len(seconds) == 8  # one row per notebook, 00 to 07
    readme = " ".join((REPO / "README.md").read_text().split())
    assert f"*Run All* takes {min(seconds)} s to {max(seconds) / 60:.1f} minutes per notebook" in readme
