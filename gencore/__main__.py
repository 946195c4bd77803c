"""Command line: ``python -m gencore {train,sample,evaluate,classifier,reference,study,sweep,course,bench} ...``; ``--help`` on each explains every flag."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from gencore.engine.errors import GencoreError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (no usage block) with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from gencore.engine.datasets import DATASETS as DATASET_RECORDS
    from gencore.engine.families import FAMILIES, family_settings, seed_study_models
    from gencore.engine.presets import preset_names

    MODELS, DATASETS = tuple(FAMILIES), tuple(DATASET_RECORDS)  # every registered one

    parser = _Parser(prog="python -m gencore", description="Train and sample VAE, GAN and WGAN-GP models on MNIST and CIFAR-10.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a model into a run directory",
                                description="Train one model; the run directory receives config.json, checkpoint.pt, history.csv and PNG figures.")
    train.add_argument("--model", required=True, choices=MODELS, help="vae, gan (DCGAN, BCE), wgan-gp (critic + gradient penalty), or a conditional one: "
                            "cvae, cgan (the class given to both networks; sample --class draws one), or ddpm (a diffusion model)")
    train.add_argument("--dataset", required=True, choices=DATASETS, help=", ".join(
        f"{d.name} ({'x'.join(map(str, d.image_shape))})" for d in DATASET_RECORDS.values()))
    train.add_argument("--latent-dim", type=str, default=None,
                       help="size of the latent code z, e.g. 2, 64 or 512 (required for a model with a latent vector)")
    train.add_argument("--epochs", required=True, type=str, help="passes over the training split (the seed study uses 20 and 100)")
    train.add_argument("--batch-size", type=str, default=None, help="images per step (default: VAE 128, GANs 64, the seed's values)")
    train.add_argument("--lr", type=str, default=None, help="Adam learning rate (default: VAE and GAN 1e-4, WGAN-GP 5e-5)")
    train.add_argument("--width", type=str, default=None, help="network width: DCGAN base channels, VAE hidden size / 8 (default 64)")
    for item in family_settings():  # each family's own settings, from its record (--n-critic, --decoder-variance, ...)
        train.add_argument(item.flag, type=str, default=None, choices=item.about.choices, help=item.about.help)
    train.add_argument("--subset", type=str, default=None, help="train on a seeded, class-balanced sample of N images")
    train.add_argument("--data-root", default=None, help="folder holding the datasets (else $GENCORE_DATA, else a download cache)")
    train.add_argument("--seed", type=str, default="0", help="random seed for weights, noise and data order (default 0)")
    train.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    train.add_argument("--time-budget", type=str, default=None, help="minutes; stop cleanly, saved, when they are spent")
    train.add_argument("--preset", default=None, choices=preset_names(),
                       help="cpu-fast: narrower nets, higher learning rates and a time budget (5 min MNIST, 10 min "
                            "CIFAR-10) for good samples on a laptop CPU; explicit flags override it")
    train.add_argument("--precision", default=None, choices=("fp32", "bf16", "auto"),
                       help="GAN and WGAN-GP steps: fp32 (default), bf16 autocast, or auto (bf16 only where the hardware "
                            "has it natively and a quick probe measures it faster); the VAE trains in fp32")
    train.add_argument("--resume", action="store_true", help="continue the run already in --out from its last checkpoint")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.add_argument("--out", required=True, help="run directory to write (created if needed)")

    sample = commands.add_parser("sample", help="draw images from a trained run or a shipped reference model",
                                 description="Write N generated images as a float32 tensor (N, C, H, W) in [0, 1] to a .pt file.")
    sample.add_argument("run_dir", help="a run directory written by 'train', or ref:MODEL-DATASET for a shipped "
                                        "reference model (e.g. ref:gan-mnist; 'reference' lists them)")
    sample.add_argument("--n", required=True, type=str, help="number of images")
    sample.add_argument("--out", required=True, help="output file, e.g. samples.pt")
    sample.add_argument("--seed", type=str, default="0", help="seed for the latent draws: the same seed writes the same tensor")
    sample.add_argument("--device", default="cpu", help="device to generate on (default cpu)")
    sample.add_argument("--class", dest="class_", default=None, metavar="CLASS",
                        help="a conditional model: draw every image of this class, by index (7) or name (ship)")

    bench = commands.add_parser("bench", help="measure training speed against the textbook loop",
                                description="Training throughput per model, dataset and precision, the textbook loop's in the "
                                            "same run, the FLOP rate as a fraction of this machine's measured peak (the faster "
                                            "of a large matmul and a large convolution, per precision), and peak memory (CPU).")
    bench.add_argument("--json", default=None, help="also write the records to this JSON file")
    bench.add_argument("--quick", action="store_true", help="fewer, shorter windows at width 32: under 2 minutes on 2 cores")
    bench.add_argument("--data-root", default=None, help="folder holding the datasets (else $GENCORE_DATA, else the cache)")
    bench.add_argument("--models", nargs="+", default=list(seed_study_models()), choices=MODELS,
                       help=f"models to measure (default the seed study's: {', '.join(seed_study_models())}; any of {', '.join(MODELS)})")
    bench.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS, help="datasets to measure (default both)")
    bench.add_argument("--precisions", nargs="+", default=None, choices=("fp32", "bf16"),
                       help="precisions of the kit's step (default: fp32, and bf16 too where the CPU has it natively)")
    evaluate = commands.add_parser("evaluate", help="measure a run's sample quality",
                                   description="Fréchet distance in the domain classifier's features, class coverage and "
                                               "confidence of N samples (and the test ELBO for a VAE), measured with the "
                                               "classifier shipped in the package unless --classifier trained.")
    evaluate.add_argument("run_dir", help="a run directory written by 'train'")
    evaluate.add_argument("--n", type=str, default="10000", help="number of generated samples (default 10000, the test split's size)")
    evaluate.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    evaluate.add_argument("--data-root", default=None, help="folder holding the datasets (default: the run's own)")
    evaluate.add_argument("--seed", type=str, default="0", help="seed for the latent draws (default 0)")
    evaluate.add_argument("--classifier", default=None, choices=("shipped", "trained"),
                          help="shipped: the package's classifier, the same on every machine (the default unless "
                               "GENCORE_CLASSIFIERS is set); trained: the one you trained with 'classifier --retrain'")
    evaluate.add_argument("--no-train-classifier", action="store_true",
                          help="with --classifier trained: fail instead of training one when none is cached "
                               "(the shipped classifier never trains)")

    sweep = commands.add_parser("sweep", help="run the latent-size x epochs study through the notebooks",
                                description="Execute the course notebooks through papermill for every combination, "
                                            "measure each run, and write results.csv, results.md and grid-<model>-<dataset>.png. "
                                            "Finished runs are skipped, so an interrupted sweep continues where it stopped.")
    sweep.add_argument("--model", nargs="+", required=True, choices=MODELS, help=f"one or more of {', '.join(MODELS)}")
    sweep.add_argument("--dataset", nargs="+", required=True, choices=DATASETS, help="one or more of mnist, cifar10")
    sweep.add_argument("--latent-dims", nargs="+", required=True, type=str, help="latent sizes, e.g. 2 64")
    sweep.add_argument("--epochs", nargs="+", required=True, type=str, help="epoch counts, e.g. 20 100")
    sweep.add_argument("--seeds", nargs="+", default=["0"], type=str, help="seeds (default 0)")
    sweep.add_argument("--subset", type=str, default=None, help="train each run on a seeded, class-balanced sample of N images")
    sweep.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="another notebook parameter for every run, e.g. width=32 (repeatable)")
    sweep.add_argument("--jobs", type=str, default="1", help="runs at once on this machine, or Dask workers of a local "
                                                             "cluster (default 1)")
    sweep.add_argument("--executor", default="local", choices=("local", "dask"),
                       help="local: this machine (a process pool when --jobs > 1); dask: Dask tasks on --scheduler, or on "
                            "a LocalCluster of --jobs workers")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="with --executor dask: a running scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    sweep.add_argument("--eval-samples", type=str, default="10000", help="generated samples per quality measurement (default 10000)")
    sweep.add_argument("--data-root", default=None, help="folder holding the datasets (else $GENCORE_DATA, else the cache)")
    sweep.add_argument("--out", default="results", help="results folder (default ./results)")

    study = commands.add_parser("study", help="reproduce the seed study: every model x dataset x seed latent size",
                                description="One run per model, dataset and seed latent size (MNIST 2 and 64, CIFAR-10 64 "
                                            "and 512) at the seed's learning rates and batch sizes, for the longest of "
                                            "--epochs, keeping the state at the shorter ones; each kept state measured with "
                                            "the shipped classifier. Writes results.csv, sample grids, loss curves and one "
                                            "grid figure per model and dataset to --out. Interrupted studies resume.")
    seed_models = list(seed_study_models())
    study.add_argument("--models", nargs="+", default=seed_models, choices=MODELS,
                       help=f"models (default the seed study's three: {', '.join(seed_models)})")
    study.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS, help="datasets (default both)")
    study.add_argument("--epochs", nargs="+", default=["20", "100"], help="epoch counts to report; one run of the longest (default 20 100)")
    study.add_argument("--seeds", nargs="+", default=["0"],
                       help="random seeds per cell (default 0); several give each cell's spread, run folders -sN")
    study.add_argument("--gan-width", default="64", help="GAN and WGAN-GP width (default 64, the seed's; less on a CPU, and labelled)")
    study.add_argument("--runs-dir", default="runs/study", help="where the training runs are kept (default runs/study)")
    study.add_argument("--n", default="10000", help="samples per quality measurement (default 10000)")
    study.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "auto"),
                       help="GAN and WGAN-GP steps: fp32 (default, the seed's), bf16 autocast or auto; recorded in each "
                            "row; the VAE trains in fp32")
    study.add_argument("--threads", default=None, help="torch threads (default: torch's choice)")
    study.add_argument("--data-root", default=None, help="folder holding the datasets (else $GENCORE_DATA, else the cache)")
    study.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    study.add_argument("--out", default="results/study", help="results folder (default results/study)")

    classifier = commands.add_parser("classifier", help="show the quality classifier, or retrain your own",
                                     description="Show the dataset's shipped classifier (and the one you trained, if any). "
                                                 "--retrain trains a new one on the real training split into your cache "
                                                 "($GENCORE_CLASSIFIERS or ~/.cache/gencore/classifiers) and prints its test "
                                                 "accuracy; measure with it by 'evaluate --classifier trained' or by setting "
                                                 "GENCORE_CLASSIFIERS.")
    classifier.add_argument("--dataset", required=True, choices=DATASETS)
    classifier.add_argument("--retrain", action="store_true", help="train a new classifier (minutes on a CPU), replacing your cached one")
    classifier.add_argument("--ship", action="store_true", help="maintainers: copy your trained classifier into the package")
    classifier.add_argument("--floor", action="store_true",
                            help="maintainers: measure the real-data floor (10,000 held-out real images) with the shipped "
                                 "classifier and record it in the package")
    classifier.add_argument("--data-root", default=None, help="folder holding the datasets (else $GENCORE_DATA, else the cache)")
    classifier.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")

    course = commands.add_parser("course", help="write the course notebooks, as they ship or as student copies",
                                 description="--copy DIR writes the course notebooks to DIR (from a clone or an installed "
                                             "kit; a notebook already there is kept). --student DIR writes copies with every "
                                             "exercise's solution (the cells tagged 'solution') replaced by a stub; their "
                                             "checks then say 'not implemented yet' and the notebooks run on with gencore's "
                                             "own functions.")
    wanted = course.add_mutually_exclusive_group(required=True)
    wanted.add_argument("--copy", metavar="DIR", help="folder for the course notebooks (created if needed)")
    wanted.add_argument("--student", metavar="OUT_DIR", help="folder for the student copies (created if needed)")
    wanted.add_argument("--nbgrader", metavar="COURSE_DIR",
                        help="an nbgrader course directory: nbgrader_config.py and source/<assignment>/, ready for "
                             "nbgrader generate_assignment, autograde and export (docs/instructors.md)")
    course.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="with --nbgrader: set a notebook parameter in every assignment that has it (repeatable), "
                             "e.g. use_reference=true for quick grading on a CPU")
    course.add_argument("--timeout", type=int, default=None,
                        help="with --nbgrader: seconds each cell may run under nbgrader (default 1800)")
    course.add_argument("--notebooks", default=None, help="the course notebooks' folder (default: the kit's notebooks/)")

    book = commands.add_parser("book", help="build the course as a static site (a book) from the executed notebooks",
                               description="Run every course notebook on the shipped models (use_reference, no own run) "
                                           "and build a static site with Sphinx and MyST-NB into OUT_DIR/html: the course "
                                           "map as its front page, the notebooks in reading order, every figure, the "
                                           "mathematics typeset offline. --student builds the student edition (stubs, "
                                           "gencore's code without the answers).")
    book.add_argument("out_dir", metavar="OUT_DIR", help="folder for the build (OUT_DIR/html is the site)")
    book.add_argument("--student", action="store_true", help="the student edition: no solutions anywhere")
    book.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                      help="set a notebook parameter where a notebook has it (repeatable), e.g. data_root=../shared/data")
    book.add_argument("--notebooks", default=None, help="the course notebooks' folder (default: the kit's notebooks/)")
    book.add_argument("--executed", default=None, metavar="DIR",
                      help="build from notebooks already executed into DIR (e.g. by papermill, as NN_name.ipynb) instead "
                           "of running them again; every course notebook must be there, with its outputs")

    reference = commands.add_parser("reference", help="list the shipped reference models and classifiers",
                                    description="The trained models shipped in the package (sample one with "
                                                "'sample ref:NAME'), with their settings and measured quality, and the "
                                                "quality classifiers with their test accuracy.")
    reference.add_argument("--ship", nargs=2, metavar=("NAME", "RUN_DIR"), default=None,
                           help="maintainers: measure RUN_DIR and ship its sampling networks as ref:NAME")
    reference.add_argument("--data-root", default=None, help="with --ship: folder holding the datasets (default: the run's own)")
    return parser


def _evaluate(args: argparse.Namespace) -> int:
    from gencore.engine.config import latent_words, parse_int
    from gencore.engine.files import write_json
    from gencore.quality.metrics import format_quality
    from gencore.runs.evaluate import evaluate_run

    n = parse_int("n", args.n, 2, 1_000_000)
    seed = parse_int("seed", args.seed, 0, 2**63 - 1)
    result = evaluate_run(args.run_dir, n=n, data_root=args.data_root, seed=seed,
                          train_classifier=not args.no_train_classifier, classifier=args.classifier)
    print(f"{result['model']} on {result['dataset']}, {latent_words(result.get('latent_dim'))}{result['epochs_done']} epochs")
    print(format_quality(result))
    if args.json:
        write_json(Path(args.json), result)
        print(f"wrote {args.json}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from gencore.engine.config import parse_int
    from gencore.studies.sweep import SweepSettings, parse_parameters, plan, run_sweep

    # plan() validates every value through TrainConfig, so the flags go in as typed.
    specs = plan(args.model, args.dataset, args.latent_dims, args.epochs, args.seeds, args.subset, parse_parameters(args.param))
    jobs = parse_int("jobs", args.jobs, 1, 256)
    data_root = str(Path(args.data_root).resolve()) if args.data_root else None  # the notebooks run in notebooks/
    settings = SweepSettings(str(Path(args.out).resolve()), data_root, parse_int("eval_samples", args.eval_samples, 2, 1_000_000))
    if args.scheduler and args.executor != "dask":
        raise GencoreError("--scheduler is for --executor dask.")
    records = run_sweep(specs, settings, jobs, executor=args.executor, scheduler=args.scheduler)
    failed = sum(r.get("status") == "failed" for r in records)
    print(f"{len(records) - failed} of {len(records)} runs finished; table in {args.out}/results.csv and results.md, "
          f"figures in {args.out}/grid-*.png")
    return 1 if failed else 0


def _classifier(args: argparse.Namespace) -> int:
    from gencore.engine.runtime import machine_name, resolve_device
    from gencore.quality.classifier import get_classifier
    from gencore.quality.reference import ship_classifier, shipped_classifier

    try:
        shipped = shipped_classifier(args.dataset)
        print(f"{shipped.describe()}; file {shipped.path}")
    except GencoreError as error:  # a damaged file: say so, and still allow retraining
        print(f"shipped classifier: {error}")
    if args.floor:
        from gencore.quality.metrics import measure_floor
        from gencore.quality.reference import record_floor

        floor = measure_floor(args.dataset, args.data_root, classifier="shipped")
        floor = {"fd": round(floor["fd"], 3), "classes_covered": floor["classes_covered"],
                 "confidence": round(floor["confidence"], 4), "recognised": round(floor["recognised"], 4),
                 "n": floor["n"], "what": floor["what"]}
        record_floor(args.dataset, floor)
        print(f"floor recorded: {floor}")
    if not (args.retrain or args.ship):
        return 0
    trained = get_classifier(args.dataset, args.data_root, device=args.device, retrain=args.retrain,
                             train_if_missing=args.retrain)
    print(f"{trained.describe()}; trained in {trained.seconds / 60:.1f} min; cached at {trained.path}")
    if args.ship:
        entry = ship_classifier(trained, args.dataset, _training_split(args.dataset, args.data_root),
                                machine_name(resolve_device(args.device)))
        print(f"shipped as {entry['file']} (sha256 {entry['sha256'][:12]}..., {entry['bytes'] / 1e6:.2f} MB)")
    else:
        print("measure with it: python -m gencore evaluate RUN_DIR --classifier trained (or set GENCORE_CLASSIFIERS)")
    return 0


def _training_split(dataset: str, data_root: str | None) -> str:
    """Which data a shipped classifier learnt from, in words (no machine's paths)."""
    from gencore.engine.data import load_dataset

    split = load_dataset(dataset, "train", data_root)
    from gencore.engine.datasets import get_dataset

    form = get_dataset(dataset).describe_source(split)
    return f"the {len(split):,} training images of {dataset} ({form})"


def _study(args: argparse.Namespace) -> int:
    import torch

    from gencore.engine.config import parse_int
    from gencore.studies.study import run_study, study_configs

    keep = tuple(sorted({parse_int("epochs", e, 1, None) for e in args.epochs}))
    if args.threads is not None:
        torch.set_num_threads(parse_int("threads", args.threads, 1, 1024))
    configs = study_configs(args.models, args.datasets, parse_int("gan_width", args.gan_width, 1, 1024), keep[-1],
                            args.data_root, args.device, args.precision,
                            seeds=[parse_int("seeds", seed, 0, 2**63 - 1) for seed in args.seeds])
    rows = run_study(args.out, args.runs_dir, configs, keep, n_eval=parse_int("n", args.n, 2, 1_000_000))
    print(f"{len(rows)} rows in {args.out}/results.csv")
    return 0


def _course(args: argparse.Namespace) -> int:
    from gencore.course import write_course_copies, write_student_copies
    from gencore.engine.paths import NOTEBOOKS

    source = Path(args.notebooks) if args.notebooks else NOTEBOOKS
    if not source.is_dir():
        raise GencoreError(f"no notebooks folder at {source}: pass --notebooks with the course's notebooks/ folder.")
    if args.nbgrader:
        return _nbgrader_course(args, source)
    out = args.copy or args.student
    try:
        if args.copy:
            written, kept = write_course_copies(out, source)
        else:
            written, kept = write_student_copies(out, source), []
    except OSError as error:
        raise GencoreError(f"cannot write the notebooks to {out} ({error.strerror}): choose another folder.") from None
    print(f"wrote {len(written)} {'course' if args.copy else 'student'} notebooks to {out}"
          + (f"; kept {len(kept)} already there (your work): {', '.join(p.name for p in kept)}" if kept else ""))
    if args.copy:
        print(f"open them with: jupyter lab {out}   (the shipped study and models come from the installed kit)")
    return 0


def _nbgrader_course(args: argparse.Namespace, source: Path) -> int:
    from gencore.course.grading import CELL_TIMEOUT, write_nbgrader_course
    from gencore.engine.config import parse_int
    from gencore.studies.sweep import parse_parameters

    timeout = CELL_TIMEOUT if args.timeout is None else parse_int("timeout", args.timeout, 1, 86_400)
    try:
        assignments = write_nbgrader_course(args.nbgrader, source, parse_parameters(args.param), timeout)
    except OSError as error:
        raise GencoreError(f"cannot write the course directory {args.nbgrader} ({error.strerror}): choose another folder.") from None
    for name, points in assignments.items():
        print(f"source/{name}: {len(points)} graded cells, {sum(points.values())} points")
    print(f"next, in {args.nbgrader}: nbgrader generate_assignment ASSIGNMENT, then release, collect, "
          "nbgrader autograde ASSIGNMENT and nbgrader export (docs/instructors.md)")
    return 0


def _book(args: argparse.Namespace) -> int:
    from gencore.course.book import build_book
    from gencore.engine.paths import NOTEBOOKS
    from gencore.studies.sweep import parse_parameters

    front = build_book(args.out_dir, args.student, Path(args.notebooks) if args.notebooks else NOTEBOOKS,
                       parse_parameters(args.param), executed=Path(args.executed) if args.executed else None)
    print(f"the {'student' if args.student else 'instructor'} edition: open {front}")
    return 0


def _reference(args: argparse.Namespace) -> int:
    from gencore.quality.reference import describe_references

    if args.ship:
        from gencore.studies.study import ship_reference

        name, run_dir = args.ship
        entry = ship_reference(name, run_dir, data_root=args.data_root)
        print(f"shipped ref:{name}: fd {entry['fd']:.2f}, {entry['bytes'] / 1e6:.2f} MB")
    print(describe_references())
    return 0


def _bench(args: argparse.Namespace) -> int:
    from gencore.studies.bench import HEADER, run_bench, write_bench_json

    print(HEADER)
    records, machine = run_bench(args.data_root, quick=args.quick, models=tuple(args.models), datasets=tuple(args.datasets),
                                 precisions=tuple(args.precisions) if args.precisions else None)
    if args.json:
        write_bench_json(args.json, records, machine)
        print(f"wrote {len(records)} records to {args.json}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from gencore.engine.config import TrainConfig
    from gencore.engine.presets import preset_settings
    from gencore.runs.start import start_run

    from gencore.engine.families import family_settings, get_family

    given = dict(
        batch_size=args.batch_size, lr=args.lr, width=args.width, subset=args.subset, data_root=args.data_root,
        time_budget=args.time_budget, precision=args.precision,
        **{item.name: getattr(args, item.name) for item in family_settings()},  # each family's own flags
    )
    if args.latent_dim is None and get_family(args.model).has_latent:
        raise GencoreError(f"--latent-dim is required for the {args.model} (the size of its latent code z, e.g. 2 or 64).")
    settings = preset_settings(args.preset, args.model, args.dataset) if args.preset else {}
    settings.update({k: v for k, v in given.items() if v is not None})  # explicit flags win
    config = TrainConfig(model=args.model, dataset=args.dataset, latent_dim=args.latent_dim, epochs=args.epochs,
                         seed=args.seed, device=args.device, **settings)
    result = start_run(config, args.out, resume=args.resume, progress=not args.no_progress).fit()
    last = result.history[-1] if result.history else {}
    summary = " ".join(f"{k}={v:.4g}" for k, v in last.items() if k != "epoch")
    print(f"{result.status}: {result.epochs_done}/{config.epochs} epochs in {args.out}" + (f"; last epoch {summary}" if summary else ""))
    return 0


def _class_index(value: str, dataset: str) -> int:
    """A --class value: its index (7) or its name in the dataset's record (ship)."""
    from gencore.engine.datasets import get_dataset
    from gencore.engine.parse import parse_int

    names = get_dataset(dataset).classes
    if value in names and not value.isdigit():
        return names.index(value)
    if not value.strip().lstrip("+-").isdigit():
        raise GencoreError(f"--class must be a class index from 0 to {len(names) - 1} or a name of one of "
                           f"{dataset}'s classes ({', '.join(names)}), got {value!r}.")
    return parse_int("class", value, -(2**31), 2**31)  # the range is checked against the dataset by the sampler


def _sample(args: argparse.Namespace) -> int:
    from gencore.engine.config import parse_int
    from gencore.engine.files import atomic_write, torch_bytes
    from gencore.engine.runtime import resolve_device
    from gencore.engine.sampling import sample_images
    from gencore.quality.reference import load_reference, parse_reference
    from gencore.runs.checkpoint import load_run

    n = parse_int("n", args.n, 1, 1_000_000)
    seed = parse_int("seed", args.seed, 0, 2**63 - 1)
    device = resolve_device(args.device)
    name = parse_reference(args.run_dir)
    if name is not None:
        reference = load_reference(name, device)
        config, models = reference.config, reference.models
    else:
        config, models, _ = load_run(args.run_dir, device)
    classes = None if args.class_ is None else _class_index(args.class_, config.dataset)
    images = sample_images(models, config, n, seed, device, classes)
    atomic_write(Path(args.out), lambda f: f.write(torch_bytes(images)))
    print(f"wrote {tuple(images.shape)} images in [0, 1] to {args.out}" + (f", all of class {args.class_}" if classes is not None else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a flag argparse refused (already reported in one line)
        return int(exit_.code or 0)
    try:
        return {"train": _train, "sample": _sample, "bench": _bench, "evaluate": _evaluate,
                "classifier": _classifier, "sweep": _sweep, "reference": _reference, "study": _study,
                "course": _course, "book": _book}[args.command](args)
    except GencoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a Ctrl-C outside training, or a second one during it
        again = ("run the same sweep command again: finished runs are skipped, unfinished ones resume from their "
                 "last checkpoint." if args.command == "sweep" else "'train ... --resume' continues.")
        print(f"interrupted: what was saved before is kept; {again}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
