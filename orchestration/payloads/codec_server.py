"""A codec server for the Temporal UI: POST /encode and /decode of JSON payloads, token and CORS checked.

The UI sends ``{"payloads": [{"metadata": {...base64...}, "data": "..."}]}`` (the protobuf
JSON form of ``Payloads``) and expects the same shape back. Two ways to present the token:
an ``Authorization: Bearer TOKEN`` header (scripts, curl), or a path prefix
``/t/TOKEN/decode``, because the UI appends ``/decode`` to its configured endpoint and
cannot add a header of its own to a dev server that has no login. CORS answers only the
configured UI origins; a request from any other origin is refused outright, so a page on
another site cannot use the server even for requests a browser sends without a preflight.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from orchestration.errors import DurableResearchError
from orchestration.payloads.codec import EncryptionCodec, PayloadDecryptError, PayloadKeyError

TOKEN_ENV = "DURABLE_RESEARCH_CODEC_TOKEN"
TOKEN_FILE_NAME = "codec-token"
_MAX_BODY = 16 * 1024 * 1024  # well above Temporal's 4 MB message limit
_ALLOWED_HEADERS = "authorization,content-type,x-namespace"


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """The token in `path`, or a new one written there with mode 0600; True when it was created."""
    try:
        st = path.stat()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        return token, True
    if st.st_mode & 0o077:
        raise PayloadKeyError(f"the codec token file {path} must be mode 0600 or stricter; run `chmod 600 {path}`.")
    token = path.read_text().strip()
    if len(token) < 16:
        raise PayloadKeyError(
            f"the codec token in {path} is shorter than 16 characters; delete the file for a new one."
        )
    return token, False


class CodecServer(ThreadingHTTPServer):
    """Serves one codec; `serve_forever` in a thread or the foreground, `shutdown` to stop."""

    daemon_threads = True

    def __init__(self, codec: EncryptionCodec, token: str, origins: Iterable[str], host: str, port: int) -> None:
        self.codec = codec
        self.token = token
        self.origins = frozenset(o.rstrip("/") for o in origins)
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def ui_endpoint(self) -> str:
        """The URL to give the UI (`--ui-codec-endpoint`): the token travels in the path."""
        return f"{self.url}/t/{self.token}"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="codec-server", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: CodecServer  # HTTP/1.0 (the default): one request per connection, no unread bodies left behind

    def log_message(self, format: str, *args: object) -> None:
        pass  # request lines would print tokens that travel in the path

    def do_OPTIONS(self) -> None:
        # A CORS preflight carries no credentials; it only learns whether the origin may ask.
        if not self._origin_ok():
            return self._reply(HTTPStatus.FORBIDDEN, {"error": "origin not allowed"})
        self._reply(HTTPStatus.NO_CONTENT, None)

    def do_POST(self) -> None:
        if not self._origin_ok():
            return self._reply(HTTPStatus.FORBIDDEN, {"error": "origin not allowed"})
        action, token = self._route()
        if action is None:
            return self._reply(HTTPStatus.NOT_FOUND, {"error": "POST /encode or /decode"})
        if not self._token_ok(token):
            return self._reply(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong token"})
        declared = self.headers.get("Content-Length", "")
        length = int(declared) if declared.isdigit() else 0
        if length <= 0 or length > _MAX_BODY:
            return self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body must be 1..{_MAX_BODY} bytes"})
        try:
            payloads = json_format.Parse(self.rfile.read(length), Payloads())
            convert = self.server.codec.encrypt if action == "encode" else self.server.codec.decrypt
            out = Payloads(payloads=[convert(p) for p in payloads.payloads])
        except json_format.ParseError as exc:
            return self._reply(HTTPStatus.BAD_REQUEST, {"error": f"not a JSON Payloads message: {exc}"})
        except (PayloadDecryptError, DurableResearchError) as exc:
            return self._reply(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)})
        self._reply(HTTPStatus.OK, json.loads(json_format.MessageToJson(out)))

    def _route(self) -> tuple[str | None, str | None]:
        parts = [p for p in self.path.split("?", 1)[0].split("/") if p]
        if len(parts) == 1 and parts[0] in ("encode", "decode"):
            return parts[0], None
        if len(parts) == 3 and parts[0] == "t" and parts[2] in ("encode", "decode"):
            return parts[2], parts[1]
        return None, None

    def _token_ok(self, path_token: str | None) -> bool:
        header = self.headers.get("Authorization", "")
        offered = path_token or (header[7:] if header.startswith("Bearer ") else "")
        return bool(offered) and hmac.compare_digest(offered.encode(), self.server.token.encode())

    def _origin_ok(self) -> bool:
        origin = self.headers.get("Origin")
        return origin is None or origin.rstrip("/") in self.server.origins

    def _reply(self, status: HTTPStatus, body: object) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        origin = self.headers.get("Origin")
        if origin is not None and origin.rstrip("/") in self.server.origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", _ALLOWED_HEADERS)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
