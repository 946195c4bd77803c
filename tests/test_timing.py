"""Learners' runs of each course notebook, measured (docs/timing/, one file a run: papermill's seconds per cell,
what each cell printed, the CPU, the load, the seed, the command). The instructors' guide quotes the time per section
and the solutions guide the numbers printed, with their range over the runs: each guide holds the block rendered here
from the files, so neither can drift from the measurements, and the solutions guide quotes no number that a run did
not print."""
import re
from pathlib import Path
from typing import Any

from gencore.studies.notebook_timing import read_runs

REPO = Path(__file__).resolve().parents[1]
TIME_HEADING = "### Time per section, measured"
PRINTED_HEADING = "## What learners' runs printed, measured"

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
    "06_wgan_gp_cifar10": ["spearman: ", "WGAN-GP, latent 64: your rho", "WGAN-GP, latent 512: your rho",
                           "GAN, latent 64: your rho", "GAN, latent 512: your rho", *QUALITY],
    "07_compare": ["rows in the shipped study"],
    "08_conditional": ["with_class_channels: ", "largest gap in the history", *QUALITY, "share of samples the classifier"],
    "09_diffusion": ["q_sample: ", "largest gap in the history", "ddim_step: ", *QUALITY,
                     "share of samples the classifier", "train min epochs", "ddpm   "],
}
# A number as the notebooks print it: 13.811, 1,831, -1,395, 3.17e-04, +0.26 (not the 130 of "cu130").
NUMBER = re.compile(r"(?<![\w.^])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]\d+)?")


def stems() -> list[str]:
    return sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def cpu_line(t: dict) -> str:
    cpu = t["cpu"]
    avx512 = ("AVX-512" + (" with AVX512-BF16" if "avx512_bf16" in cpu["avx512"] else "") if cpu["avx512"]
              else "no AVX-512")
    return (f"a {cpu['cores']}-core {cpu['model_name']} (CPU family {cpu['cpu_family']}, model {cpu['model']}: "
            f"{'AVX2, ' if cpu['avx2'] else ''}{avx512}), torch {t['torch']}, {'a GPU' if t['gpu'] else 'no GPU'}")


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 0.5 else "<1"


def _shared(entry: dict) -> bool:
    """Another test run (pytest) was running when the notebook started."""
    return any("pytest" in line for line in entry["other_processes_at_start"])


def _run_shared(run: dict) -> bool:
    return any(_shared(e) for e in run["notebooks"].values())


def label(run: dict) -> str:
    """A run's short name in the guides' tables: its CPU and seed, and whether the cores were shared."""
    return (f"family {run['cpu']['cpu_family']} model {run['cpu']['model']}, seed {run['seed']}"
            f"{', shared' if _run_shared(run) else ''}")


def primary(runs: list[dict]) -> dict:
    """The run the time per section is read from: the most notebooks, cores not shared, seed 0, the newest."""
    return max(runs, key=lambda r: (len(r["notebooks"]), not _run_shared(r), r["seed"] == 0, r["date"]))


def _missing(runs: list[dict]) -> list[str]:
    return [stem for stem in stems() if not any(stem in r["notebooks"] for r in runs)]


def _runs_list(runs: list[dict]) -> list[str]:
    return [f"- *{label(r)}*: {r['date']}, {cpu_line(r)}, seed {r['seed']} "
            f"({len(r['notebooks'])} notebooks, [{r['file']}](timing/{r['file']}))" for r in runs]


def _total(entry: dict) -> float:
    return sum(s["seconds"] for s in entry["sections"])


