"""The conditional families (cvae, cgan) and the convolutional VAE: the class reaches every network,
a seeded draw of a class repeats, class weights between two classes interpolate, runs resume, the
class accuracy is counted as defined, and bad classes get one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gencore.__main__ import main
from gencore.engine.config import TrainConfig
from gencore.engine.errors import GencoreError
from gencore.engine.families import FAMILIES
from gencore.engine.loop import Trainer
from gencore.engine.models.conditional import ConditionalGenerator, ConditionalVAE, one_hot, with_class_channels
from gencore.engine.models.gan import Generator
from gencore.engine.models.vae import ConvVAE
from gencore.engine.sampling import generate, sample_images
from gencore.quality.metrics import class_accuracy_from
from gencore.runs.start import start_run


def test_the_class_channels_are_the_images_then_one_all_ones_map_per_image() -> None:
    images = torch.rand(3, 2, 4, 5)
    out = with_class_channels(images, torch.tensor([0, 3, 3]), 4)
    assert out.shape == (3, 6, 4, 5) and torch.equal(out[:, :2], images)
    assert out[:, 2:].mean(dim=(2, 3)).tolist() == [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]]


def test_class_weights_pass_through_and_a_one_hot_row_is_the_integer_class() -> None:
    assert torch.equal(one_hot(torch.tensor([2, 0]), 3), torch.tensor([[0.0, 0, 1], [1, 0, 0]]))
    mix = torch.tensor([[0.25, 0.75, 0.0]])
    assert torch.equal(one_hot(mix, 3), mix)
    with pytest.raises(ValueError, match=r"class weights must be \(B, 3\)"):
        one_hot(torch.zeros(2, 4), 3)
    torch.manual_seed(0)
    generator = ConditionalGenerator((1, 28, 28), 8, 4, 10).eval()
    z = torch.randn(2, 8)
    assert torch.allclose(generator.sample(z, torch.tensor([3, 7])), generator.sample(z, one_hot(torch.tensor([3, 7]), 10)))


def test_the_conditional_generator_is_dcgans_with_k_more_inputs_and_the_class_changes_the_image() -> None:
    torch.manual_seed(0)
    conditional, plain = ConditionalGenerator((3, 32, 32), 16, 8, 10), Generator((3, 32, 32), 26, 8)
    assert [p.shape for p in conditional.parameters()] == [p.shape for p in plain.parameters()]
    conditional.eval()
    z = torch.randn(1, 16).expand(2, -1)
    a, b = conditional.sample(z, torch.tensor([1, 9]))
    assert a.shape == (3, 32, 32) and not torch.allclose(a, b)


def test_the_conditional_vae_reads_the_class_in_its_encoder_and_decoder() -> None:
    torch.manual_seed(0)
    vae = ConditionalVAE((1, 28, 28), 2, 4, 10)
    x = torch.rand(2, 1, 28, 28)
    mean_a, _ = vae.encode(x, torch.tensor([0, 0]))
    mean_b, _ = vae.encode(x, torch.tensor([5, 5]))
    assert mean_a.shape == (2, 2) and not torch.allclose(mean_a, mean_b)
    z = torch.zeros(2, 2)
    assert not torch.allclose(vae.decode(z, torch.tensor([0, 0])), vae.decode(z, torch.tensor([5, 5])))


def test_the_convolutional_vaes_decoder_is_the_gans_generator_layer_for_layer() -> None:
    for shape in ((1, 28, 28), (3, 32, 32)):
        vae, generator = ConvVAE(shape, 16, 8), Generator(shape, 16, 8)
        assert [p.shape for p in vae.generator.parameters()] == [p.shape for p in generator.parameters()]
        recon, mean, log_var = vae(torch.rand(4, *shape))
        assert recon.shape == (4, *shape) and mean.shape == log_var.shape == (4, 16)
        assert 0 <= recon.min() and recon.max() <= 1


@pytest.mark.parametrize("model, settings", [("cvae", {}), ("cgan", {"width": 8}), ("vae", {"vae_network": "conv", "width": 8})])
def test_each_new_model_trains_resumes_to_the_same_numbers_and_draws_a_seeded_class(
        model: str, settings: dict, data_root: Path, tmp_path: Path) -> None:
    config = TrainConfig(model=model, dataset="mnist", latent_dim=4, epochs=2, subset=256, data_root=str(data_root),
                         eval_every=0, **settings)
    whole = Trainer(config)
    whole.fit()
    assert isinstance(whole.models.get("vae"), ConvVAE) == (settings.get("vae_network") == "conv")  # the setting builds it
    first = start_run(config.replace(epochs=1), tmp_path / "run")
    first.fit()
    resumed = start_run(config, tmp_path / "run", resume=True)
    resumed.fit()
    assert resumed.history == whole.history  # a run resumed from its checkpoint repeats the uninterrupted one
    classes = torch.tensor([7, 7, 2]) if config.family.conditional else None
    a = sample_images(whole.models, config, 3, seed=5, classes=classes)
    b = sample_images(whole.models, config, 3, seed=5, classes=classes)
    assert a.shape == (3, 1, 28, 28) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1
    if config.family.conditional:  # the class reaches the sampler
        assert not torch.equal(a, sample_images(whole.models, config, 3, seed=5, classes=torch.tensor([1, 1, 1])))


def test_a_conditional_model_draws_classes_in_turn_when_none_is_asked_for(data_root: Path) -> None:
    config = TrainConfig(model="cgan", dataset="mnist", latent_dim=4, width=4, epochs=1, subset=128, data_root=str(data_root))
    trainer = Trainer(config)
    z = torch.randn(12, 4, generator=torch.Generator().manual_seed(0))
    drawn = sample_images(trainer.models, config, 12, seed=0)
    assert torch.equal(drawn, generate(trainer.models, config, z, torch.arange(12) % 10))
    with pytest.raises(GencoreError, match="conditional: give the classes"):
        generate(trainer.models, config, z)


def test_class_accuracy_is_the_diagonals_share_and_the_confusion_counts_asked_by_assigned() -> None:
    asked = torch.tensor([0, 0, 1, 1, 2, 2, 2, 2])
    assigned = torch.tensor([0, 1, 1, 1, 2, 0, 2, 2])
    numbers = class_accuracy_from(assigned, asked, classes=3)
    assert numbers["class_accuracy"] == 6 / 8
    assert numbers["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 3]]


def test_the_conditional_families_are_registered_beside_the_seed_studys_three() -> None:
    assert {name for name, family in FAMILIES.items() if family.conditional} == {"cvae", "cgan", "ddpm"}
    assert [name for name, family in FAMILIES.items() if family.in_seed_study] == ["vae", "gan", "wgan-gp"]
    assert FAMILIES["cgan"].parts["with_class_channels"] is with_class_channels  # the exercise trains the real model


def test_sample_draws_one_class_of_a_shipped_conditional_model_and_refuses_bad_classes(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sample", "ref:cgan-mnist", "--n", "4", "--class", "7", "--out", str(tmp_path / "sevens.pt")]) == 0
    assert torch.load(tmp_path / "sevens.pt", weights_only=True).shape == (4, 1, 28, 28)
    capsys.readouterr()
    assert main(["sample", "ref:cgan-mnist", "--n", "4", "--class", "10", "--out", str(tmp_path / "x.pt")]) == 2
    assert "class 10 is not a class of mnist: choose one from 0 to 9" in capsys.readouterr().err
    assert main(["sample", "ref:cvae-cifar10", "--n", "2", "--class", "ship", "--out", str(tmp_path / "ships.pt")]) == 0
    assert main(["sample", "ref:gan-mnist", "--n", "2", "--class", "3", "--out", str(tmp_path / "y.pt")]) == 2
    assert "unconditional" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "y.pt").exists()


def _tiny_run(model: str, data_root: Path) -> Trainer:
    config = TrainConfig(model=model, dataset="mnist", latent_dim=4, width=4, epochs=1, subset=128, data_root=str(data_root))
    return Trainer(config)


def test_a_class_grid_shares_z_down_each_column_and_a_walk_starts_and_ends_at_its_two_classes(data_root: Path) -> None:
    from gencore.course.conditional import class_grid_images, class_walk_images

    run = _tiny_run("cvae", data_root)
    grid = class_grid_images(run, noise=3, seed=4)
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(4))
    for k in (0, 6):
        assert torch.allclose(grid[3 * k:3 * k + 3], run.generate(z, torch.full((3,), k)))  # row k: the same 3 z, class k
    walk = class_walk_images(run, [(2, 5)], steps=4, seed=1)
    z = torch.randn(1, 4, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(walk[0], run.generate(z, torch.tensor([2]))[0], atol=1e-6)
    assert torch.allclose(walk[-1], run.generate(z, torch.tensor([5]))[0], atol=1e-6)
    assert not torch.allclose(walk[1], walk[0])  # in between, a mix of the two


def test_a_conditional_model_is_measured_on_the_test_splits_own_labels_and_its_confusion_counts_every_sample() -> None:
    from gencore.quality.metrics import QualityMeter, asked_classes
    from gencore.quality.reference import shipped_classifier

    real = torch.randint(0, 256, (60, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0] * 30 + [1] * 20 + [2] * 10)
    meter = QualityMeter(shipped_classifier("mnist"), real, labels)
    asked = asked_classes(meter, 60, seed=3)
    assert sorted(asked.tolist()) == sorted(labels.tolist())  # every test label once: the split's proportions
    assert torch.equal(asked, asked_classes(meter, 60, seed=3)) and not torch.equal(asked, asked_classes(meter, 60, seed=4))
    assert asked_classes(meter, 120, seed=3).bincount().tolist() == [60, 40, 20]  # repeated past the split's length
    result = meter.measure(real.float() / 255, asked)
    assert sum(map(sum, result["confusion"])) == 60 and 0 <= result["class_accuracy"] <= 1
    assert [sum(row) for row in result["confusion"]][:3] == [30, 20, 10]
    with pytest.raises(ValueError, match="one asked class per image"):
        meter.measure(real.float() / 255, asked[:5])


def test_the_class_picker_draws_the_class_and_seed_the_learner_chooses() -> None:
    from gencore.course.widgets import class_picker

    class Run:  # a stand-in run that records what it is asked to draw
        config = TrainConfig(model="cgan", dataset="mnist")
        label = "a test run"
        asked: list[tuple[int, int, int]] = []

        def sample(self, n: int, seed: int, classes: torch.Tensor) -> torch.Tensor:
            self.asked.append((n, seed, int(classes)))
            return torch.rand(n, 1, 28, 28)

    run = Run()
    picker = class_picker(run)
    chooser, noise = picker.children[0].children
    chooser.value = 7
    noise.value = 3
    assert run.asked == [(32, 0, 0), (32, 0, 7), (32, 3, 7)]
    assert picker.children[1].value[:4] == b"\x89PNG"

