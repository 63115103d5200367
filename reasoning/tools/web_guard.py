"""Decide whether `fetch_url` may reach a URL, and pin the connection to the address it checked.

The guard is the SSRF defence of a tool whose URLs come from a model that reads untrusted pages:

* `check_url` admits only absolute ``http``/``https`` URLs with a host and no credentials.
* `resolve_checked` resolves the host once and refuses it when *any* address is loopback,
  private, link-local, reserved, multicast, unspecified or otherwise not globally routable.
  IPv4 addresses embedded in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64 ``64:ff9b::/96``)
  are judged as the IPv4 address they reach.
* `pinned_request` turns the URL into one that connects to that checked address while keeping
  the original name as the ``Host`` header and as the TLS SNI and certificate name (httpx's public
  ``sni_hostname`` request extension), so a DNS answer that changes between the check and the
  connect (DNS rebinding) cannot redirect the connection.

Nothing here raises past the tool: every refusal is a `Refusal` whose message is the reason.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ALLOW_PRIVATE_HINT = "set DURABLE_RESEARCH_TOOLS_FETCH_ALLOW_PRIVATE=true to allow"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refusal(Exception):
    """`fetch_url` will not fetch this; the message is the reason the model reads."""


@dataclass(frozen=True)
class PinnedRequest:
    """What to send for one hop: the URL to the checked address, and the name it stands for.

    Attributes:
        url: the original URL with its host replaced by the checked IP address.
        headers: the ``Host`` header of the original URL.
        extensions: httpx request extensions (``sni_hostname``: the TLS server name to verify).
    """

    url: httpx.URL
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def check_url(raw: str, base: httpx.URL | None = None) -> httpx.URL:
    """Parse a URL (relative to `base`, for a redirect's Location) and refuse anything but an
    absolute http(s) URL with a host, a valid port and no credentials.

    Raises:
        Refusal: the scheme, host, port or credentials are not allowed, or the URL does not parse.
    """
    try:
        url = base.join(raw.strip()) if base is not None else httpx.URL(raw.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise Refusal(f"not a valid URL ({exc})") from None
    if url.scheme not in ("http", "https"):
        raise Refusal(f"only http and https URLs are fetched, not {url.scheme or 'a relative URL'!r}")
    if not url.host:
        raise Refusal("the URL has no host")
    if url.port is not None and not 0 < url.port < 65536:
        raise Refusal(f"port {url.port} is out of range")
    if url.userinfo:
        raise Refusal("credentials in the URL are not sent; use a URL without user:password@")
    return url


def resolve_checked(url: httpx.URL, *, allow_private: bool) -> IPAddress:
    """Resolve the URL's host and return the address to connect to, once every address is allowed.

    Raises:
        Refusal: the host does not resolve, or one of its addresses is not public (unless allowed).
    """
    host = url.raw_host.decode("ascii")
    try:
        infos = socket.getaddrinfo(host, url.port or (443 if url.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refusal(f"cannot resolve host {url.host!r} ({exc})") from None
    addresses = [
        ipaddress.ip_address(str(info[4][0]).split("%")[0])  # a scoped IPv6 address is judged without its zone
        for info in infos
        if info[0] in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise Refusal(f"host {url.host!r} has no address")
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise Refusal(f"{problem} ({address}; {_ALLOW_PRIVATE_HINT})")
    return addresses[0]


def address_problem(address: IPAddress) -> str | None:
    """Why a worker must not connect to `address` on a model's behalf, or None if it is public."""
    target = _embedded_ipv4(address) or address
    checks = (
        (target.is_unspecified, "unspecified address"),
        (target.is_loopback, "loopback address"),
        (target.is_link_local, "link-local address"),
        (target.is_multicast, "multicast address"),
        (target.is_private, "private address"),
        (target.is_reserved, "reserved address"),
        # Shared (CGNAT), documentation and benchmarking ranges are neither private nor global.
        (not target.is_global, "non-public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def pinned_request(url: httpx.URL, address: IPAddress) -> PinnedRequest:
    """The request for `url` that connects to `address`, which `resolve_checked` returned for it."""
    host = url.raw_host.decode("ascii")
    return PinnedRequest(
        url=url.copy_with(host=str(address)),
        headers={"Host": url.netloc.decode("ascii")},
        extensions={"sni_hostname": host},
    )


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one routes to (mapped, 6to4, NAT64), so its checks apply."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
