"""mnistctl's version: one place, read by the package and by what records it (a run's record)."""

__version__ = "0.1.0"
