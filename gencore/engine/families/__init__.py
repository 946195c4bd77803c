"""The model families, one record each (base.Family): everything that differs between the VAE,
the GAN, the WGAN-GP, their conditional versions (the cVAE, the cGAN) and the DDPM. A new family (a beta-VAE, a hinge-loss GAN) is one new file here and
one line in FAMILIES (or a ``register(family)`` call); nothing outside this folder names one."""

from __future__ import annotations

from gencore.engine.errors import GencoreError
from gencore.engine.families.base import Family, Metrics, Models, Optimizers, Parts, RunConfig, Settings, StepFunction
from gencore.engine.families.cgan import CGAN_FAMILY
from gencore.engine.families.cvae import CVAE_FAMILY
from gencore.engine.families.diffusion import DDPM_FAMILY
from gencore.engine.families.gan import GAN_FAMILY
from gencore.engine.families.settings import Setting
from gencore.engine.families.vae import VAE_FAMILY
from gencore.engine.families.wgan_gp import WGAN_GP_FAMILY

FAMILIES: dict[str, Family] = {family.name: family for family in (VAE_FAMILY, GAN_FAMILY, WGAN_GP_FAMILY,
                                                                    CVAE_FAMILY, CGAN_FAMILY, DDPM_FAMILY)}


def register(family: Family) -> Family:
    """Add a family to the kit (a new file's record, or one defined in a notebook or a test)."""
    FAMILIES[family.name] = family
    return family


def family_settings() -> tuple[Setting, ...]:
    """Every registered family's own settings, one per name (the command line's family flags)."""
    found: dict[str, Setting] = {}
    for family in FAMILIES.values():
        for item in family.settings:
            found.setdefault(item.name, item)
    return tuple(found.values())


def seed_study_models() -> tuple[str, ...]:
    """The seed study's three models (vae, gan, wgan-gp): what the study and its time estimate cover by default."""
    return tuple(name for name, family in FAMILIES.items() if family.in_seed_study)


def get_family(name: str) -> Family:
    """The record of a model family by its --model name."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise GencoreError(f"unknown model {name!r}: choose one of {', '.join(FAMILIES)}.") from None


__all__ = ["FAMILIES", "Family", "Metrics", "Models", "Optimizers", "Parts", "RunConfig", "Settings", "StepFunction",
           "family_settings", "get_family", "register", "seed_study_models"]
