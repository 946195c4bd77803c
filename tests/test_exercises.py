"""The exercises' checks: gencore's own functions pass, the classic mistakes fail with a message
that names the case (expected and obtained), a stub falls back, and the trainer trains with the
learner's function."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO
from gencore.course import Source, lessons, show, student_source
from gencore.course.exercises import EXERCISES, ExerciseFailed, check, reference
from gencore.engine import losses
from gencore.engine.config import TrainConfig
from gencore.runs.start import start_run


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_gencores_own_functions_pass_every_case(name: str, capsys: pytest.CaptureFixture) -> None:
    assert check(name, reference(name)) is reference(name)
    assert f"{name}: all cases pass." in capsys.readouterr().out


def _interpolates(real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)


def _penalty(critic, x: torch.Tensor, per_sample: bool = True) -> torch.Tensor:  # noqa: ANN001
    (gradients,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    norms = gradients.flatten(1).norm(dim=1) if per_sample else gradients.norm()
    return (norms - 1).pow(2).mean()


def batch_wide_norm(critic, real, fake):  # noqa: ANN001, ANN201
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)))
    return _penalty(critic, _interpolates(real, fake, alpha), per_sample=False)


def normal_alpha(critic, real, fake):  # noqa: ANN001, ANN201
    return _penalty(critic, _interpolates(real, fake, torch.randn(real.shape[0], *([1] * (real.dim() - 1)))))


def one_alpha_per_batch(critic, real, fake):  # noqa: ANN001, ANN201
    return _penalty(critic, _interpolates(real, fake, torch.rand(1)))


def at_real_points(critic, real, fake):  # noqa: ANN001, ANN201
    return _penalty(critic, real.detach().clone().requires_grad_(True))


def without_the_graph(critic, real, fake):  # noqa: ANN001, ANN201
    x = _interpolates(real, fake, torch.rand(real.shape[0], *([1] * (real.dim() - 1))))
    (gradients,) = torch.autograd.grad(critic(x).sum(), x)
    return (gradients.flatten(1).norm(dim=1) - 1).pow(2).mean()


@pytest.mark.parametrize("wrong, case", [
    (batch_wide_norm, r"per-sample gradient norms.*expected 4\.0, obtained 121\.0"),
    (normal_alpha, r"alpha ~ U\[0, 1\]"),
    (one_alpha_per_batch, r"alpha is drawn per sample"),
    (at_real_points, r"alpha ~ U\[0, 1\].*expected 0\.333333, obtained 1\.0"),
    (without_the_graph, r"the penalty trains the critic"),
])
def test_a_wrong_gradient_penalty_fails_naming_the_case(wrong, case: str) -> None:  # noqa: ANN001
    with pytest.raises(ExerciseFailed, match=case):
        check("gradient_penalty", wrong, verbose=False)


@pytest.mark.parametrize("name, wrong, case", [
    ("reparameterize", lambda m, v: m + torch.randn_like(m) * torch.exp(v), r"standard deviations \[2, 0\.5\].*sds \[4\.0"),
    ("reparameterize", lambda m, v: torch.normal(m.detach(), torch.exp(0.5 * v.detach())), r"gradients flow to mean"),
    ("kl_divergence", lambda m, v: -0.5 * torch.mean(1 + v - m**2 - v.exp()), r"summed over the batch, not averaged"),
    ("discriminator_loss", lambda r, f: (F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="sum")
                                         + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="sum"),
                                         torch.tensor(0.0)), r"D guesses"),
    ("generator_loss", lambda f: torch.log(1 - torch.sigmoid(f)).mean(), r"non-saturating"),
    ("critic_loss", lambda r, f: (r.mean() - f.mean(), r.mean() - f.mean()), r"expected emd .* loss = -2\.5, obtained emd 2\.5, loss 2\.5"),
    # 02: the variance where the log-variance belongs, and a mean over pixels where the seed sums
    ("gaussian_nll", lambda x, m, v: 0.5 * torch.sum(math.log(2 * math.pi) + v + (x - m) ** 2 / v), r"torch\.distributions"),
    ("gaussian_nll", lambda x, m, v: 0.5 * torch.mean(math.log(2 * math.pi) + v + (x - m) ** 2 / torch.exp(v)),
     r"torch\.distributions"),
    # 04: the image's mean left in (the constant's power at frequency 0 counts in the total), and only the corner
    ("nyquist_share", lambda x: float(torch.fft.fft2(x.float()).abs().pow(2).sum((0, 1))[x.shape[-2] // 2].sum()
                                      / torch.fft.fft2(x.float()).abs().pow(2).sum()), r"checkerboard"),
    ("nyquist_share", lambda x: float((lambda p: p[x.shape[-2] // 2, x.shape[-1] // 2] / p.sum())(
        torch.fft.fft2(x.float() - x.float().mean((2, 3), keepdim=True)).abs().pow(2).sum((0, 1)))), r"stripes"),
    # 06: Pearson's correlation of the values instead of their ranks
    ("spearman", lambda a, b: float(torch.corrcoef(torch.tensor([a, b], dtype=torch.float64))[0, 1]), r"rises with the other"),
    # 08: the class maps before the images, and the class in channel y instead of C + y
    ("with_class_channels", lambda x, y, k: torch.cat([F.one_hot(y, k).to(x)[:, :, None, None].expand(-1, -1, *x.shape[2:]), x], 1),
     r"first C channels are the images"),
    ("with_class_channels", lambda x, y, k: torch.cat([x, F.one_hot(y, k + x.shape[1]).to(x)[:, :, None, None]
                                                        .expand(-1, -1, *x.shape[2:])], 1), r"shape \(2, 5, 3, 3\)"),
    # 09: the variances where the standard deviations belong, and one abar for the whole batch
    ("q_sample", lambda x0, t, e, s: s.alphas_cumprod[t].view(-1, 1, 1, 1) * x0 + (1 - s.alphas_cumprod[t].view(-1, 1, 1, 1)) * e,
     r"equals the closed form"),
    ("q_sample", lambda x0, t, e, s: s.alphas_cumprod[t[0]].sqrt() * x0 + (1 - s.alphas_cumprod[t[0]]).sqrt() * e,
     r"each image at its own t"),
    # 09: x0_hat left unclipped, and the last step read as abar_{-1} = abar_{T-1} (Python's index -1)
    ("ddim_step", lambda e, t, tp, x, s: s.alphas_cumprod[tp if tp >= 0 else 0].sqrt() * 0 + (
        (1.0 if tp < 0 else s.alphas_cumprod[tp]) ** 0.5 * (x - (1 - s.alphas_cumprod[t]).sqrt() * e) / s.alphas_cumprod[t].sqrt()
        + (0.0 if tp < 0 else 1 - s.alphas_cumprod[tp]) ** 0.5 * e), r"clipped to \[-1, 1\]"),
    ("ddim_step", lambda e, t, tp, x, s: s.alphas_cumprod[tp].sqrt() * ((x - (1 - s.alphas_cumprod[t]).sqrt() * e)
                                                                       / s.alphas_cumprod[t].sqrt()).clamp(-1, 1)
     + (1 - s.alphas_cumprod[tp]).sqrt() * e, r"the last step \(t_prev = -1\) gives the clean image"),
])
def test_other_classic_mistakes_fail_naming_the_case(name: str, wrong, case: str) -> None:  # noqa: ANN001
    with pytest.raises(ExerciseFailed, match=case):
        check(name, wrong, verbose=False)


@pytest.mark.parametrize("name", sorted(n for n, e in EXERCISES.items() if e.hidden is not None))
def test_the_hidden_cases_pass_gencores_answer_and_fail_a_wrong_one(name: str) -> None:
    assert check(name, reference(name), verbose=False, hidden=True) is reference(name)
    answer = reference(name)

    def off(*args):  # noqa: ANN002, ANN202 - right on the visible cases' special inputs, wrong elsewhere by 1%
        value = answer(*args)
        return type(value)(*(v * 1.01 for v in value)) if isinstance(value, tuple) else value * 1.01

    with pytest.raises(ExerciseFailed, match="agrees with gencore's"):
        check(name, off, verbose=False, hidden=True)


def test_every_exercise_has_points_and_a_notebook_that_asks_for_it() -> None:
    for exercise in EXERCISES.values():
        assert exercise.points > 0
        assert f'check("{exercise.name}", {exercise.name})' in (REPO / "notebooks" / f"{exercise.notebook}.py").read_text()


def test_an_error_inside_the_learners_function_is_reported_as_the_cases_result() -> None:
    with pytest.raises(ExerciseFailed, match=r"obtained TypeError"):
        check("kl_divergence", lambda mean: mean, verbose=False)


def test_a_stub_says_not_implemented_and_falls_back_to_gencore(capsys: pytest.CaptureFixture) -> None:
    def stub(mean, log_var):  # noqa: ANN001, ANN202
        raise NotImplementedError("your code here")

    assert check("reparameterize", stub) is reference("reparameterize")
    assert "reparameterize: not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("variable, value", [("NBGRADER_EXECUTION", "autograde"), ("NBGRADER_EXECUTION", "validate"),
                                             ("GENCORE_GRADING", "1")])
def test_under_a_grader_a_stub_fails_its_check(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    def stub(mean, log_var):  # noqa: ANN001, ANN202
        raise NotImplementedError("your code here")

    own = SOLUTIONS["reparameterize"]
    monkeypatch.setenv(variable, value)
    with pytest.raises(ExerciseFailed, match="reparameterize is not implemented"):
        check("reparameterize", stub, verbose=False)
    assert check("reparameterize", own, verbose=False) is own


def _solutions() -> dict[str, object]:
    """The course's own solutions: each notebook's cells tagged solution, run as a learner's cell would run them."""
    import nbformat

    functions: dict[str, object] = {}
    for stem in sorted({e.notebook for e in EXERCISES.values()}):
        notebook = nbformat.read(REPO / "notebooks" / f"{stem}.ipynb", as_version=4)
        namespace: dict = {"torch": torch, "F": F, "math": math, "losses": losses}
        for cell in notebook.cells:
            if "solution" in cell.metadata.get("tags", []):
                exec(compile(cell.source, f"<{stem} solution>", "exec"), namespace)
        functions.update({name: namespace[name] for name in EXERCISES if name in namespace})
    return functions


