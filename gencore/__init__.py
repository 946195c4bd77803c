"""gencore: VAE, GAN and WGAN-GP on MNIST and CIFAR-10, for teaching.

Import what you need from the submodules (``gencore.engine``, ``gencore.runs``, ``gencore.course`` ...);
nothing heavy happens at import time.
"""

from gencore.engine.config import TrainConfig
from gencore.engine.errors import GencoreError

__all__ = ["TrainConfig", "GencoreError"]
__version__ = "0.1.0"
