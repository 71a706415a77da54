"""The one SSRF guard for every outbound call (the ``http.request`` component and webhook delivery).

A URL is checked by resolving its host asynchronously and checking *every* address it resolves to
(refused: private, loopback, link-local, CGNAT ``100.64/10``, multicast, reserved, unspecified, any
non-global range, and IPv4-mapped / 6to4 / NAT64-style IPv6 forms of those); a host that does not
resolve is refused too (``UnresolvableHostError``, retryable). The request then connects to one of the
checked addresses (``pinned_request``) so a DNS answer that changes between check and connect (DNS
rebinding) cannot reach an internal service, and ``guarded_send`` checks every redirect hop again
(at most ``MAX_REDIRECTS``). Hosts or CIDRs in ``settings.outbound_allowlist`` are admitted even when
internal; ``http_allow_private_networks`` admits every internal address (development only), but never
an unresolvable host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from wfo.errors import InvalidInput
from wfo.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURLError(InvalidInput, ValueError):
    """The URL is not an acceptable outbound target; the message is safe to show to the caller."""


class UnresolvableHostError(UnsafeURLError):
    """The host does not resolve (now): worth retrying later, unlike a refused address."""


@dataclass(frozen=True)
class CheckedURL:
    url: str
    host: str
    port: int
    scheme: str
    addresses: tuple[str, ...]
    """Resolved addresses that passed the check, in resolver order."""


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_internal(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _is_internal(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return True  # 6to4 (2002::/16) relays are not global destinations; 2002:7f00:1:: is 127.0.0.1
        if ip.teredo is not None:
            return True
        if ip in _NAT64:
            return _is_internal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _allowlisted(host: str, ip: IPAddress, allowlist: list[str]) -> bool:
    for entry in allowlist:
        entry = entry.strip()
        if not entry:
            continue
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if entry.lower().rstrip(".") == host.lower().rstrip("."):
                return True
            continue
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        if any(c.version == net.version and c in net for c in candidates):
            return True
    return False


def _split(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"invalid URL: {exc}") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise UnsafeURLError("only http and https URLs are allowed")
    host = parts.hostname
    if not host:
        raise UnsafeURLError("URL has no host")
    if any(c in url for c in "\x00\r\n\t ") or any(ord(c) < 0x20 for c in url):
        raise UnsafeURLError("URL contains control characters or spaces")
    if parts.username or parts.password:
        raise UnsafeURLError("credentials in the URL are not allowed")
    return scheme, host, port or (443 if scheme == "https" else 80)


async def _resolve(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=10
        )
    except (OSError, UnicodeError, ValueError, asyncio.TimeoutError) as exc:
        raise UnresolvableHostError(f"cannot resolve host {host!r}") from exc
    seen: list[str] = []
    for info in infos:
        addr = str(info[4][0]).split("%", 1)[0]
        if addr not in seen:
            seen.append(addr)
    if not seen:
        raise UnresolvableHostError(f"cannot resolve host {host!r}")
    return seen


def check_address(host: str, address: str, settings: Settings) -> None:
    ip = ipaddress.ip_address(address)
    if not _is_internal(ip):
        return
    if settings.http_allow_private_networks or _allowlisted(host, ip, settings.outbound_allowlist):
        return
    raise UnsafeURLError(
        f"{host} resolves to a private, loopback or reserved address; "
        "add it to OUTBOUND_ALLOWLIST to allow it"
    )


async def check_outbound_url(url: str, settings: Settings) -> CheckedURL:
    """Resolve and check ``url``; raises :class:`UnsafeURLError` when any address is refused."""
    scheme, host, port = _split(url)
    addresses = await _resolve(host, port)
    for address in addresses:
        check_address(host, address, settings)
    return CheckedURL(url=url, host=host, port=port, scheme=scheme, addresses=tuple(addresses))


def pinned_request(checked: CheckedURL) -> tuple[str, dict[str, str], dict[str, str]]:
    """(url with the host replaced by a checked IP, Host header, httpx extensions for TLS SNI).

    TLS still verifies the certificate against the original host name (``sni_hostname``).
    """
    parts = urlsplit(checked.url)
    address = checked.addresses[0]
    ip_host = f"[{address}]" if ":" in address else address
    netloc = f"{ip_host}:{parts.port}" if parts.port else ip_host
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    default_port = 443 if checked.scheme == "https" else 80
    host_header = checked.host if checked.port == default_port else f"{checked.host}:{checked.port}"
    if ":" in checked.host and not checked.host.startswith("["):
        host_header = f"[{checked.host}]" if checked.port == default_port else f"[{checked.host}]:{checked.port}"
    extensions = {"sni_hostname": checked.host} if checked.scheme == "https" else {}
    return pinned, {"Host": host_header}, extensions


MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


async def guarded_send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    settings: Settings,
    *,
    headers: dict[str, str] | None = None,
    params: Any = None,
    content: bytes | None = None,
    json: Any = None,
    timeout: float | None = None,
    follow_redirects: bool = False,
    max_redirects: int = MAX_REDIRECTS,
    stream: bool = False,
) -> httpx.Response:
    """Send one request through the guard: check, connect to the checked address, and (when
    ``follow_redirects``) check every redirect hop the same way, at most ``max_redirects`` of them.

    Raises ``UnsafeURLError`` (refused target, too many redirects), ``UnresolvableHostError`` (no DNS
    answer) or ``httpx.HTTPError``. With ``stream=True`` the caller reads and closes the response.
    """
    current = str(httpx.URL(url, params=params)) if params else url
    headers = dict(headers or {})
    body: dict[str, Any] = {"content": content} if content is not None else {"json": json} if json is not None else {}
    for hop in range(max_redirects + 1):
        checked = await check_outbound_url(current, settings)
        pinned, host_header, extensions = pinned_request(checked)
        request = http.build_request(method, pinned, headers={**headers, **host_header}, timeout=timeout,
                                     extensions=extensions, **body)
        response = await http.send(request, stream=True, follow_redirects=False)
        location = response.headers.get("location")
        if not follow_redirects or response.status_code not in REDIRECT_STATUSES or not location:
            if not stream:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            return response
        await response.aclose()
        if hop == max_redirects:
            break
        target = urljoin(current, location)
        if response.status_code == 303 and method != "HEAD" or (
                response.status_code in (301, 302) and method == "POST"):
            method, body = "GET", {}
        if urlsplit(target).hostname != urlsplit(current).hostname:
            headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
        current = target
    raise UnsafeURLError(f"more than {max_redirects} redirects")
