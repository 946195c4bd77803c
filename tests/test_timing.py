"""One learner's run of each course notebook, measured (docs/timing.json: papermill's seconds per cell, what each
cell printed, the CPU, the load, the command). The instructors' guide quotes its time per section and the solutions
guide the numbers it printed: each guide holds the block rendered here from the file, so neither can drift from the
measurement, and the solutions guide quotes no number that the run did not print."""
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMING = REPO / "docs" / "timing.json"
TIME_HEADING = "### Time per section, measured"
PRINTED_HEADING = "## What one learner's run printed, measured"

# What the solutions guide quotes of each notebook's printed text: each line found by a phrase it holds.
QUALITY = ["Frechet distance in the classifier", "classes with at least 2%", "mean top-class probability"]
QUOTED: dict[str, list[str]] = {
    "00_start_here": ["device: ", "The whole seed study at full settings"],
    "01_vae_mnist": ["reparameterize: ", "kl_divergence: ", "largest gap in the history", "sigma^2 = 0.5 ",
                     "sigma^2 = 0.02 ", *QUALITY, "bits_per_dim"],
    "02_vae_cifar10": ["gaussian_nll: ", "the seed's variance 1/2", "the fitted variance", *QUALITY],
    "03_gan_mnist": ["discriminator_loss: ", "generator_loss: ", "largest gap in the history", *QUALITY],
    "04_gan_cifar10": ["nyquist_share: ", "real test images: ", "generated:  ", "white noise:  ", *QUALITY],
    "05_wgan_gp_mnist": ["critic_loss: ", "gradient_penalty: ", "largest gap in the history", *QUALITY,
                         "a new critic, width 16", "a new critic, width 32"],
}


def timing() -> dict:
    return json.loads(TIMING.read_text())


def stems() -> list[str]:
    return sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def cpu_line(t: dict) -> str:
    cpu = t["cpu"]
    avx512 = "AVX-512 (" + ", ".join(cpu["avx512"]) + ")" if cpu["avx512"] else "no AVX-512"
    return (f"a {cpu['cores']}-core {cpu['model_name']} (CPU family {cpu['cpu_family']}, model {cpu['model']}: "
            f"{'AVX2, ' if cpu['avx2'] else ''}{avx512}), torch {t['torch']}, {'a GPU' if t['gpu'] else 'no GPU'}")


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 0.5 else "<1"


def _shared(entry: dict) -> bool:
    """Another test run (pytest) was running when the notebook started."""
    return any("pytest" in line for line in entry["other_processes_at_start"])


def _missing(t: dict) -> list[str]:
    return [stem for stem in stems() if stem not in t["notebooks"]]


def time_block(t: dict) -> str:
    rows = []
    for stem, entry in t["notebooks"].items():
        total = sum(s["seconds"] for s in entry["sections"])
        parts = " · ".join(f"{s['section']} {_seconds(s['seconds'])}" for s in entry["sections"])
        load = f"{entry['load_before'][0]:.1f} / {entry['load_after'][0]:.1f}"
        rows.append(f"| `{stem}` | {total:.0f} | {'yes' if _shared(entry) else 'no'}, {load} | {parts} |")
    shared = any(_shared(e) for e in t["notebooks"].values())
    missing = _missing(t)
    return "\n".join([
        TIME_HEADING, "",
        "The computer's time, section by section, while each notebook runs top to bottom at the learner's "
        "defaults on a CPU: the shipped reference loaded, and the learner's own short run trained (`own_minutes` "
        "is 2, so about two minutes of each model notebook are that training on any CPU). Measured once, on "
        f"{t['date']}, on {cpu_line(t)}, each notebook alone and in reading order, from `notebooks/` with "
        "`GENCORE_DATA=/work/shared/data` and `RUNS` one fresh, empty folder for all of them:", "",
        "```bash",
        "papermill 01_vae_mnist.ipynb out/01.ipynb -k python3 --cwd . -p data_root /work/shared/data -p runs_dir RUNS",
        "```", "",
        "(`00_start_here` takes only `data_root`, `07_compare` neither; each notebook's exact command is in "
        "[timing.json](timing.json), with every cell's seconds). A section runs from its `## ` heading to the next; "
        "*start* is the cells above the first; <1 is under a second.",
        *([""] + ["**The two cores were shared.** Another test run was running on this machine during these "
                  "measurements (the *shared* column: whether it was running when the notebook started, and the "
                  "one-minute load average before / after the notebook), so these seconds are longer than this "
                  "CPU's time alone, and the learner's own run trained fewer steps in its two minutes than it "
                  "would on an idle CPU."] if shared else []),
        "", "They are one run's seconds, not a range. How long a learner needs to read a section and answer its "
        "questions is not measured.", "",
        "| notebook | seconds | shared, load | per section (seconds) |", "|---|---:|---|---|", *rows,
        *(["", "Not measured yet: " + ", ".join(f"`{s}`" for s in missing) + "."] if missing else []),
    ])