def time_block(runs: list[dict]) -> str:
    main = primary(runs)
    others = [r for r in runs if r is not main]
    rows = []
    for stem, entry in main["notebooks"].items():
        parts = " · ".join(f"{s['section']} {_seconds(s['seconds'])}" for s in entry["sections"])
        elsewhere = " · ".join(f"{_total(r['notebooks'][stem]):.0f} ({label(r)})" for r in others
                               if stem in r["notebooks"]) or "-"
        rows.append(f"| `{stem}` | {_total(entry):.0f} | {parts} | {elsewhere} |")
    missing = _missing(runs)
    return "\n".join([
        TIME_HEADING, "",
        "The computer's time, section by section, while each notebook runs top to bottom at the learner's "
        "defaults on a CPU: the shipped reference loaded, and the learner's own short run trained (`own_minutes` "
        "is 2, so about two minutes of each model notebook are that training on any CPU). Each run below is every "
        "notebook alone and in reading order, from `notebooks/` with `GENCORE_DATA` and `data_root` the data folder "
        "and `RUNS` one fresh, empty folder for all of them (and `-p seed K` in a run at seed K):", "",
        "```bash",
        "papermill 01_vae_mnist.ipynb out/01.ipynb -k python3 --cwd . -p data_root DATA -p runs_dir RUNS",
        "```", "",
        *_runs_list(runs), "",
        "(`00_start_here` takes only `data_root`, `07_compare` neither; each notebook's exact command is in its "
        "run's file, with every cell's seconds.) The sections are those of the "
        f"*{label(main)}* run, alone on the machine; the last column gives the other runs' totals. A *shared* run "
        "had another test run beside it on the two cores, so its seconds are longer than that CPU's time alone and "
        "its own two-minute run trained fewer steps. A section runs from its `## ` heading to the next; *start* is "
        "the cells above the first; <1 is under a second. How long a learner needs to read a section and answer "
        "its questions is not measured.", "",
        "| notebook | seconds | per section (seconds) | the other runs (seconds) |", "|---|---:|---|---|", *rows,
        *(["", "Not measured yet: " + ", ".join(f"`{s}`" for s in missing) + "."] if missing else []),
    ])


def printed_lines(entry: dict) -> list[str]:
    return [line.strip() for cell in entry["cells"] for line in cell["stdout"].splitlines() if line.strip()]


def _template(line: str) -> str:
    return re.sub(r"\s+", " ", NUMBER.sub("#", line))


def _value(number: str) -> float:
    return float(number.replace(",", ""))


def with_ranges(lines: list[str]) -> str:
    """The first line, each of its numbers replaced by its range over all the lines (same text but for the
    numbers): "fd 13.811" and "fd 13.902" give "fd 13.811 to 13.902"; a number they all print stays alone."""
    columns = list(zip(*(NUMBER.findall(line) for line in lines)))
    pieces, numbers = NUMBER.split(lines[0]), []
    for column in columns:
        low, high = min(column, key=_value), max(column, key=_value)
        numbers.append(low if _value(low) == _value(high) else f"{low} to {high}")
    return "".join(piece + (numbers[i] if i < len(numbers) else "") for i, piece in enumerate(pieces))


def quoted(runs: list[dict], stem: str) -> list[str]:
    """Each quoted phrase's line, with its range over the runs that printed it in the same words; a run that
    printed other words is quoted beside it."""
    main = primary(runs) if stem in primary(runs)["notebooks"] else next(r for r in runs if stem in r["notebooks"])
    printing = [main] + [r for r in runs if r is not main and stem in r["notebooks"]]
    out = []
    for phrase in QUOTED[stem]:
        lines = [next(line for line in printed_lines(r["notebooks"][stem]) if phrase in line) for r in printing]
        same = [line for line in lines if _template(line) == _template(lines[0])]
        other = [f"; *{label(r)}* printed `{line}`" for r, line in zip(printing, lines) if line not in same]
        out.append(f"`{with_ranges(same)}`" + "".join(other))
    return out


