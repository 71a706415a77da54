"""Refuse outbound calls to loopback/private networks unless settings admit them (SSRF guard)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from connectors.base import ComponentError


def _admitted(host: str, ips: list[ipaddress._BaseAddress], allowlist: list[str]) -> bool:
    for entry in allowlist:
        if entry == host:
            return True
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if ips and all(ip in net for ip in ips):
            return True
    return False


def check_url(url: str, settings) -> None:
    """Raise a non-retryable ComponentError if `url` is not allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ComponentError(f"unsupported URL {url!r}: need http(s)://host/...", retryable=False, type="BadUrl")
    if settings.http_allow_private_networks:
        return
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, parts.port or 0, proto=socket.IPPROTO_TCP)
        ips = [ipaddress.ip_address(info[4][0]) for info in infos]
    except (socket.gaierror, ValueError):
        return  # let the HTTP client report resolution errors
    private = [ip for ip in ips if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved]
    if private and not _admitted(host, ips, list(settings.outbound_allowlist)):
        raise ComponentError(
            f"refusing to call {host}: it resolves to a private or loopback address "
            "(admit it with OUTBOUND_ALLOWLIST)", retryable=False, type="ForbiddenAddress")
