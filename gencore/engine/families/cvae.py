"""The conditional VAE family (Sohn et al. 2015): the seed's MLP VAE with the class given to the
encoder and to the decoder, trained on the conditional ELBO

    log p(x | y) >= E_q(z|x,y)[log p(x | z, y)] - KL(q(z | x, y) || N(0, I)),

the VAE's loss with y beside x and beside z (the prior stays N(0, I): the class is told to the
decoder, so z is left to hold what the class does not say, such as slant and thickness)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch

from gencore.engine import losses
from gencore.engine.datasets import get_dataset
from gencore.engine.families.base import Family, Metrics, Models, Optimizers, Parts, RunConfig
from gencore.engine.families.vae import VAE_FAMILY, decoder_variance_setting, extra_figures, test_metrics
from gencore.engine.models.conditional import ConditionalVAE


@dataclass(frozen=True)
class CvaeSettings:
    """The conditional VAE's own settings: the VAE's decoder variance (the MLP network only)."""

    decoder_variance: float = decoder_variance_setting()


def build(config: RunConfig, image_shape: tuple[int, int, int]) -> Models:
    return {"vae": ConditionalVAE(image_shape, config.latent_dim, config.width, get_dataset(config.dataset).classes_count)}


def cvae_step(models: Models, optimizers: Optimizers, x: torch.Tensor, labels: torch.Tensor, config: RunConfig,
              step: int, parts: Parts) -> Metrics:
    """One conditional VAE update on a batch x in [0, 1] with its classes: the VAE's step with the
    labels beside the image in q(z | x, y) and beside z in p(x | z, y)."""
    vae, optimizer = cast(ConditionalVAE, models["vae"]), optimizers["vae"]
    mean, log_var = vae.encode(x, labels)  # q(z|x,y) = N(mean, diag(exp(log_var))), each (B, latent)
    z = parts["reparameterize"](mean, log_var)  # z = mean + eps * exp(log_var / 2)
    recon = vae.decode(z, labels)  # (B, C, H, W) in [0, 1]: the class is told, z says the rest
    loss = losses.vae_loss(recon, x, mean, log_var, kl=parts["kl_divergence"], variance=config.decoder_variance)
    optimizer.zero_grad(set_to_none=True)
    loss.total.backward()
    optimizer.step()
    n = x.shape[0]  # per image, as the VAE's history
    return {"train_kl": loss.kl.detach() / n, "train_mse": loss.mse.detach() / n,
            "train_total": (loss.mse + loss.kl).detach() / n}


CVAE_FAMILY = Family(
    name="cvae",
    title="conditional VAE",
    build=build,
    step=cvae_step,
    parts={"reparameterize": ConditionalVAE.reparameterize, "kl_divergence": losses.kl_divergence},
    sample_role="vae",  # its .sample(z, labels) decodes z ~ N(0, I) for the given classes
    conditional=True,
    value_range="unit",
    metrics=VAE_FAMILY.metrics,
    loss_panels=VAE_FAMILY.loss_panels,
    labels=VAE_FAMILY.labels,
    reference_lines={},
    seed_settings=VAE_FAMILY.seed_settings,  # the unconditional VAE's, so the two compare at one setting
    paper_settings=VAE_FAMILY.paper_settings,
    own_settings=CvaeSettings,
    epoch_metrics=test_metrics,  # the test split's KL and MSE, its labels beside each image
    # No likelihood bound: -log p(x | y) is not -log p(x), so bits per dimension would not compare with the VAE's.
    extra_figures=extra_figures,
    notebooks={"mnist": "08_conditional.ipynb", "cifar10": "08_conditional.ipynb"},
    presets=VAE_FAMILY.presets,  # the VAE's cpu-fast settings, for a like-for-like comparison
    study_width=VAE_FAMILY.study_width,
)