def printed_lines(entry: dict) -> list[str]:
    return [line.strip() for cell in entry["cells"] for line in cell["stdout"].splitlines() if line.strip()]


def quoted(t: dict) -> dict[str, list[str]]:
    return {stem: [next(line for line in printed_lines(t["notebooks"][stem]) if phrase in line) for phrase in phrases]
            for stem, phrases in QUOTED.items() if stem in t["notebooks"]}


def printed_block(t: dict) -> str:
    missing = _missing(t)
    return "\n".join([
        PRINTED_HEADING, "",
        "What one learner's run of each notebook printed at its defaults on a CPU (the shipped reference loaded, the "
        f"learner's own two-minute run trained), on {t['date']}, on {cpu_line(t)}; the command and the time per "
        "section are in [instructors.md](instructors.md) (*Time per section, measured*), every printed line in "
        "[timing.json](timing.json). They are one run's values, not ranges: a range needs several seeds and "
        "machines, and that is left to do. A learner's numbers will differ, above all those of the own run, which "
        "trains for two minutes and so trains more steps on a faster CPU (this one was shared with another test "
        "run while it measured). The own run shows its curves and samples as figures and prints no numbers, so the "
        "quality lines (fd, classes, confidence) are the shipped reference's, as the notebook measures it on this "
        "machine; use these to recognise a notebook that ran as intended, not to grade a learner's "
        "numbers.", "",
        *[f"- `{stem}`: one run on this CPU printed " + "; ".join(f"`{line}`" for line in lines) + "."
          for stem, lines in quoted(t).items()],
        *(["", "Not measured yet: " + ", ".join(f"`{s}`" for s in missing) + "."] if missing else []),
    ])


def _section(text: str, heading: str) -> str:
    """From the heading to the next heading of the same or a higher level."""
    level = heading.split()[0]
    start = text.index(heading)
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", text[start + len(heading):], re.M)]
    return text[start:start + len(heading) + (ends[0] if ends else len(text))].rstrip()


def test_every_measured_notebook_ran_clean_and_its_sections_add_up() -> None:
    t = timing()
    assert t["notebooks"] and set(t["notebooks"]) <= set(stems())
    for entry in t["notebooks"].values():
        assert entry["returncode"] == 0 and not [c for c in entry["cells"] if c["errors"]]
        assert all(c["seconds"] is not None for c in entry["cells"])
        by_section: dict[str, float] = {}
        for cell in entry["cells"]:
            by_section[cell["section"]] = by_section.get(cell["section"], 0.0) + cell["seconds"]
        assert [s["section"] for s in entry["sections"]] == list(by_section)
        assert all(abs(s["seconds"] - by_section[s["section"]]) < 0.06 for s in entry["sections"])


def test_the_instructors_guide_holds_the_measured_times() -> None:
    guide = (REPO / "docs" / "instructors.md").read_text()
    assert _section(guide, TIME_HEADING) == time_block(timing())


def test_the_solutions_guide_quotes_only_what_the_run_printed() -> None:
    t = timing()
    guide = (REPO / "docs" / "solutions.md").read_text()
    assert _section(guide, PRINTED_HEADING) == printed_block(t)
    assert set(quoted(t)) == set(t["notebooks"])  # every measured notebook has its line


def test_the_measurement_files_each_cells_seconds_and_printed_text_under_its_section() -> None:
    import nbformat

    from gencore.studies.notebook_timing import _sections, cpu_record

    def code(source: str, seconds: float, outputs: list) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source, outputs=outputs)
        cell.metadata["papermill"] = {"duration": seconds, "status": "completed"}
        return cell

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 09. Title\n\ntext"),
        code("x = 1", 1.5, [nbformat.v4.new_output("stream", name="stdout", text="fd 3.51\n")]),
        nbformat.v4.new_markdown_cell("## 1. The forward process\n\nmore"),
        code("y = 2", 2.0, [nbformat.v4.new_output("stream", name="stderr", text="a warning\n")]),
        nbformat.v4.new_markdown_cell("### A subsection stays in its section"),
        code("1 / 0", 0.25, [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero")]),
    ])
    cells = _sections(notebook)
    assert [(c["index"], c["section"], c["seconds"]) for c in cells] == [
        (1, "start", 1.5), (3, "1. The forward process", 2.0), (5, "1. The forward process", 0.25)]
    assert [c["stdout"] for c in cells] == ["fd 3.51\n", "", ""]  # stdout only: what the guides quote
    assert cells[2]["errors"] == ["ZeroDivisionError: division by zero"] and not cells[0]["errors"]
    cpu = cpu_record()
    assert cpu["cores"] >= 1 and isinstance(cpu["avx512"], list) and isinstance(cpu["avx2"], bool)
