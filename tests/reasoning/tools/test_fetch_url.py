"""`fetch_url` against real HTTP servers on 127.0.0.1: pages and PDFs indexed, every bound a message."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pypdf import PdfReader

import reasoning.tools.fetch_url  # noqa: F401  (registers the tool)
from reasoning import FakeChatModel
from reasoning.tools.base import ToolContext, ToolSettings, default_tools
from reasoning.types import Evidence
from tests.reasoning.corpus import KeywordRetriever
from tests.support.http_stub import serve

Route = Callable[[BaseHTTPRequestHandler], None]
PARAGRAPH = "Durable execution records every step of a workflow so it resumes after a crash. " * 4


class ListSink:
    """A document sink backed by a list: paragraphs become chunks with content-hash ids."""

    def __init__(self) -> None:
        self.added: list[Evidence] = []

    def add(self, source: str, title: str, text: str) -> list[Evidence]:
        paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
        chunks = [Evidence(chunk_id=_digest(source, p), source=source, title=title, text=p) for p in paragraphs]
        self.added.extend(chunks)
        return chunks


def _digest(source: str, text: str) -> str:
    return hashlib.sha256(f"{source}:{text}".encode()).hexdigest()[:12]


def reply(status: int, body: bytes = b"", content_type: str | None = "text/html", **headers: str) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        if content_type is not None:
            handler.send_header("Content-Type", content_type)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return route


def redirect(location: str, status: int = 302) -> Route:
    return reply(status, content_type=None, Location=location)


def html(title: str, *paragraphs: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><title>{title}</title><script>var x = 1;</script></head><body>{body}</body></html>".encode()


@pytest.fixture
def site() -> Iterator[tuple[dict[str, Route], str]]:
    """A loopback server whose paths a test fills in; yields (routes, base URL)."""
    routes: dict[str, Route] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes.get(self.path, reply(404, b"<p>no such page</p>"))(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serve(Handler) as port:
        yield routes, f"http://127.0.0.1:{port}"


def build(allow_private: bool = True, sink: ListSink | None = None, **settings: Any) -> BaseTool:
    context = ToolContext(
        retriever=KeywordRetriever(),
        model=FakeChatModel(),
        settings=ToolSettings(fetch_allow_private=allow_private, **settings),
        sink=sink,
    )
    return default_tools.get("fetch_url").build(context)


def call(tool: BaseTool, url: str) -> ToolMessage:
    message = tool.invoke({"type": "tool_call", "name": "fetch_url", "args": {"url": url}, "id": "call-1"})
    assert isinstance(message, ToolMessage)
    return message


def pdf_bytes(title: str, text: str) -> bytes:
    """A minimal valid one-page PDF with `text` in Helvetica and `title` in its Info dictionary."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        f"<< /Title ({title}) >>".encode(),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_html_page_is_indexed_and_its_chunks_are_the_artifact(site: tuple[dict[str, Route], str]) -> None:
    routes, base = site
    routes["/page"] = reply(200, html("Durable Execution", PARAGRAPH, "Retries belong to Temporal."))
    sink = ListSink()

    message = call(build(sink=sink), f"{base}/page")

    assert [e.text for e in sink.added] == [PARAGRAPH.strip(), "Retries belong to Temporal."]
    assert message.artifact == [e.model_dump(mode="json") for e in sink.added]
    assert all(e.source == f"{base}/page" and e.title == "Durable Execution" for e in sink.added)
    content = str(message.content)
    assert "Durable Execution" in content and "2 chunk(s) indexed" in content
    assert all(f"[{e.chunk_id}]" in content for e in sink.added)
    assert "var x" not in content


def test_without_a_sink_the_text_is_returned_and_nothing_cited(site: tuple[dict[str, Route], str]) -> None:
    routes, base = site
    routes["/page"] = reply(200, html("Plain", "Nothing is indexed here."))

    message = call(build(sink=None), f"{base}/page")

    assert "Nothing is indexed here." in str(message.content)
    assert "no chunk ids" in str(message.content)
    assert message.artifact == []


