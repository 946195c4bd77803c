"""05's catch-up lesson: critics trained alone against a frozen generator."""

from __future__ import annotations

import math
import types
from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from gencore import course
from gencore.course.lessons import critic_gap_curves
from gencore.engine.config import TrainConfig
from gencore.engine.models.gan import Critic, Generator


class BlackImages(nn.Module):
    """A frozen 'generator' whose every sample is black (-1): its distance to the data is known."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # gives the module a device

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return -torch.ones(z.shape[0], 1, 28, 28)


def half_white(n: int) -> torch.Tensor:
    images = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    images[:, :, :14] = 255  # the top half white: every image is the same point
    return images


@pytest.mark.parametrize("weight", [1.0, 10.0])
def test_a_critic_trained_alone_reaches_the_penalised_optimum_of_two_points(weight: float) -> None:
    # Real data is one point, the samples another, D = sqrt(392 * 2^2) apart. On the segment between them (where
    # the penalty looks) the critic's slope s maximises D s - lambda (s - 1)^2: s = 1 + D / (2 lambda), so the best
    # gap is D (1 + D / (2 lambda)), above W1 = D: the penalty is soft, and a large distance stretches it.
    distance = math.sqrt(14 * 28 * 2.0**2)
    optimum = distance * (1 + distance / (2 * weight))
    torch.manual_seed(0)
    curves = critic_gap_curves(BlackImages(), 2, half_white(256), half_white(64), {"w8": Critic((1, 28, 28), 8)},
                             steps=300, lr=1e-3, gp_weight=weight, points=4)
    (curve,) = curves.values()
    assert [step for step, _ in curve] == [0, 100, 200, 300]
    gaps = [gap for _, gap in curve]
    assert abs(gaps[0]) < 0.5 and gaps[-1] > 0.9 * optimum, (gaps, optimum)  # it catches up...
    assert max(gaps) < 1.01 * optimum, (gaps, optimum)  # ...and no critic can pass the optimum


def test_the_same_seed_gives_the_same_curve_and_no_steps_is_refused() -> None:
    def once() -> list[tuple[int, float]]:
        torch.manual_seed(0)
        critic = Critic((1, 28, 28), 4)
        return critic_gap_curves(BlackImages(), 2, half_white(64), half_white(16), {"c": critic}, steps=6, points=3)["c"]

    assert once() == once()
    with pytest.raises(ValueError, match="steps must be at least 1"):
        critic_gap_curves(BlackImages(), 2, half_white(64), half_white(16), {"c": Critic((1, 28, 28), 4)}, steps=0)


def test_the_notebook_call_trains_copies_and_leaves_the_runs_critic_as_it_was(data_root: Path) -> None:
    config = TrainConfig(model="wgan-gp", dataset="mnist", latent_dim=2, width=4, lr=1e-4, data_root=str(data_root))
    torch.manual_seed(0)
    models = {"generator": Generator((1, 28, 28), 2, 4), "critic": Critic((1, 28, 28), 4)}
    before = {k: v.clone() for k, v in models["critic"].state_dict().items()}
    run = types.SimpleNamespace(config=config, models=models, history=[{"epoch": 1, "emd": 0.3}],
                                device=torch.device("cpu"), label="", epoch=1)
    figure = course.critic_catch_up(run, 4, widths=(8,), train_images=128, test_images=64)
    assert isinstance(figure, Figure)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels[:3] == ["the run's critic (width 4), trained on", "a new critic, width 4", "a new critic, width 8"]
    assert any("0.30" in label for label in labels)  # the run's last estimate, for comparison
    after = models["critic"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_finished_run_directory_can_be_asked_too(tmp_path: Path, data_root: Path) -> None:
    from gencore.runs.start import train_or_load

    config = TrainConfig(model="wgan-gp", dataset="mnist", latent_dim=2, width=4, epochs=1, subset=128, eval_every=0,
                         data_root=str(data_root))
    trainer = train_or_load(config, tmp_path, progress=False)
    figure = course.critic_catch_up(trainer.run_dir, 2, widths=(), train_images=64, test_images=32)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels[:2] == ["the run's critic (width 4), trained on", "a new critic, width 4"]


def test_a_vae_run_is_refused_with_a_clear_message() -> None:
    run = types.SimpleNamespace(config=TrainConfig(model="vae", dataset="mnist"), models={"vae": nn.Linear(1, 1)})
    with pytest.raises(ValueError, match="needs a run with a generator .* this is a vae run"):
        course.critic_catch_up(run, 10)


def test_critic_linearity_is_1_for_a_linear_critic_and_lower_for_one_that_bends() -> None:
    from gencore.course.lessons import critic_linearity
    from gencore.engine.models.gan import Critic

    torch.manual_seed(0)
    images = torch.rand(32, 1, 28, 28) * 2 - 1
    linear = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    with torch.no_grad():
        linear[1].weight.div_(linear[1].weight.norm())  # slope 1 everywhere: what the penalty asks for
    cosine, norm = critic_linearity(linear, images)
    assert cosine == pytest.approx(1.0, abs=1e-5) and norm == pytest.approx(1.0, abs=1e-5)
    bent, _ = critic_linearity(Critic((1, 28, 28), width=8), images)  # LeakyReLU layers: gradients differ per image
    assert bent < 0.99
