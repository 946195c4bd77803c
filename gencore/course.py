"""What the course notebooks call: show gencore's own code, train (or load the shipped reference
model), draw a run's figures with the right label, train with a learner's own functions, show
the shipped study, and write student copies of the notebooks.

The notebooks teach; everything they repeat lives here, so a notebook cell is a call.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import html
import inspect
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from .checkpoint import load_run
from .config import TrainConfig
from .data import IMAGE_SHAPES, load_dataset
from .errors import GencoreError
from .explore import interpolation_images
from .figures import FIGURE_SAMPLES, run_figures
from .lessons import critic_gap_curves
from .lessons import plot_critic_catch_up
from .models.gan import Critic
from .plots import plot_interpolation, plot_losses
from .reference import load_reference
from .sampling import generate
from .train import Trainer, train_or_load

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
STUDY = NOTEBOOKS / "reference" / "study"  # the shipped study: results.csv, grids, curves, histories


# ---------------------------------------------------------------------- showing the code


class Source:
    """gencore's own source of a function or class: highlighted in a notebook, plain in text."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.source = inspect.getsource(obj)
        lines, self.line = inspect.getsourcelines(obj)
        source_file = inspect.getsourcefile(obj)
        if source_file is None:
            raise GencoreError(f"{obj!r} has no source file to show.")
        self.path = Path(source_file).resolve().relative_to(REPO)
        self.name = f"{obj.__module__}.{obj.__qualname__}"

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        code = highlight(self.source, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True))
        return (f"<div style='border-left:3px solid #7aa6da;padding-left:8px;margin:4px 0'>"
                f"<div style='font-size:85%;color:#555'><code>{html.escape(self.name)}</code> "
                f"&middot; {html.escape(str(self.path))}, line {self.line}</div>{code}</div>")

    def __repr__(self) -> str:
        return f"# {self.name} ({self.path}, line {self.line})\n{self.source}"


def show(obj: Any) -> Source:
    """Display the source that really runs (from the installed gencore, so it cannot drift)."""
    return Source(obj)


# ---------------------------------------------------------------------- what every notebook shows


def layers(config: TrainConfig) -> str:
    """Every layer of the configuration's networks with the shape it outputs and its parameters."""
    from .data import IMAGE_SHAPES
    from .explore import shape_table

    shape = IMAGE_SHAPES[config.dataset]
    return shape_table(config.family.build(config, shape), shape, config.latent_dim)


def training_data(config: TrainConfig) -> Any:
    """The run's training split (or subset), held in memory as 8-bit images, described in two lines."""
    data = load_dataset(config.dataset, "train", config.data_root, config.subset, config.seed)
    print(f"{len(data)} training images of shape {data.image_shape}, {data.images.dtype}")
    print("classes:", ", ".join(data.classes))
    return data


def real_images(data: Any, count: int = 64) -> Any:
    from .data import to_float
    from .plots import plot_samples

    return plot_samples(to_float(data.images[:count], "unit"), "Real training images")


def quality(run: Any, n: int, seed: int = 0, data_root: str | None = None, measure: bool = True) -> dict[str, Any]:
    """The run's sample quality with the shipped classifier, printed and returned ({} when not measured)."""
    from .metrics import evaluate_models, format_quality

    numbers = evaluate_models(run.config, run.models, n=n, seed=seed, data_root=data_root) if measure else {}
    print(format_quality(numbers))
    return numbers


def panel(config: TrainConfig, runs_dir: str | Path) -> Any:
    from .widgets import TrainingPanel

    return TrainingPanel(config, runs_dir)


def record(result_json: str | None, run: Any, numbers: dict[str, Any]) -> None:
    """For a sweep (python -m gencore sweep): the run's parameters and quality in ``result_json``."""
    from .sweep import write_result

    if result_json:
        write_result(result_json, run, numbers)
        print("wrote", result_json)


# ---------------------------------------------------------------------- a run or the reference


@dataclasses.dataclass
class ReferenceRun:
    """A shipped reference model seen as a run, so every figure function takes it like a Trainer.
    Its figures say that they show the shipped reference, not the learner's run."""

    config: TrainConfig
    models: dict[str, nn.Module]
    history: list[dict[str, float]]
    trace: list[dict[str, float]]
    epoch: float
    real_images: torch.Tensor
    test_images: torch.Tensor
    entry: dict[str, Any]
    label: str
    device: torch.device = torch.device("cpu")
    run_dir: Path | None = None

    @property
    def fixed_z(self) -> torch.Tensor:
        return torch.randn(FIGURE_SAMPLES, self.config.latent_dim, generator=torch.Generator().manual_seed(self.config.seed))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return generate(self.models, z.to(self.device))


