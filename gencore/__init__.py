"""gencore: VAE, GAN and WGAN-GP on MNIST and CIFAR-10, for teaching.

Import what you need from the submodules (``gencore.train``, ``gencore.models`` ...);
nothing heavy happens at import time.
"""

from .config import TrainConfig
from .errors import GencoreError

__all__ = ["TrainConfig", "GencoreError"]
__version__ = "0.1.0"
