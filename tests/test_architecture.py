"""The package's shape: layers whose imports point one way, no import cycles (imports inside
functions included), a loop class that keeps only the loop, and one record per model family that
the rest of the kit asks."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import torch

from conftest import REPO
from gencore.engine.config import MODELS, TrainConfig
from gencore.engine.errors import GencoreError
from gencore.engine.families import FAMILIES, get_family

PACKAGE = REPO / "gencore"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(source: str, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """The gencore modules a module's source imports anywhere (functions included), except under
    ``if TYPE_CHECKING:``, which never runs. ``from . import x`` counts as x when x is a module.
    Importing a submodule also imports the packages above it (gencore itself, and the
    importing module's own packages, aside)."""
    package = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("gencore"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("gencore"):
                for alias in node.names:
                    found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    with_parents = set()
    for target in found:
        parts = target.split(".")
        with_parents.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    # A module's own packages are already importing when it runs: only other packages' count.
    own = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
    return {m for m in with_parents if m in modules and m != name and m not in own}


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _imports(path.read_text(), name, path.name == "__init__.py", set(files)) for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = walk(node)
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle_hidden_inside_a_function() -> None:
    graph = _graph()
    modules = set(graph)
    hidden = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gencore.runs.plots import x\n"
              "def f():\n    from gencore.engine.loop import Trainer\n")
    losses = "gencore.engine.losses"
    assert _imports(hidden, losses, False, modules) == {"gencore.engine.loop"}  # the function's, not the type hint's
    assert _imports("from ..models.vae import VAE", "gencore.engine.families.vae", False, modules) == {
        "gencore.engine.models", "gencore.engine.models.vae"}
    graph[losses] = _imports(hidden, losses, False, modules)
    cycle = _cycle(graph)
    assert cycle is not None and losses in cycle and "gencore.engine.loop" in cycle


# The layers, lowest first: a module may import from its own layer and the ones before it, never
# from one after it (the command line, gencore/__main__.py, sits above them all).
LAYERS = ("engine", "quality", "runs", "studies", "course")


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return len(LAYERS)  # gencore itself and its command line
    return LAYERS.index(parts[1])


def _upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} -> {target}" for module, targets in graph.items() for target in targets
                  if _layer(target) > _layer(module))


def test_every_module_lives_in_a_layer() -> None:
    outside = [m for m in _graph() if m.count(".") >= 1 and m.split(".")[1] not in LAYERS and m != "gencore.__main__"]
    assert not outside, f"put each module in one of the layers {LAYERS}: {outside}"


def test_imports_point_down_the_layers_only() -> None:
    upward = _upward_imports(_graph())
    assert not upward, "a lower layer imports a higher one: " + ", ".join(upward)


def test_the_layer_check_finds_an_upward_import() -> None:
    graph = _graph()
    modules = set(graph)
    graph["gencore.engine.loop"] = _imports("def f():\n    from gencore.runs.rundir import RunDirectory\n",
                                            "gencore.engine.loop", False, modules)
    assert _upward_imports(graph) == ["gencore.engine.loop -> gencore.runs", "gencore.engine.loop -> gencore.runs.rundir"]


