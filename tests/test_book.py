"""The course as a book: `python -m gencore book --student` builds the site from the student copies
run on the shipped models (here the runs the notebook tests made, `--executed`, so no notebook
executes twice in CI); Debian's Chromium (as in test_browser) then reads every model
notebook's page as a learner would: its figures loaded with a size, its mathematics typeset by the
local MathJax (no raw TeX left), a note where a live widget would be, and no solution anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from gencore.course.book import FRONT_PAGE, WIDGET_NOTE
from gencore.course.exercises import EXERCISES
from gencore.course.source import HIDDEN_BODY
from test_browser import CHROMIUM, FLAGS, sync_playwright
from test_notebooks import NOTEBOOKS, _answer_lines

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None or sync_playwright is None,
                                                  reason="no Chromium (apt-get install chromium) or no Playwright")]

PAGE_STATE = """() => ({
    images: [...document.querySelectorAll('main img, .body img')].map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
    math: document.querySelectorAll('.MathJax, .MathJax_Display').length,
    typesetting: !(window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0),
    text: document.body.innerText,
    links: [...document.querySelectorAll('a')].map(a => a.getAttribute('href')),
})"""


@pytest.fixture(scope="module")
def student_book(tmp_path_factory: pytest.TempPathFactory, student: dict[str, Path]) -> Path:
    out = tmp_path_factory.mktemp("book")
    executed = next(iter(student.values())).parent
    result = subprocess.run([sys.executable, "-m", "gencore", "book", str(out), "--student", "--executed", str(executed)],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert f"open {out / 'html' / FRONT_PAGE}.html" in result.stdout
    return out / "html"


def test_the_book_has_every_notebook_in_reading_order(student_book: Path) -> None:
    record = json.loads((student_book / "book.json").read_text())
    stems = [p.stem for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    assert record == {"edition": "student", "chapters": stems}
    assert all((student_book / f"{stem}.html").stat().st_size > 0 for stem in stems)
    assert f"url={FRONT_PAGE}.html" in (student_book / "index.html").read_text()


def test_a_learner_reads_every_model_notebook_in_the_browser(student_book: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto((student_book / f"{FRONT_PAGE}.html").as_uri())
        front = page.evaluate(PAGE_STATE)
        assert {f"{p.stem}.html" for p in NOTEBOOKS} <= set(front["links"])  # the map leads to every notebook
        for path in NOTEBOOKS:
            page.goto((student_book / f"{path.stem}.html").as_uri())
            page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                                   "&& document.querySelectorAll('.MathJax, .MathJax_Display').length > 0", timeout=120_000)
            page.wait_for_load_state("load")
            state = page.evaluate(PAGE_STATE)
            images = state["images"]
            assert len(images) >= 3 and all(done and width > 0 and height > 0 for done, width, height in images), \
                (path.stem, images)
            assert state["math"] > 0 and "$$" not in state["text"] and "\\(" not in state["text"], path.stem
            assert WIDGET_NOTE.strip("*")[:40] in state["text"], f"{path.stem}: no note where the panel would be"
            assert "Folded so that you predict first" not in state["text"], f"{path.stem}: a page cannot fold"
            for exercise in (e for e in EXERCISES.values() if e.notebook == path.stem):  # the student edition
                assert "raise NotImplementedError" in state["text"]
                for line in _answer_lines(exercise.name):
                    assert line not in state["text"], f"{path.stem}'s page shows the answer to {exercise.name}: {line!r}"
            if path.stem in ("01_vae_mnist", "03_gan_mnist", "05_wgan_gp_mnist"):  # gencore's code, answers left out
                assert HIDDEN_BODY.split("#")[1].strip() in state["text"]
            page.screenshot(path=str(student_book.parent / f"{path.stem}.png"))
        browser.close()
