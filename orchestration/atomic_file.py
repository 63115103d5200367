"""Replace a file atomically: readers see the old content or the new, never a torn write."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o666, fsync: bool = True) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    The temporary file sits in the same folder (a rename is atomic only within one file
    system) and is named `.<name>.<pid>.<random>.tmp`: hidden from listings that skip dot
    files, unique per writer, so concurrent writers of one path never share it. On any
    failure it is removed and the error propagates; `path` keeps its old content.

    Args:
        path: the file to replace; its folder must exist (FileNotFoundError otherwise, so
            a caller that writes thousands of files into one folder need not stat it each time).
        data: bytes, or text written as UTF-8.
        mode: permission bits of the new file, before the umask, as for `os.open`. It is set
            at creation, so a secret (0o600) is never readable by others, not even briefly.
        fsync: flush the content to disk before the rename, so a crash or power cut cannot
            leave `path` naming an empty file. Callers whose files are cheap to rewrite may skip it.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
