"""An invalid spec is refused before anything starts: no server, no job, one clean error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_jobs import CORPUS, cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--graph", "research=no-such-graph@9", "--corpus", CORPUS], "no-such-graph@9"),
        (["--corpus", "/definitely/not/here"], "'/definitely/not/here' does not exist"),
        (["--corpus", "pkgdocs:not-a-package-xyz"], "not-a-package-xyz"),
        (["--graph", "research=researcher", "--corpus", CORPUS], "name@version"),
        (["--model", "gpt", "--corpus", CORPUS], "--model"),
    ],
)
def test_invalid_spec_fails_before_anything_starts(tmp_path: Path, args: list[str], message: str) -> None:
    home = tmp_path / "state"
    out = cli(home, "run", "What makes jobs durable?", "--detach", *args)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert not (home / "temporal-server.json").exists(), "a server was started for an invalid spec"