def test_a_pdf_is_read_with_its_title(site: tuple[dict[str, Route], str]) -> None:
    data = pdf_bytes("Checkpoint Report", "Checkpoints survive worker crashes")
    assert "Checkpoints survive worker crashes" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    routes, base = site
    routes["/report.pdf"] = reply(200, data, "application/pdf")
    sink = ListSink()

    message = call(build(sink=sink), f"{base}/report.pdf")

    assert "Checkpoint Report" in str(message.content)
    assert any("Checkpoints survive worker crashes" in e.text for e in sink.added)
    assert message.artifact == [e.model_dump(mode="json") for e in sink.added]


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/markdown", b"# Notes\n\nMarkdown is read as text.", "Markdown is read as text."),
        ("text/plain; charset=iso-8859-1", "Caf\u00e9 cr\u00e8me.".encode("latin-1"), "Caf\u00e9 cr\u00e8me."),
    ],
)
def test_text_and_markdown_are_read_in_their_charset(
    site: tuple[dict[str, Route], str], content_type: str, body: bytes, expected: str
) -> None:
    routes, base = site
    routes["/doc"] = reply(200, body, content_type)
    sink = ListSink()

    call(build(sink=sink), f"{base}/doc")

    assert expected in [e.text for e in sink.added]


def test_a_redirect_chain_is_followed_to_the_page(site: tuple[dict[str, Route], str]) -> None:
    routes, base = site
    routes["/old"] = redirect("/moved", 301)
    routes["/moved"] = redirect(f"{base}/final#top", 307)
    routes["/final"] = reply(200, html("Final", "The last hop."))
    sink = ListSink()

    message = call(build(sink=sink), f"{base}/old")

    assert f"Fetched {base}/final" in str(message.content)
    assert [e.source for e in sink.added] == [f"{base}/final"]


@pytest.mark.parametrize(
    ("routes_to_add", "max_redirects", "reason"),
    [
        ({"/a": "/b", "/b": "/a"}, 5, "redirect loop"),
        ({"/a": "/b", "/b": "/c", "/c": "/d"}, 2, "more than 2 redirect(s)"),
        ({"/a": "file:///etc/passwd"}, 5, "only http and https"),
    ],
)
def test_bad_redirects_are_refused(
    site: tuple[dict[str, Route], str], routes_to_add: dict[str, str], max_redirects: int, reason: str
) -> None:
    routes, base = site
    routes.update({path: redirect(target) for path, target in routes_to_add.items()})
    routes["/d"] = reply(200, html("Too far", "Never reached."))

    message = call(build(fetch_max_redirects=max_redirects), f"{base}/a")

    assert str(message.content).startswith(f"fetch_url refused {base}/a: {reason}")
    assert message.artifact == []


