"""Where a user's webhook may point: never at the server's own network (server-side request forgery).

A per-user webhook URL is a stranger's input that makes this server send requests. Refused unless
the operator sets WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: `localhost` and any name that resolves to a
loopback, link-local (cloud metadata at 169.254.169.254), private, shared (100.64/10), multicast,
reserved or unspecified address. Checked when the URL is saved and again before every delivery,
since a name's addresses can change in between (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from lite.errors import BadInput

MAX_URL = 2048
RESOLVE_SECONDS = 5.0


def parse_webhook_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, or BadInput saying what is wrong with it."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise BadInput(f"webhook_url must be an http:// or https:// URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadInput("webhook_url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput("webhook_url must be an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise BadInput("webhook_url must not carry a user name or password")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


async def check_webhook_url(url: str, allow_private: bool) -> None:
    """Raise BadInput (422) for a URL this server must not call; resolves the host name."""
    host, port = parse_webhook_url(url)
    if allow_private:
        return
    refusal = BadInput(
        "webhook_url points at a private, loopback or link-local address; the operator may allow "
        "that with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true"
    )
    if host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(".localhost"):
        raise refusal
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        if _forbidden(literal):
            raise refusal
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=RESOLVE_SECONDS
        )
    except (OSError, TimeoutError):
        raise BadInput(f"webhook_url's host {host[:253]!r} does not resolve") from None
    if any(_forbidden(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos):
        raise refusal
