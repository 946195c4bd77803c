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