def test_the_loop_class_keeps_only_the_loop() -> None:
    tree = ast.parse((PACKAGE / "engine" / "loop.py").read_text())
    (trainer,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Trainer"]
    assert trainer.end_lineno - trainer.lineno + 1 < 150


def _records_in(folder: Path, record: str) -> list[tuple[Path, str]]:
    """(file, name) of every module-level ``NAME = Record(...)`` in the folder's files, read with ast."""
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                    and node.value.func.id == record and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                found.append((path, node.targets[0].id))
    return found


def _unregistered(folder: Path, record: str, registry: dict) -> list[str]:
    """The records the folder's files define that the registry does not hold, then the registered
    names that no file of the folder defines."""
    import importlib

    problems, defined = [], set()
    for path, name in _records_in(folder, record):
        value = getattr(importlib.import_module(_module_name(path)), name)
        defined.add(value.name)
        if registry.get(value.name) is not value:
            problems.append(f"{_module_name(path)}.{name} ({value.name!r}) is defined but not registered")
    return problems + [f"{name!r} is registered but no file of {folder.name}/ defines it" for name in registry if name not in defined]


def test_every_family_and_dataset_file_holds_a_registered_record_and_nothing_else_is_registered() -> None:
    """Replaces a check that could not fail (MODELS is made from FAMILIES): the records the files
    define are exactly the ones registered, so a record written but never registered is caught."""
    from gencore.engine.datasets import DATASETS

    assert _unregistered(PACKAGE / "engine" / "families", "Family", FAMILIES) == []
    assert _unregistered(PACKAGE / "engine" / "datasets", "Dataset", DATASETS) == []
    assert set(FAMILIES) == {"vae", "gan", "wgan-gp", "cvae", "cgan", "ddpm"} and set(DATASETS) == {"mnist", "cifar10"}


def test_the_registry_check_finds_a_record_no_line_registers(tmp_path: Path) -> None:
    (tmp_path / "hinge.py").write_text("HINGE_FAMILY = Family(name='hinge')\nOTHER = dict(name='x')\n")
    assert _records_in(tmp_path, "Family") == [(tmp_path / "hinge.py", "HINGE_FAMILY")]
    assert _unregistered(PACKAGE / "engine" / "families", "Family", {**FAMILIES, "hinge": object()}) == [
        "'hinge' is registered but no file of families/ defines it"]
    registry = dict(FAMILIES)
    registry.pop("gan")
    assert _unregistered(PACKAGE / "engine" / "families", "Family", registry) == [
        "gencore.engine.families.gan.GAN_FAMILY ('gan') is defined but not registered"]


def test_the_families_do_not_import_the_configuration_even_for_type_hints() -> None:
    """config.py imports the family registry; the families read a configuration through the
    RunConfig protocol, so not even a type-only import points back."""
    for path in sorted((PACKAGE / "engine" / "families").glob("*.py")):
        imported = {node.module for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)}
        assert "gencore.engine.config" not in imported, path.name


