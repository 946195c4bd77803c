"""The one error type users see: a message that says what went wrong and what to do."""


class GencoreError(ValueError):
    """Bad input or a failed run, explained in one line.

    A subclass of ValueError so that Python callers can catch it as the natural type for
    bad values; the command line prints its text on stderr and exits with status 2.
    """


class DataError(GencoreError):
    """A dataset is missing, truncated or unreadable."""


class CheckpointError(GencoreError):
    """A checkpoint is missing, unsafe, corrupt, or from another configuration."""


class NonFiniteLossError(GencoreError):
    """A loss became NaN or infinite during training."""


class WriteError(GencoreError):
    """A file could not be written (a full disk, no permission): which file, why, and what to do."""

    def __init__(self, path: object, error: OSError) -> None:
        reason = (error.strerror or str(error)).lower()
        super().__init__(f"cannot write {path} ({reason}): free some disk space or choose a writable location, "
                         "then run again (with --resume to continue a run); what was written before is intact.")
        self.path = path
        self.errno = error.errno


class RunLockedError(GencoreError):
    """Another trainer is writing the run directory."""