def reference_run(model: str, dataset: str, data_root: str | None = None) -> ReferenceRun:
    """The shipped reference model of a pair (``python -m gencore reference`` lists them), with
    64 real test images for the figures that compare."""
    reference = load_reference(f"{model}-{dataset}")
    real = load_dataset(dataset, "test", data_root, subset=FIGURE_SAMPLES, seed=0).images
    return ReferenceRun(reference.config, reference.models, reference.history, reference.trace,
                        reference.entry.get("epochs_done", len(reference.history)), real, real, reference.entry,
                        label=f"shipped reference ref:{reference.name}")


def train_or_reference(config: TrainConfig, runs_dir: str | Path, use_reference: bool) -> Any:
    """The learner's run (train-or-load: nothing trains twice), or the shipped reference model."""
    if use_reference:
        run = reference_run(config.model, config.dataset, config.data_root)
        entry = run.entry
        print(f"Loaded the {run.label}: latent {run.config.latent_dim}, width {run.config.width}, lr {run.config.lr:g}, "
              f"{entry.get('epochs_done')} epochs ({entry.get('train_seconds', 0) / 60:.0f} min on {entry.get('device')}); "
              f"measured fd {entry['fd']:.2f}, {entry['classes_covered']} classes. Nothing was trained.")
        return run
    return train_or_load(config, runs_dir)


def label(run: Any) -> str:
    """How a figure names the run it shows."""
    config = run.config
    prefix = f"{run.label}: " if getattr(run, "label", "") else ""
    return f"{prefix}{config.model.upper()} on {config.dataset}, latent {config.latent_dim}, {run.epoch:g} epochs"


def figure(run: Any, name: str) -> Any:
    """One of the run's figures (samples, real_vs_generated, losses, reconstructions, latent_manifold),
    titled with what it shows."""
    figures = run_figures(run, (name,))
    if name not in figures:
        raise KeyError(f"the run has no {name!r} figure (have: {', '.join(run_figures(run)) or 'none'})")
    result = figures[name]
    result.suptitle(label(run) if name != "latent_manifold" else f"{label(run)}: the decoded latent plane")
    return result


def losses_figure(run: Any) -> Any:
    return plot_losses(run.history, run.config.family, label(run), run.trace)


def interpolation(run: Any, pairs: int = 4, steps: int = 10, seed: int = 0) -> Any:
    images = interpolation_images(run.models, run.config.latent_dim, pairs=pairs, steps=steps, seed=seed, device=run.device)
    return plot_interpolation(images, f"{label(run)}: walks between random latent points (slerp)")


def critic_catch_up(run: Any, steps: int, widths: Sequence[int] = (64,), data_root: str | None = None,
                    lr: float | None = None, train_images: int = 10000, test_images: int = 2000) -> Any:
    """05's question: is the Earth Mover estimate a distance? Freeze the run's generator and train
    critics alone against it (the run's own critic, when it has one, on a copy; a new critic of
    the run's width; new critics of ``widths``), at the run's own learning rate unless ``lr`` is
    given, then plot each one's score gap on held-out images against the estimate the run's
    training ended on. ``run`` is a notebook's run, or a run directory."""
    if isinstance(run, (str, Path)):
        config, models, history = load_run(run)
        run = ReferenceRun(config, models, history, [], len(history), torch.empty(0), torch.empty(0), {}, label="")
    config = run.config
    if "generator" not in run.models:
        raise ValueError(f"critic_catch_up needs a run with a generator (GAN or WGAN-GP); this is a {config.model} run.")
    root = data_root or config.data_root
    train = load_dataset(config.dataset, "train", root, train_images, config.seed, cap_subset=True).images
    test = load_dataset(config.dataset, "test", root, test_images, 0, cap_subset=True).images
    torch.manual_seed(config.seed)  # the new critics start from the same weights on every run
    critics: dict[str, nn.Module] = {}
    if "critic" in run.models:
        critics[f"the run's critic (width {config.width}), trained on"] = copy.deepcopy(run.models["critic"])
    for width in dict.fromkeys((config.width, *widths)):
        critics[f"a new critic, width {width}"] = Critic(IMAGE_SHAPES[config.dataset], width).to(run.device)
    curves = critic_gap_curves(run.models["generator"], config.latent_dim, train, test, critics, steps,
                              lr=lr or config.lr, gp_weight=config.gp_weight, seed=config.seed)
    estimates = [row["emd"] for row in run.history if "emd" in row]
    for name, curve in curves.items():
        print(f"{name}: gap {curve[0][1]:.2f} at step 0, {curve[-1][1]:.2f} after {curve[-1][0]} steps")
    return plot_critic_catch_up(curves, estimates[-1] if estimates else None,
                                f"{label(run)}\ncritics trained against its frozen generator")