def test_every_model_is_a_family_record_with_everything_the_kit_asks() -> None:
    for name, family in FAMILIES.items():
        config = TrainConfig(model=name, dataset="mnist", latent_dim=3 if family.has_latent else None, width=4,
                             **({"sampling_steps": 2} if name == "ddpm" else {}))
        assert (config.batch_size, config.lr, config.betas) == (
            family.seed_settings.batch_size, family.seed_settings.lr, family.seed_settings.betas)
        assert family.paper_settings.source and family.seed_settings.source
        models = family.build(config, (1, 28, 28))
        assert set(family.shipped_networks) <= set(models)
        if family.sample_role is not None:  # a one-pass decoder of z
            condition = (torch.tensor([3, 7]),) if family.conditional else ()  # a conditional network is told the classes
            images = models[family.sample_role].sample(torch.randn(2, 3), *condition)
            assert images.shape == (2, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
        else:
            assert family.sampler is not None and not family.has_latent
        drawn = family.sample(models, config, 3, torch.Generator().manual_seed(0))  # the family's own sampler
        assert drawn.shape == (3, 1, 28, 28) and 0 <= drawn.min() and drawn.max() <= 1
        panel_columns = {c for _, columns in family.loss_panels for c in columns}
        assert set(family.metrics) <= panel_columns and family.value_range in ("unit", "symmetric")
    with pytest.raises(GencoreError, match="unknown model 'hinge'"):
        get_family("hinge")


def test_an_override_must_name_a_part_of_the_step() -> None:
    with pytest.raises(GencoreError, match="no part named reparametrise.*kl_divergence, reparameterize"):
        get_family("vae").bind({"reparametrise": lambda m, v: m})


# ---------------------------------------------------------------------- the family record is the only place

FAMILY_NAMES = frozenset(FAMILIES)


def _family_literals(source: str, names: frozenset[str] = FAMILY_NAMES) -> list[tuple[int, str]]:
    """String constants that are exactly a family's name (docstrings aside): code that branches on,
    or tabulates by, a family's name."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings]


def test_no_module_outside_the_families_names_a_family() -> None:
    offenders = [f"{path.relative_to(REPO)}:{line} {name!r}"
                 for path in sorted(PACKAGE.rglob("*.py")) if "families" not in path.relative_to(PACKAGE).parts
                 for line, name in _family_literals(path.read_text())]
    assert not offenders, "ask the family record instead: " + ", ".join(offenders)


def test_no_module_outside_the_records_names_a_dataset() -> None:
    """As for families: only gencore/engine/datasets/ knows a dataset (a family's record may key its
    presets and notebooks by dataset)."""
    from gencore.engine.datasets import DATASETS

    names = frozenset(DATASETS)
    offenders = [f"{path.relative_to(REPO)}:{line} {name!r}"
                 for path in sorted(PACKAGE.rglob("*.py"))
                 if not {"families", "datasets"} & set(path.relative_to(PACKAGE).parts)
                 for line, name in _family_literals(path.read_text(), names)]
    assert not offenders, "ask the dataset record instead: " + ", ".join(offenders)


def test_the_family_name_check_finds_a_branch_on_a_name() -> None:
    source = 'def f(config):\n    """Works for the vae."""\n    return 64 if config.model == "vae" else {"gan": 1}\n'
    assert _family_literals(source) == [(3, "vae"), (3, "gan")]


@pytest.fixture
def toy_family() -> object:
    from toy_family import register_toy

    family = register_toy()
    yield family
    FAMILIES.pop(family.name)


def test_a_new_family_trains_samples_benches_and_takes_presets_with_no_other_edit(
        toy_family: object, fixture_root: Path, tmp_path: Path) -> None:
    from gencore.__main__ import main
    from gencore.engine.presets import preset_names, preset_settings
    from gencore.runs.start import start_run
    from gencore.studies.bench import estimate_training_time

    config = TrainConfig(model="toy", dataset="mnist", latent_dim=4, epochs=3, subset=256, data_root=str(fixture_root),
                         device="cpu", eval_every=0)
    result = start_run(config, tmp_path / "run", progress=False).fit()
    assert result.status == "finished" and [row["epoch"] for row in result.history] == [1, 2, 3]
    assert result.history[-1]["moment_gap"] < result.history[0]["moment_gap"]  # it learns the mean image
    assert {"samples.png", "losses.png", "checkpoint.pt"} <= {p.name for p in (tmp_path / "run").iterdir()}
    assert main(["sample", str(tmp_path / "run"), "--n", "8", "--out", str(tmp_path / "s.pt")]) == 0
    assert torch.load(tmp_path / "s.pt", weights_only=True).shape == (8, 1, 28, 28)
    assert "cpu-fast" in preset_names() and preset_settings("cpu-fast", "toy", "mnist") == {"time_budget": 1.0}
    (estimate,) = estimate_training_time("cpu", models=("toy",), datasets=("mnist",), steps=2)
    assert estimate.model == "toy" and estimate.images_per_s > 0


@pytest.mark.slow
def test_a_new_family_sweeps_through_its_own_notebook(toy_family: object, fixture_root: Path, tmp_path: Path) -> None:
    from gencore.studies.results import read_table
    from gencore.studies.sweep import SweepSettings, plan, run_sweep

    notebooks = write_toy_notebook(tmp_path / "notebooks", "toy",
                                   f"import sys\nsys.path.insert(0, {str(REPO / 'tests')!r})\nfrom toy_family import register_toy\nregister_toy()")
    settings = SweepSettings(str(tmp_path / "results"), str(fixture_root), threads=1, notebooks_dir=str(notebooks))
    environment = dict(os.environ)
    records = run_sweep(plan(["toy"], ["mnist"], [2, 4], [1], subset=256), settings, log=lambda line: None)
    assert [r["status"] for r in records] == ["finished", "finished"], records
    assert dict(os.environ) == environment  # the kernels got their settings; this process kept its own
    rows = read_table(tmp_path / "results")
    assert [row["latent_dim"] for row in rows] == [2, 4] and {row["threads"] for row in rows} == {1}
    assert (tmp_path / "results" / "grid-toy-mnist.png").stat().st_size > 0


def write_toy_notebook(folder: Path, model: str, register_code: str) -> Path:
    """A notebook for a toy family, as a course notebook is for a real one: a parameters cell, then
    train-or-load and the record the sweep reads. ``register_code`` registers the family in the kernel."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    parameters = nbformat.v4.new_code_cell(
        "dataset = 'mnist'\nlatent_dim = 2\nepochs = 1\nseed = 0\nsubset = None\ndata_root = None\nruns_dir = 'runs'\n"
        "result_json = None\nlr = None\nbatch_size = None\neval_samples = 100\nexercise_epochs = 0")
    parameters.metadata["tags"] = ["parameters"]
    train = nbformat.v4.new_code_cell(
        f"import sys\nsys.path.insert(0, {str(REPO / 'tests')!r})\n{register_code}\n"
        "from gencore import course\nfrom gencore.engine.config import TrainConfig\nfrom gencore.runs.start import train_or_load\n"
        f"config = TrainConfig(model={model!r}, dataset=dataset, latent_dim=latent_dim, epochs=epochs, seed=seed, subset=subset,"
        " data_root=data_root, lr=lr, batch_size=batch_size, device='cpu', eval_every=0)\n"
        "run = train_or_load(config, runs_dir, progress=False)\ncourse.record(result_json, run, {})")
    nbformat.write(nbformat.v4.new_notebook(cells=[parameters, train], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), folder / "toy_mnist.ipynb")
    return folder
