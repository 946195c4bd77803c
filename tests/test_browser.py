"""The course as a learner meets it: a real JupyterLab on 127.0.0.1, driven in Debian's Chromium by
Playwright (never a downloaded browser). Runs a notebook prepared with small parameters, checks that
no cell shows an error, trains, stops and compares in the panel, picks a class in 08's class picker, checks that its images are fully
visible and undistorted at 1366x768 with the file browser open, and reopens the saved notebook with
a new kernel. Screenshots are kept in $GENCORE_SCREENSHOTS (else the test's temporary folder)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, real_data_root

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - requirements.txt installs it
    sync_playwright = None

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None or sync_playwright is None,
                                reason="no Chromium (apt-get install chromium) or no Playwright for Python on this machine")]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
TOKEN = "gencore-browser-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, fixture_root: Path):  # noqa: ANN201 - generator fixture
    """A JupyterLab serving a folder that holds 01_vae_mnist with small parameters."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    root = tmp_path_factory.mktemp("lab")
    data = real_data_root() or fixture_root
    notebook = parameterize_notebook(load_notebook_node(str(REPO / "notebooks" / "01_vae_mnist.ipynb")), {
        "epochs": 1, "subset": 512, "data_root": str(data), "runs_dir": str(root / "runs"), "eval_samples": 300,
        "exercise_subset": 256, "use_reference": False, "own_minutes": 0})  # Run All trains the run the panel then shows
    nbformat.write(notebook, root / "course.ipynb")
    conditional = parameterize_notebook(load_notebook_node(str(REPO / "notebooks" / "08_conditional.ipynb")), {
        "data_root": str(data), "runs_dir": str(root / "runs"), "eval_samples": 300, "use_reference": True,
        "exercise_epochs": 0, "own_minutes": 0})  # the shipped conditional models, nothing trained
    nbformat.write(conditional, root / "conditional.ipynb")
    port = _free_port()
    outside = tmp_path_factory.mktemp("lab-state")
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(outside / "settings"), "JUPYTER_RUNTIME_DIR": str(outside / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(outside / "workspaces"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={TOKEN}", "--ServerApp.allow_root=True", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=open(outside / "lab.log", "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, (outside / "lab.log").read_text()[-3000:]
            time.sleep(0.5)
    shots = Path(os.environ.get("GENCORE_SCREENSHOTS", root / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield {"url": url, "root": root, "browser": browser, "shots": shots}
        browser.close()
    server.terminate()
    server.wait(timeout=30)


def _open(lab: dict, page, name: str = "course.ipynb") -> None:  # noqa: ANN001
    # reset: only this notebook open, as a learner who opens it from the file browser has it (the server
    # otherwise restores the last test's tabs, whose cells the page-wide locators below would read too)
    page.goto(f"{lab['url']}/lab/tree/{name}?reset&token={TOKEN}")
    try:
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    except Exception:
        page.screenshot(path=str(lab["shots"] / f"open-{name}.png"))
        raise
    status = page.locator("#jp-main-statusbar")
    _wait(lambda: "Python 3" in status.inner_text() and "Idle" in status.inner_text(), 90, "the kernel did not start")
    # "get notified about official Jupyter news?": exact, since a plain name="No" also matches the
    # toolbar's "Notebook" buttons, which are not always visible
    news = page.get_by_role("button", name="No", exact=True)
    if news.count() and news.first.is_visible():
        news.first.click()


def _run_all(page, shots: Path) -> None:  # noqa: ANN001
    page.get_by_role("menuitem", name="Run").first.click()
    page.get_by_role("menuitem", name="Run All Cells").first.click()
    time.sleep(2)
    deadline = time.monotonic() + float(os.environ.get("GENCORE_RUN_ALL_S", 600))
    while page.locator(".jp-InputArea-prompt:text-is('[*]:')").count() or page.locator(".jp-InputArea-prompt:text-is('[ ]:')").count():
        if time.monotonic() > deadline:
            page.screenshot(path=str(shots / "run-all-unfinished.png"), full_page=True)
            cells = page.locator(".jp-CodeCell").all()
            waiting = [(c.locator(".jp-InputArea-prompt").inner_text(), c.locator(".jp-InputArea-editor").inner_text()[:80])
                       for c in cells if c.locator(".jp-InputArea-prompt").inner_text() in ("[*]:", "[ ]:")]
            raise AssertionError(f"Run All did not finish in time; cells still waiting: {waiting[:4]}")
        time.sleep(1)


def _errors(page) -> list[str]:  # noqa: ANN001
    texts = page.locator(".jp-OutputArea-output").all_inner_texts()
    return [t[:300] for t in texts if "Error displaying widget" in t or "Traceback" in t or "Error:" in t.split("\n")[0]]


def _panel(page):  # noqa: ANN001, ANN202
    return page.locator(".jp-OutputArea-output .widget-vbox").filter(has=page.get_by_role("button", name="Train")).last


def _image_sources(panel) -> list[str]:  # noqa: ANN001
    return [image.get_attribute("src") or "" for image in panel.locator("img.widget-image").all()[:2]]


def _wait(condition, timeout: float, message: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.25)


def test_a_learner_runs_the_notebook_trains_stops_and_compares_in_the_panel(lab: dict) -> None:
    page = lab["browser"].new_page(viewport={"width": 1366, "height": 768})
    _open(lab, page)
    assert page.locator(".jp-DirListing").is_visible(), "the file browser is open, as a learner has it"
    _run_all(page, lab["shots"])
    page.screenshot(path=str(lab["shots"] / "01-after-run-all.png"))
    assert _errors(page) == []

    panel = _panel(page)
    panel.scroll_into_view_if_needed()
    status = panel.locator(".widget-html-content").first
    assert "Showing the finished run" in status.inner_text()  # the run Run All trained, shown before any Train
    page.screenshot(path=str(lab["shots"] / "02-panel-before-train.png"))

    panel.get_by_label("latent size").fill("2")
    panel.get_by_label("epochs").fill("3")
    seen = {tuple(_image_sources(panel))}
    panel.get_by_role("button", name="Train").click()

    def changed_twice() -> bool:
        seen.add(tuple(_image_sources(panel)))
        return len(seen) >= 3

    _wait(changed_twice, 300, "the loss image and sample grid did not change twice while training")
    _wait(lambda: status.inner_text().startswith("finished"), 300, f"training did not finish: {status.inner_text()}")
    page.screenshot(path=str(lab["shots"] / "03-panel-trained.png"))

    # Every image of the panel is fully visible at 1366x768 with the file browser open, and undistorted.
    for image in panel.locator("img.widget-image").all():
        image.scroll_into_view_if_needed()
        box = image.bounding_box()
        notebook = page.locator(".jp-NotebookPanel").bounding_box()
        assert box["x"] >= notebook["x"] and box["x"] + box["width"] <= notebook["x"] + notebook["width"] + 1, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= 768 + 1, box
        natural = image.evaluate("i => i.naturalWidth / i.naturalHeight")
        assert abs(box["width"] / box["height"] - natural) / natural < 0.03, (box, natural)
    page.screenshot(path=str(lab["shots"] / "04-images-visible.png"))

    panel.get_by_label("epochs").fill("200")
    panel.get_by_role("button", name="Train").click()
    _wait(lambda: status.inner_text().startswith("Training"), 60, status.inner_text())
    time.sleep(3)
    panel.get_by_role("button", name="Stop").click()
    _wait(lambda: status.inner_text().startswith("stopped"), 120, f"Stop did not stop: {status.inner_text()}")

    options = panel.locator("select[multiple] option")
    assert options.count() >= 3
    options.nth(0).click()
    options.nth(1).click(modifiers=["Control"])
    panel.get_by_role("button", name="Compare selected").click()
    table = panel.locator("table")
    _wait(lambda: table.count() > 0, 30, "no comparison appeared")
    assert table.locator("th").count() == 3 and table.locator("img").count() == 2
    assert "1 epochs" not in table.inner_text()
    compare = panel.get_by_role("button", name="Compare selected")
    assert compare.evaluate("b => b.scrollWidth <= b.clientWidth + 1"), "the button's label is cut"
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(lab["shots"] / "05-compare.png"))
    assert _errors(page) == []

    page.get_by_role("menuitem", name="File").first.click()
    page.get_by_role("menuitem", name="Save Notebook").first.click()
    _wait(lambda: "jp-mod-dirty" not in (page.locator(".jp-NotebookPanel-tab, li.lm-TabBar-tab.jp-mod-current").first
                                         .get_attribute("class") or ""), 30, "the notebook was not saved")
    page.close()
    _shut_down_kernels(lab)

    # Reopened with a new kernel: the widgets show as saved, never "Error displaying widget: model not found".
    page = lab["browser"].new_page(viewport={"width": 1366, "height": 768})
    _open(lab, page)
    scroller = page.locator(".jp-WindowedPanel-outer").first
    for _ in range(60):  # the notebook renders the cells in view: scroll to the end, through every output
        scroller.evaluate("e => e.scrollBy(0, 600)")
        time.sleep(0.1)
    _wait(lambda: page.locator(".jp-OutputArea-output").count() > 5, 30, "the saved outputs did not render")
    time.sleep(2)
    page.screenshot(path=str(lab["shots"] / "06-reopened.png"))
    shown = page.locator(".jp-OutputArea-output").all_inner_texts()
    assert not [t for t in shown if "Error displaying widget" in t], [t for t in shown if "Error" in t][:2]
    panel = page.locator(".jp-OutputArea-output").filter(has=page.get_by_role("button", name="Train")).last
    panel.scroll_into_view_if_needed()  # the panel itself, drawn from its saved state
    page.screenshot(path=str(lab["shots"] / "07-reopened-panel.png"))


def test_a_learner_picks_a_class_in_08_and_sees_it_drawn(lab: dict) -> None:
    page = lab["browser"].new_page(viewport={"width": 1366, "height": 768})
    _open(lab, page, "conditional.ipynb")
    _run_all(page, lab["shots"])
    assert _errors(page) == []
    picker = page.locator(".jp-OutputArea-output .widget-vbox").filter(has=page.get_by_label("class")).last
    picker.scroll_into_view_if_needed()
    image = picker.locator("img.widget-image").first
    first = image.get_attribute("src")
    page.screenshot(path=str(lab["shots"] / "08-class-picker-0.png"))
    picker.get_by_label("class").select_option(label="7: 7")
    _wait(lambda: image.get_attribute("src") != first, 60, "the samples did not change with the class")
    sevens = image.get_attribute("src")
    picker.get_by_label("noise seed").fill("3")
    picker.get_by_label("noise seed").press("Enter")
    _wait(lambda: image.get_attribute("src") not in (first, sevens), 60, "the samples did not change with the seed")
    box, natural = image.bounding_box(), image.evaluate("i => i.naturalWidth / i.naturalHeight")
    assert abs(box["width"] / box["height"] - natural) / natural < 0.03, (box, natural)  # undistorted
    page.screenshot(path=str(lab["shots"] / "08-class-picker-7.png"))
    assert _errors(page) == []
    page.close()
    _shut_down_kernels(lab)


def _shut_down_kernels(lab: dict) -> None:
    """As closing JupyterLab does: every kernel ends, so the next opening starts a new one."""
    kernels = json.load(urllib.request.urlopen(f"{lab['url']}/api/kernels?token={TOKEN}"))
    for kernel in kernels:
        request = urllib.request.Request(f"{lab['url']}/api/kernels/{kernel['id']}?token={TOKEN}", method="DELETE")
        urllib.request.urlopen(request)
    sessions = json.load(urllib.request.urlopen(f"{lab['url']}/api/sessions?token={TOKEN}"))
    assert not sessions or all(s.get("kernel") is None for s in sessions) or len(kernels) > 0


def test_a_notebook_saved_through_the_jupyter_server_updates_its_paired_text_file(lab: dict) -> None:
    """jupytext pairs the notebooks (notebooks/jupytext.toml): a notebook saved through the Jupyter
    server, the request JupyterLab's Save sends, updates the paired .py with only the edit."""
    folder = lab["root"] / "paired"
    folder.mkdir()
    for name in ("00_start_here.ipynb", "00_start_here.py", "jupytext.toml"):
        shutil.copy(REPO / "notebooks" / name, folder / name)
    before = (folder / "00_start_here.py").read_text()
    address = f"{lab['url']}/api/contents/paired/00_start_here.ipynb?token={TOKEN}"
    model = json.load(urllib.request.urlopen(f"{address}&content=1"))
    cell = next(c for c in model["content"]["cells"] if c["cell_type"] == "markdown")
    cell["source"] += "\n\nA sentence an instructor added in JupyterLab."
    body = json.dumps({"type": "notebook", "format": "json", "content": model["content"]}).encode()
    request = urllib.request.Request(address, data=body, method="PUT", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request)
    _wait(lambda: "an instructor added in JupyterLab" in (folder / "00_start_here.py").read_text(), 30,
          "the paired text file did not follow the save")
    after = (folder / "00_start_here.py").read_text()
    assert "# A sentence an instructor added in JupyterLab." in after
    assert len(after.splitlines()) - len(before.splitlines()) == 2  # only the new paragraph
