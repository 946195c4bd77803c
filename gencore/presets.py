"""Named bundles of settings. A preset fills in what the user did not set; explicit flags win.

``cpu-fast``: readable, diverse MNIST digits within 5 minutes on a 2-core CPU (CIFAR-10:
colour structure within 10), by spending the FLOPs where they matter: narrower networks
(a quarter of the default's FLOPs at width 32), learning rates well above the seed's cautious
ones (measured per pair, below), and a time budget that ends the run cleanly, saved.
"""

from __future__ import annotations

from typing import Any

from .errors import GencoreError

PRESETS: dict[str, dict[tuple[str, str], dict[str, Any]]] = {
    "cpu-fast": {
        # The MLP VAE is cheap; 10x the seed's lr converges in a few epochs instead of dozens.
        ("vae", "mnist"): {"lr": 1e-3, "time_budget": 5.0},
        ("vae", "cifar10"): {"lr": 1e-3, "time_budget": 10.0},
        # DCGAN's own lr 2e-4 (Radford et al. 2016) at half width: ~4x the images per second.
        # precision auto: bf16 where the CPU has it natively and a probe measures it faster. At equal
        # steps (2 epochs of MNIST, 3 seeds) bf16 scored fd 7.01 +- 0.51 against fp32's 6.97 +- 0.29 for the
        # GAN, and 13.18 +- 2.47 against 13.96 +- 0.68 for the WGAN-GP: no worse (README, "bf16").
        ("gan", "mnist"): {"width": 32, "lr": 2e-4, "time_budget": 5.0, "precision": "auto"},
        ("gan", "cifar10"): {"width": 32, "lr": 2e-4, "time_budget": 10.0, "precision": "auto"},
        # WGAN-GP updates its generator once per n_critic batches: in 5 CPU minutes the paper's
        # n_critic=5 at width 32 gave ~480 generator steps (blobs). Quarter width and 2 critic steps
        # give ~2,300; at lr 4e-4 they reach fd 6.9 against 9.6 at 2e-4 in the same 5 minutes
        # (n_critic 1 fell to fd 21.9). The paper's settings remain the defaults.
        ("wgan-gp", "mnist"): {"width": 16, "n_critic": 2, "lr": 4e-4, "time_budget": 5.0, "precision": "auto"},
        ("wgan-gp", "cifar10"): {"width": 16, "n_critic": 2, "lr": 2e-4, "time_budget": 10.0, "precision": "auto"},
    },
}


def preset_settings(name: str, model: str, dataset: str) -> dict[str, Any]:
    """The settings a preset gives this model and dataset."""
    if name not in PRESETS:
        raise GencoreError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    return dict(PRESETS[name][(model, dataset)])