def printed_block(runs: list[dict]) -> str:
    missing = _missing(runs)
    measured = [stem for stem in stems() if stem not in missing]
    bullets = []
    for stem in measured:
        count = sum(stem in r["notebooks"] for r in runs)
        bullets.append(f"- `{stem}` ({count} run{'s' if count > 1 else ''}):")
        bullets += [f"  - {line}" for line in quoted(runs, stem)]
    return "\n".join([
        PRINTED_HEADING, "",
        "What a learner's run of each notebook printed at its defaults on a CPU (the shipped reference loaded, the "
        "learner's own two-minute run trained), in each of these runs; the command and the time per section are in "
        "[instructors.md](instructors.md) (*Time per section, measured*), every printed line in the runs' files:", "",
        *_runs_list(runs), "",
        "Where the runs printed different numbers, a line gives their range (*low to high*); a number given alone "
        "was the same in every run that printed the line. These are few runs on two CPUs, so a learner's value may "
        "fall outside a range, above all on another CPU: a range over more seeds and machines is not measured. The "
        "own run shows its curves and samples as figures and prints no numbers, so the quality lines (fd, classes, "
        "confidence) are the shipped reference's, as the notebook measures it; use these to recognise a notebook "
        "that ran as intended, not to grade a learner's numbers.", "",
        *bullets,
        *(["", "Not measured yet: " + ", ".join(f"`{s}`" for s in missing) + "."] if missing else []),
    ])


def _section(text: str, heading: str) -> str:
    """From the heading to the next heading of the same or a higher level."""
    level = heading.split()[0]
    start = text.index(heading)
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", text[start + len(heading):], re.M)]
    return text[start:start + len(heading) + (ends[0] if ends else len(text))].rstrip()


def test_every_measured_notebook_ran_clean_and_its_sections_add_up() -> None:
    runs = read_runs()
    assert runs and all(r["notebooks"] and set(r["notebooks"]) <= set(stems()) for r in runs)
    for entry in (e for r in runs for e in r["notebooks"].values()):
        assert entry["returncode"] == 0 and not [c for c in entry["cells"] if c["errors"]]
        assert all(c["seconds"] is not None for c in entry["cells"])
        by_section: dict[str, float] = {}
        for cell in entry["cells"]:
            by_section[cell["section"]] = by_section.get(cell["section"], 0.0) + cell["seconds"]
        assert [s["section"] for s in entry["sections"]] == list(by_section)
        assert all(abs(s["seconds"] - by_section[s["section"]]) < 0.06 for s in entry["sections"])


def test_the_instructors_guide_holds_the_measured_times() -> None:
    guide = (REPO / "docs" / "instructors.md").read_text()
    assert _section(guide, TIME_HEADING) == time_block(read_runs())


def test_the_solutions_guide_quotes_only_what_the_runs_printed() -> None:
    runs = read_runs()
    guide = (REPO / "docs" / "solutions.md").read_text()
    assert _section(guide, PRINTED_HEADING) == printed_block(runs)
    assert set(QUOTED) == set(stems())  # every notebook has its quoted lines


def test_a_printed_line_carries_its_range_over_the_runs() -> None:
    lines = ["fd              13.811   [real 0.044]  Frechet distance", "fd              13.902   [real 0.044]  Frechet distance",
             "fd               9.5     [real 0.044]  Frechet distance"]
    assert with_ranges(lines) == "fd              9.5 to 13.902   [real 0.044]  Frechet distance"
    assert with_ranges(["a gap of 1,831 nats", "a gap of -1,395 nats"]) == "a gap of -1,395 to 1,831 nats"
    assert with_ranges(["largest gap 0.00e+00", "largest gap 3.17e-04"]) == "largest gap 0.00e+00 to 3.17e-04"
    assert NUMBER.findall("torch 2.14.1+cu130, sigma^2 = 0.5, rho = +0.26, (2, 64), 10,000") == [
        "2.14", "0.5", "+0.26", "2", "64", "10,000"]
    assert _template("KL   2.7 nats") == _template("KL  26.7 nats") != _template("KL 2.7 bits")


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


def write_guides() -> None:
    """Put the blocks rendered from docs/timing/ into the two guides, in place of the ones they hold."""
    runs = read_runs()
    for name, heading, block in (("instructors.md", TIME_HEADING, time_block(runs)),
                                 ("solutions.md", PRINTED_HEADING, printed_block(runs))):
        path = REPO / "docs" / name
        text = path.read_text()
        path.write_text(text.replace(_section(text, heading), block))


if __name__ == "__main__":  # python tests/test_timing.py: after a new run's file, the guides follow it
    write_guides()
