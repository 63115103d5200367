"""Errors of the orchestration layer.

Hierarchy (a ``[module]`` tag names the module that defines a class, beside the code that
raises it; untagged classes are defined here)::

    DurableResearchError
    ├── ConfigError                 misuse: fix the settings or the call
    │   ├── StateDirError           state folder missing/unwritable
    │   ├── BinaryNotFoundError     temporal binary missing or not executable
    │   ├── NoSuchJobError          a job id that names no workflow
    │   ├── OffsetBeyondEndError    an event offset past the end of a job's stream
    │   └── PayloadKeyError         [payloads.codec] payload key or codec token file missing, too open, malformed
    ├── NoStreamError               a job without an event stream, or no worker answered
    ├── JobExistsError              [client] the job id is in use, or an earlier job left artifacts under it
    ├── JobClosedError              [client] the job's workflow has closed; updates cannot reach it
    ├── JobEndedError               [client] the job failed or was cancelled; `state` holds what it finished
    ├── PayloadDecryptError         [payloads.codec] no configured key decrypts a payload
    ├── PayloadMissingError         [payloads.store] a history names an external payload whose file is gone
    └── ServerError                 the embedded Temporal dev server
        ├── PortInUseError          a port we need is taken
        ├── ServerStartError        the process exited while starting
        ├── ServerUnhealthyError    it never answered a health check
        ├── ServerNotRunningError   nothing to stop / stale pid record
        └── ServerUnreachableError  a worker gave up waiting for the server
"""

from __future__ import annotations


class DurableResearchError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(DurableResearchError):
    """The settings or the call are wrong; the message names the fix."""


class StateDirError(ConfigError):
    """The state folder cannot be created or written."""


class BinaryNotFoundError(ConfigError):
    """The `temporal` CLI binary is missing or not executable."""


class NoSuchJobError(ConfigError):
    """The job id names no workflow (a typo: bad input)."""


class OffsetBeyondEndError(ConfigError):
    """The requested event offset is past the end of the job's stream (bad input)."""


class NoStreamError(DurableResearchError):
    """The job has no event stream (it started before events existed), or no worker answered."""


class ServerError(DurableResearchError):
    """The embedded Temporal dev server could not be started, reached or stopped."""


class PortInUseError(ServerError):
    """A port the embedded server needs is already bound by another process."""


class ServerStartError(ServerError):
    """The server process exited before it became healthy."""


class ServerUnhealthyError(ServerError):
    """The server process runs but never answered a health check in time."""


class ServerNotRunningError(ServerError):
    """No embedded server is running where one was expected."""


class ServerUnreachableError(ServerError):
    """A worker could not reach the Temporal server within its retry window."""