def test_a_redirect_to_loopback_is_checked_again(
    site: tuple[dict[str, Route], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first hop's address is treated as public; the redirect to [::1] must be checked on its own."""
    from reasoning.tools import web_guard

    real = web_guard.address_problem
    monkeypatch.setattr(web_guard, "address_problem", lambda a: None if str(a) == "127.0.0.1" else real(a))
    routes, base = site
    routes["/a"] = redirect("http://[::1]:9/admin")

    message = call(build(allow_private=False), f"{base}/a")

    assert "loopback address (::1;" in str(message.content)


@pytest.mark.parametrize("declares_length", [True, False])
def test_a_body_over_the_cap_is_refused(site: tuple[dict[str, Route], str], declares_length: bool) -> None:
    routes, base = site
    body = html("Big", "x" * 5000)

    def big(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        if declares_length:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()  # without a length, HTTP/1.0 ends the body when the connection closes
        for start in range(0, len(body), 512):
            handler.wfile.write(body[start : start + 512])

    routes["/big"] = big
    sink = ListSink()

    message = call(build(sink=sink, fetch_max_bytes=1000), f"{base}/big")

    assert "over the 1000-byte cap" in str(message.content)
    assert sink.added == [] and message.artifact == []


def test_a_huge_page_shows_the_model_a_bounded_excerpt(site: tuple[dict[str, Route], str]) -> None:
    routes, base = site
    routes["/huge"] = reply(200, html("Huge", *(f"Paragraph {i}. {PARAGRAPH}" for i in range(200))))
    sink = ListSink()

    message = call(build(sink=sink), f"{base}/huge")

    assert len(sink.added) == 200 and len(message.artifact) == 200
    assert len(str(message.content)) < 5000
    assert "more chunk(s) indexed, not shown" in str(message.content)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "loopback address"),
        ("http://localhost:8080/", "loopback address"),
        ("http://[::1]/", "loopback address"),
        ("http://[::ffff:127.0.0.1]/", "loopback address"),
        ("http://2130706433/", "loopback address"),
        ("http://0.0.0.0/", "unspecified address"),
        ("http://10.1.2.3/", "private address"),
        ("http://192.168.0.1/", "private address"),
        ("http://169.254.169.254/latest/meta-data/", "link-local address"),
        ("http://[fe80::1]/", "link-local address"),
        ("http://224.0.0.1/", "multicast address"),
        ("http://100.64.0.1/", "non-public address"),
    ],
)
def test_private_addresses_are_refused_by_default(url: str, reason: str) -> None:
    message = call(build(allow_private=False), url)

    content = str(message.content)
    assert content.startswith("fetch_url refused ") and f": {reason} (" in content
    assert "DURABLE_RESEARCH_TOOLS_FETCH_ALLOW_PRIVATE=true" in content
    assert message.artifact == []