SOLUTIONS = _solutions()
GRADED = [("NBGRADER_EXECUTION", "autograde"), ("NBGRADER_EXECUTION", "validate"), ("GENCORE_GRADING", "1")]


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_under_a_grader_the_courses_solutions_pass_every_case(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("GENCORE_GRADING", "1")
    assert check(name, SOLUTIONS[name], verbose=False) is SOLUTIONS[name]
    if EXERCISES[name].hidden is not None:
        assert check(name, SOLUTIONS[name], verbose=False, hidden=True) is SOLUTIONS[name]


@pytest.mark.parametrize("name", sorted(EXERCISES))
@pytest.mark.parametrize("variable, value", GRADED)
def test_under_a_grader_gencores_own_function_scores_nothing(monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
                                                             name: str) -> None:
    answer = reference(name)  # taken before grading starts: a name bound before the check
    monkeypatch.setenv(variable, value)
    for hidden in (False, True) if EXERCISES[name].hidden is not None else (False,):
        for fn in (answer, lambda *args: answer(*args)):
            with pytest.raises(ExerciseFailed) as failed:
                check(name, fn, verbose=False, hidden=hidden)
            message = str(failed.value)
            assert message.startswith(f"{name} asks for your own code: your function called gencore.") and "\n" not in message


def _taken_kl() -> object:
    taken = losses.kl_divergence
    return lambda mean, log_var: taken(mean, log_var)


def _in_a_thread(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    import threading

    result = []
    worker = threading.Thread(target=lambda: result.append(losses.kl_divergence(mean, log_var)))
    worker.start()
    worker.join()
    return result[0]


def _watch_switched_off(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    import sys

    sys.setprofile(None)
    return losses.kl_divergence(mean, log_var)


@pytest.mark.parametrize("route, fn, called", [
    ("the module attribute", lambda m, v: losses.kl_divergence(m, v), "gencore.engine.losses.kl_divergence"),
    ("a name taken before the check", _taken_kl(), "gencore.engine.losses.kl_divergence"),
    ("the family's parts", lambda m, v: __import__("gencore.engine.families", fromlist=["FAMILIES"]).FAMILIES["vae"]
     .parts["kl_divergence"](m, v), "gencore.engine.losses.kl_divergence"),
    ("exercises.reference", lambda m, v: __import__("gencore.course.exercises", fromlist=["reference"])
     .reference("kl_divergence")(m, v), "gencore.course.exercises.reference"),
    ("another gencore function that computes it", lambda m, v: losses.vae_loss(torch.zeros(1), torch.zeros(1), m, v).kl,
     "gencore.engine.losses.vae_loss"),
    ("a thread the function starts", _in_a_thread, "gencore.engine.losses.kl_divergence"),
    ("the watch switched off", _watch_switched_off, "sys.setprofile"),
])
def test_a_graded_check_fails_a_function_that_calls_gencore_by_any_route(monkeypatch: pytest.MonkeyPatch, route: str, fn,  # noqa: ANN001
                                                                        called: str, capsys: pytest.CaptureFixture) -> None:
    assert check("kl_divergence", fn) is fn  # working alone: it passes, with a note that a grader would not accept it
    out = capsys.readouterr().out
    assert f"note: your function {'switched off' if called == 'sys.setprofile' else 'called ' + called}" in out and "kl_divergence: all cases pass." in out
    monkeypatch.setenv("GENCORE_GRADING", "1")
    expected = "switched off the check's watch" if called == "sys.setprofile" else f"called {called}, gencore's own code"
    with pytest.raises(ExerciseFailed, match=rf"^kl_divergence asks for your own code: your function {re.escape(expected)}"):
        check("kl_divergence", fn)
    assert "PASS" not in capsys.readouterr().out  # it fails at the first case


def test_reference_hands_out_no_answer_under_a_grader_or_in_the_student_edition(monkeypatch: pytest.MonkeyPatch) -> None:
    from gencore.course import exercises, source

    assert reference("spearman") is lessons.spearman and exercises.is_answer("spearman", lessons.spearman)
    try:
        source.hide_answers()
        with pytest.raises(ExerciseFailed, match=r"exercises.reference\('spearman'\) hands out no answer in the student"):
            reference("spearman")
        def stub(a, b):  # noqa: ANN001, ANN202
            raise NotImplementedError
        assert exercises.is_answer("spearman", check("spearman", stub, verbose=False))  # the fallback still runs on
    finally:
        source.show_answers()
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    with pytest.raises(ExerciseFailed, match=r"hands out no answer under a grader"):
        reference("spearman")


def test_the_student_edition_shows_gencores_code_without_the_answers(capsys: pytest.CaptureFixture) -> None:
    from gencore.course import source
    from gencore.engine.models import VAE, Discriminator

    full = show(VAE).source
    try:
        source.hide_answers()
        hidden = show(VAE).source
        penalty = show(losses.gradient_penalty).source
        logits = show(Discriminator.logits).source  # a method's own, indented source
    finally:
        source.show_answers()
    assert "torch.randn_like" in full and "torch.randn_like" not in hidden and "def reparameterize(" in hidden
    assert hidden != full and "def decode(" in hidden and "self.decoder(z)" in hidden
    assert "autograd.grad" not in penalty and source.HIDDEN_BODY in penalty and '"""E[(||grad' in penalty
    assert logits == show(Discriminator.logits).source  # no answer in it: unchanged
    assert "torch.randn_like" in show(VAE).source  # the instructor's edition again


def test_the_trainer_trains_with_the_learners_function(fixture_root: Path) -> None:
    config = TrainConfig(model="vae", dataset="mnist", latent_dim=4, epochs=1, batch_size=32, width=8, subset=256,
                         data_root=str(fixture_root), device="cpu", eval_every=0)
    same = lambda mean, log_var: losses.kl_divergence(mean, log_var)  # noqa: E731 - gencore's maths, the learner's object
    doubled = lambda mean, log_var: 2 * losses.kl_divergence(mean, log_var)  # noqa: E731
    plain, own, other = (start_run(config, progress=False, overrides=o).fit().history[0]
                         for o in (None, {"kl_divergence": same}, {"kl_divergence": doubled}))
    assert own == plain  # the same function, the same numbers
    assert other["train_total"] == pytest.approx(other["train_mse"] + other["train_kl"], rel=1e-6)  # the step used it
    assert other["train_kl"] != plain["train_kl"]


def test_the_course_shows_gencores_own_source() -> None:
    source = show(losses.gradient_penalty)
    assert isinstance(source, Source) and source.path == Path("gencore/engine/losses.py")
    assert "create_graph=True" in source.source and "create_graph=True" in repr(source)
    assert "<span" in source._repr_html_() and "gencore/engine/losses.py" in source._repr_html_()


def test_student_source_keeps_signature_and_docstring_and_stubs_the_body() -> None:
    solution = 'import torch\n\n\ndef f(x):\n    """Doc."""\n    y = x + 1  # work\n    return y\n\n\ndef g(a,\n      b):\n    return a\n'
    stubbed = student_source(solution)
    assert stubbed.startswith("import torch") and 'def f(x):\n    """Doc."""\n    raise NotImplementedError' in stubbed
    assert "def g(a,\n      b):\n    raise NotImplementedError" in stubbed and "y = x + 1" not in stubbed
    namespace: dict = {}
    exec(stubbed, namespace)  # still valid Python
    with pytest.raises(NotImplementedError):
        namespace["f"](1)
