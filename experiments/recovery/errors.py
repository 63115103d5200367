"""Errors of the recovery experiment harness.

Hierarchy::

    RecoveryExperimentError
    ├── ExperimentConfigError       misuse: unknown arm/point/profile, bad option
    └── ExperimentRunError          a run could not be driven to an end
        ├── StubStartError          the model stub process did not come up
        └── RunTimeoutError         a run did not finish within its time budget
"""

from __future__ import annotations


class RecoveryExperimentError(Exception):
    """Base class of every error the recovery harness raises on purpose."""


class ExperimentConfigError(RecoveryExperimentError):
    """The experiment was asked for something that does not exist; the message names it."""


class ExperimentRunError(RecoveryExperimentError):
    """A run could not be driven to an end (process, server or stub failure)."""


class StubStartError(ExperimentRunError):
    """The model stub process exited or never printed its port."""


class RunTimeoutError(ExperimentRunError):
    """A run did not finish within its time budget (raise it in the profile if needed)."""