def fake_dns(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> list[str]:
    """Resolve `names` to the given addresses (others as usual); returns the names looked up."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in names:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in names[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("addresses", [["127.0.0.1"], ["93.184.216.34", "127.0.0.1"]])
def test_a_name_with_any_loopback_address_is_refused(monkeypatch: pytest.MonkeyPatch, addresses: list[str]) -> None:
    fake_dns(monkeypatch, {"rebind.test": addresses})

    message = call(build(allow_private=False), "http://rebind.test/")

    assert "fetch_url refused http://rebind.test/: loopback address (127.0.0.1;" in str(message.content)


def test_the_connection_goes_to_the_checked_address_with_the_original_name(
    site: tuple[dict[str, Route], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes, base = site
    port = base.rsplit(":", 1)[1]

    def echo_host(handler: BaseHTTPRequestHandler) -> None:
        reply(200, html("Echo", f"Host was {handler.headers['Host']}"))(handler)

    routes["/echo"] = echo_host
    asked = fake_dns(monkeypatch, {"docs.test": ["127.0.0.1"]})

    message = call(build(), f"http://docs.test:{port}/echo")

    assert f"Host was docs.test:{port}" in str(message.content)
    assert asked == ["docs.test"]  # resolved once, for the check; the connection used that answer


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https URLs are fetched, not 'file'"),
        ("ftp://example.org/pub/file.txt", "only http and https URLs are fetched, not 'ftp'"),
        ("gopher://example.org/1", "only http and https URLs are fetched, not 'gopher'"),
        ("data:text/html,<p>hi</p>", "only http and https URLs are fetched, not 'data'"),
        ("javascript:alert(1)", "only http and https URLs are fetched, not 'javascript'"),
        ("//example.org/page", "only http and https URLs are fetched, not 'a relative URL'"),
        ("https:///no-host", "the URL has no host"),
        ("http://example.org:99999/", "port 99999 is out of range"),
        ("https://alice:s3cret@example.org/", "credentials in the URL are not sent"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_other_urls_are_refused_without_a_request(url: str, reason: str) -> None:
    content = str(call(build(allow_private=False), url).content)

    assert content.startswith("fetch_url refused ") and reason in content
    assert "s3cret" not in content


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("application/octet-stream", b"\x00\x01\x02", "unsupported content type 'application/octet-stream'"),
        ("image/png", b"\x89PNG\r\n\x1a\n", "unsupported content type 'image/png'"),
        ("text/plain", b"text\x00with\x00nul bytes", "unreadable text/plain: binary content"),
        ("application/pdf", b"%PDF-1.4 not really", "unreadable application/pdf"),
        ("text/html", b"<html><script>render()</script></html>", "no text in the text/html"),
        (None, b"mystery", "the server sent no content type"),
    ],
)
def test_unreadable_content_is_refused(
    site: tuple[dict[str, Route], str], content_type: str | None, body: bytes, reason: str
) -> None:
    routes, base = site
    routes["/thing"] = reply(200, body, content_type)

    message = call(build(sink=ListSink()), f"{base}/thing")

    assert str(message.content).startswith(f"fetch_url refused {base}/thing: {reason}")
    assert message.artifact == []


@pytest.mark.parametrize(("status", "text"), [(404, "HTTP 404 Not Found"), (503, "HTTP 503 Service Unavailable")])
def test_http_errors_are_reported(site: tuple[dict[str, Route], str], status: int, text: str) -> None:
    routes, base = site
    routes["/broken"] = reply(status, b"<p>sorry</p>")

    message = call(build(), f"{base}/broken")

    assert str(message.content) == f"fetch_url got {text} from {base}/broken"
    assert message.artifact == []


def test_a_slow_server_times_out_quickly(site: tuple[dict[str, Route], str]) -> None:
    routes, base = site
    release = threading.Event()
    routes["/slow"] = lambda handler: (release.wait(5), reply(200, html("Late", "Too late."))(handler))[1]

    started = time.monotonic()
    try:
        message = call(build(fetch_timeout_s=0.3), f"{base}/slow")
    finally:
        release.set()

    assert time.monotonic() - started < 2
    assert "fetch_url timed out fetching" in str(message.content)


def test_a_server_that_drips_its_body_hits_the_overall_deadline(site: tuple[dict[str, Route], str]) -> None:
    """Each read arrives inside the read timeout; the whole call still ends at 3x the timeout."""
    routes, base = site
    stop = threading.Event()

    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.end_headers()
        while not stop.wait(0.05):
            handler.wfile.write(b"a")
            handler.wfile.flush()

    routes["/drip"] = drip
    started = time.monotonic()
    try:
        message = call(build(fetch_timeout_s=0.3), f"{base}/drip")
    finally:
        stop.set()

    assert 0.9 <= time.monotonic() - started < 2
    assert "fetch_url timed out fetching" in str(message.content)


def test_a_closed_port_is_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    message = call(build(), f"http://127.0.0.1:{port}/")

    assert str(message.content).startswith(f"fetch_url could not reach http://127.0.0.1:{port}/: ConnectError")


async def test_inside_a_graph_the_artifact_reaches_the_tool_message(site: tuple[dict[str, Route], str]) -> None:
    routes, base = site
    routes["/page"] = reply(200, html("Graph", "Read from inside a LangGraph ToolNode."))
    sink = ListSink()
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode([build(sink=sink)]))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    call_ = {"name": "fetch_url", "args": {"url": f"{base}/page"}, "id": "call-7", "type": "tool_call"}

    result = await graph.compile().ainvoke({"messages": [AIMessage(content="", tool_calls=[call_])]})

    message = result["messages"][-1]
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call-7"
    assert message.artifact == [e.model_dump(mode="json") for e in sink.added] != []
    assert f"[{sink.added[0].chunk_id}]" in str(message.content)


def test_the_tool_is_registered_inline() -> None:
    spec = default_tools.get("fetch_url")

    assert (spec.durable, spec.side_effects) == ("inline", False)
    assert "url" in build().args
