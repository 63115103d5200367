"""`make notebook` (the README's command) starts JupyterLab on the notebooks: the server answers
on its port, lists the notebooks, serves the Lab page, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
TOKEN = "make-notebook-test"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def _wait_for(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 90) -> bytes:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "make notebook exited before the server answered"
        try:
            return _get(url)[1]
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not answer on {url} within {timeout_s} s")


@pytest.mark.timeout(180)
def test_make_notebook_serves_the_notebooks(tmp_path: Path) -> None:
    port = _free_port()
    # Jupyter's own folders go to the test's folder, never the user's.
    jupyter = {f"JUPYTER_{k}_DIR": str(tmp_path / k.lower()) for k in ("CONFIG", "DATA", "RUNTIME")}
    env = os.environ | jupyter | {"JUPYTER_TOKEN": TOKEN, "JUPYTER_PLATFORM_DIRS": "1"}
    proc = subprocess.Popen(
        ["make", "-s", "notebook", f"NOTEBOOK_PORT={port}", "NOTEBOOK_FLAGS=--no-browser"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        version = json.loads(_wait_for(f"{base}/api", proc))["version"]
        contents = json.loads(_get(f"{base}/api/contents?token={TOKEN}")[1])
        status, lab = _get(f"{base}/lab?token={TOKEN}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    listed = {item["name"] for item in contents["content"]}
    on_disk = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert version and on_disk and on_disk <= listed, (listed, on_disk)
    assert status == 200 and b"JupyterLab" in lab
    assert proc.returncode is not None, "the server did not stop"
    assert b"Traceback" not in stderr, stderr.decode()[-2000:]
