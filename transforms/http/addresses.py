"""Address rules for every fetch: which hosts may be reached (SSRF), the politeness key, no credentials in logs."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*:(?://|%2f%2f))[^/?#@\s]*@")


_BARE_USERINFO = re.compile(r"^(?!mailto:)[^\s/@:]+:[^\s/@]*@(?=[^\s/@]+$)")


def redact_credentials(text: str) -> str:
    """``scheme://user:password@host`` → ``scheme://***@host`` anywhere in ``text`` (for logs, rejects, rows);
    a bare ``user:password@host`` (a site name taken from a URL's netloc) → ``host``.

    The one redaction: every table row passes through it when written (``redact_row``).
    """
    if "@" not in text:
        return text
    return _BARE_USERINFO.sub("", _USERINFO.sub(r"\1***@", text))


def redact_row(row: dict) -> dict:
    """``row`` with ``redact_credentials`` applied to every string value (and every string in a list value)."""
    redacted = {}
    for name, value in row.items():
        if isinstance(value, str):
            value = redact_credentials(value)
        elif isinstance(value, list | tuple) and any(isinstance(v, str) and "@" in v for v in value):
            value = [redact_credentials(v) if isinstance(v, str) else v for v in value]
        redacted[name] = value
    return redacted


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses ``host`` resolves to, in the system's preference order (IP literals map to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified and shared addresses,
    also when wrapped in IPv6 (IPv4-mapped, 6to4, NAT64)."""
    ip = ipaddress.ip_address(address.partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
    blocked = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
    return ip.is_global and not (blocked or ip.is_unspecified)


def host_of(url: str) -> str:
    """The politeness key of a URL: lower-cased host and port as written ('' when there is none)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[2].lower()
