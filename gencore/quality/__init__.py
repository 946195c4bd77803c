"""Sample quality: the Fréchet distance, classes covered and confidence in a domain classifier's
features, the VAE's likelihood bound, quality rows as a training callback, and the shipped
classifiers and reference models (``reference/``). Built on the engine only."""
