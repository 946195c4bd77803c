"""Sentences in the notebooks that quote the shipped study, checked against the shipped files.

Each test derives the quoted numbers (and directions: "rises", "falls") from
notebooks/reference/study and asserts that the notebook's text says exactly that, so it fails
when the data or the sentence changes without the other. Numbers are compared as the text
rounds them.
"""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import REPO
from gencore.course import STUDY
from gencore.course.lessons import KL_ACTIVE_NATS


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
