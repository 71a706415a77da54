"""Refuse outbound requests to private, loopback, link-local and other internal addresses.

A URL is checked by resolving its host and checking *every* address it resolves to; the delivery
then connects to one of the checked addresses (``pinned_request``) so a DNS answer that changes
between check and connect (DNS rebinding) cannot reach an internal service. Hosts or CIDRs in
``settings.outbound_allowlist`` are admitted even when internal; ``http_allow_private_networks``
admits every internal address (development only).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

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


def _is_internal(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _is_internal(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        return _is_internal(ip.sixtofour)
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
        addr = info[4][0].split("%", 1)[0]
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
