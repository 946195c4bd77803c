"""A run on disk: ``start.start_run`` builds a Trainer with a run's callbacks (its folder, its
quality rows, a progress bar); the run directory, checkpoints, history, figures and the folder
lock. Built on the engine and quality layers."""