# ---------------------------------------------------------------------- the learner's own functions


EXERCISE_BATCH = 64  # the small run's batch: many steps on few images, so the curves have points
EXERCISE_POINTS = 40  # points on its loss curves


def train_with(config: TrainConfig, overrides: Mapping[str, Callable[..., Any]], epochs: int = 1,
               subset: int | None = 4096, compare: bool = True) -> Trainer | None:
    """Train a small run in memory whose step calls the learner's functions (``overrides``) in
    place of gencore's, at the family paper's learning rate (it learns visibly in a few hundred
    steps). With ``compare``, also train the same run with gencore's own functions and say
    whether the numbers agree."""
    from .exercises import reference

    if epochs < 1:
        print("exercise_epochs is 0: the run with your own functions is skipped.")
        return None
    small = dataclasses.replace(config, epochs=epochs, subset=subset, eval_every=0, time_budget=None,
                                batch_size=EXERCISE_BATCH, lr=config.family.paper_settings.lr)
    own = {name: fn for name, fn in overrides.items() if fn is not reference(name)}
    trainer = _small_trainer(small, overrides)
    trainer.fit()
    who = ", ".join(sorted(own)) if own else "none (the checks fell back to gencore's)"
    print(f"Trained {epochs} epoch(s) on {len(trainer.train_data):,} images with your functions: {who}.")
    if compare and own:
        theirs = _small_trainer(small, {})
        theirs.fit()
        gap = max(abs(a[k] - b[k]) for a, b in zip(trainer.history, theirs.history) for k in a if k != "epoch")
        verdict = "the same numbers" if gap < 1e-4 else f"numbers that differ by up to {gap:.3g}"
        print(f"gencore's own functions, from the same seed, give {verdict} (largest gap in the history: {gap:.2e}).")
    return trainer


