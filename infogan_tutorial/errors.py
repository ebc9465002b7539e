"""Errors a user can cause. Each message says what was wrong and how to fix it."""


class InfoGANError(Exception):
    """Base class for every error the package raises on bad input."""


class SpecError(InfoGANError, ValueError):
    """A latent-code spec, a code tensor or a config value is invalid."""


class DataError(InfoGANError, ValueError):
    """A data file or folder is missing, corrupt or of the wrong shape."""


class CheckpointError(InfoGANError, ValueError):
    """A checkpoint is missing, corrupt, or belongs to another spec."""


class TrainingDiverged(InfoGANError, RuntimeError):
    """Training produced a non-finite loss; the last good checkpoint is kept."""