def _small_trainer(config: TrainConfig, overrides: Mapping[str, Callable[..., Any]]) -> Trainer:
    trainer = Trainer(config, overrides=overrides, progress=False)
    trainer.log_every = max(1, config.epochs * trainer.steps_per_epoch // EXERCISE_POINTS)
    return trainer


def own_run_figures(trainer: Trainer | None) -> Any:
    """The learner's small run: its loss curves and its samples, side by side (None: no run)."""
    if trainer is None:
        return None
    from matplotlib.figure import Figure

    from .grids import show_grid

    panels = trainer.family.loss_panels
    figure_ = Figure(figsize=(4.2 * (len(panels) + 1), 3.6), layout="constrained")
    axes = figure_.subplots(1, len(panels) + 1)
    trace = trainer.trace
    for ax, (title, columns) in zip(axes, panels):
        for column in columns:
            points = [(row["epoch"], row[column]) for row in trace if column in row]
            if points:
                ax.plot(*zip(*points), label=trainer.family.labels.get(column, column))
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    show_grid(axes[-1], trainer.generate(trainer.fixed_z[:36]).cpu(), "samples", nrow=6)
    figure_.suptitle(f"Your functions, training: {trainer.global_step} steps of {trainer.config.batch_size} images "
                     f"at lr {trainer.config.lr:g}; losses every {trainer.log_every} steps, samples at the end")
    return figure_


# ---------------------------------------------------------------------- the shipped study


def study_rows(model: str | None = None, dataset: str | None = None, folder: Path = STUDY) -> list[dict[str, Any]]:
    """The shipped study's results.csv rows (numbers as numbers), optionally for one pair."""
    from .results import read_table

    rows = read_table(folder)
    return [r for r in rows if (model is None or r["model"] == model) and (dataset is None or r["dataset"] == dataset)]


def study_table(model: str, dataset: str, folder: Path = STUDY) -> str:
    """The pair's rows as a Markdown table: latent size and epochs, fd, coverage, confidence, time."""
    rows = study_rows(model, dataset, folder)
    if not rows:
        return (f"*The shipped study has no {model} runs on {dataset} yet: at the seed's width they take hours each "
                f"on a CPU and wait for a GPU. The command below runs them.*")
    bound = any(r.get("neg_elbo_nats") is not None for r in rows)
    head = ("| latent | epochs | width | precision | fd | classes | confidence |" + (" bits/dim |" if bound else "")
            + " training time | device |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        cells = [r["latent_dim"], r["epochs"], r["width"], r.get("precision") or "fp32", f"{r['fd']:.2f}",
                 r["classes_covered"], f"{r['confidence']:.2f}"]
        if bound:
            cells.append(f"{r['bits_per_dim']:.3f}" if r.get("bits_per_dim") is not None else "")
        cells += [f"{r['train_seconds'] / 60:.0f} min", r["device"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def study_history(model: str, dataset: str, latent: int, folder: Path = STUDY) -> list[dict[str, float]]:
    """The per-epoch history of one shipped study run (fd every 5 epochs, on 2,000 samples)."""
    import csv

    path = folder / f"{model}-{dataset}-z{latent}" / "history.csv"
    if not path.exists():
        return []
    return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(path.open())]


def study_kl_per_dimension(model: str, dataset: str, latent: int, folder: Path = STUDY) -> torch.Tensor | None:
    """A shipped VAE study run's KL per latent dimension after its last epoch (nats per test image)."""
    path = folder / f"{model}-{dataset}-z{latent}" / "kl_per_dimension.csv"
    if not path.exists():
        return None
    return torch.tensor([float(line) for line in path.read_text().split()[1:]])


def show_study(model: str, dataset: str, folder: Path = STUDY) -> None:
    """The shipped study for one pair: its table, its grid (rows latent, columns epochs) and the
    loss curves of each latent size (the dashed line marks epoch 20)."""
    from IPython.display import Image, Markdown, display

    display(Markdown(study_table(model, dataset, folder)))
    grid = folder / f"grid-{model}-{dataset}.png"
    if grid.exists():
        display(Image(filename=str(grid), width=520))
    for run in sorted(folder.glob(f"{model}-{dataset}-z*/losses.png"), key=lambda p: int(p.parent.name.rsplit("z", 1)[1])):
        display(Image(filename=str(run), width=900))


# ---------------------------------------------------------------------- student copies


STUB = 'raise NotImplementedError("your code here: write this function, then run the check below")'


def student_source(source: str) -> str:
    """A solution cell's source with each top-level function's body replaced by a stub; the
    signature and the docstring stay, and so does everything outside the functions."""
    tree = ast.parse(source)
    lines = source.splitlines()
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    for node in sorted(functions, key=lambda n: n.lineno, reverse=True):  # bottom-up keeps line numbers valid
        first = node.body[0]
        has_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
        keep = first.end_lineno if has_docstring else first.lineno - 1  # 1-based last line kept
        lines[keep:node.end_lineno] = [" " * first.col_offset + STUB]
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def write_student_copies(out_dir: str | Path, notebooks_dir: str | Path = NOTEBOOKS) -> list[Path]:
    """Copies of the course notebooks in which every cell tagged ``solution`` holds stubs; the
    checks then say "not implemented yet" and the notebooks fall back to gencore's functions."""
    import nbformat

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if "solution" in cell.get("metadata", {}).get("tags", []):
                cell.source = student_source(cell.source)
                cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "solution"] + ["exercise"]
        nbformat.write(notebook, out / path.name)
        written.append(out / path.name)
    return written


__all__ = ["layers", "training_data", "real_images", "quality", "panel", "record", "show", "Source", "ReferenceRun",
           "reference_run", "train_or_reference", "figure", "losses_figure", "interpolation", "critic_catch_up",
           "train_with", "own_run_figures", "study_rows", "study_table", "study_history", "show_study",
           "study_kl_per_dimension", "student_source", "write_student_copies", "STUDY", "label"]
