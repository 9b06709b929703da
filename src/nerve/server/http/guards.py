"""Browser-facing protections of the HTTP transport: which ``Host`` names are served, which
request bodies are accepted, and the security headers of the demo page.

A server on loopback is still reachable from any web page the user opens: the page can POST
``text/plain`` (a "simple" request, no CORS preflight) and, with DNS rebinding (a hostname
that first resolves to the attacker, then to 127.0.0.1), even read the answers. The Host
allow-list stops the rebinding (the browser sends the attacker's hostname), and requiring
``Content-Type: application/json`` on POST forces a preflight that a server without CORS
refuses. CORS itself is off unless ``--cors-origins`` names the origins to allow.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import re
from collections.abc import Iterable

from starlette.types import Scope

from ..errors import BadHostHeader, HostNotAllowed

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_host_names(bind_host: str, extra: Iterable[str]) -> frozenset[str] | None:
    """The ``Host`` names to serve, lower-case and without port; None: any.

    Bound to loopback: the loopback names, plus ``extra`` (``--allowed-hosts``). Bound to
    another address: any name, unless ``extra`` is given (then the bound address, the loopback
    names and ``extra``). ``*`` in ``extra`` allows any name.
    """
    names = {_bare(name) for name in extra if name.strip()}
    if "*" in names:
        return None
    if not is_loopback(bind_host) and not names:
        return None
    return frozenset({*LOOPBACK_NAMES, _bare(bind_host), *names})


def _bare(host: str) -> str:
    """``Host`` header value → lower-case name without port or IPv6 brackets."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8080
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        return host.split(":", 1)[0]
    return host


def host_refusal(
    scope: Scope, allowed: frozenset[str] | None
) -> HostNotAllowed | BadHostHeader | None:
    """Why a request may not be served under its ``Host`` (DNS rebinding); None if it may.

    HTTP/1.1 requires exactly one ``Host`` (RFC 9112, 3.2: a server answers 400 otherwise).
    Two of them would also let a client pass the allow-list with one name while a proxy or
    a log reads the other."""
    hosts = [v.decode("latin-1") for k, v in scope["headers"] if k == b"host"]
    if len(hosts) > 1:
        return BadHostHeader(f"the request has {len(hosts)} Host headers; send exactly one")
    if not hosts and scope.get("http_version") == "1.1":
        return BadHostHeader("an HTTP/1.1 request needs a Host header")
    # No Host at all (HTTP/1.0 tools): no browser sends that, so nothing to rebind.
    if allowed is None or not hosts or _bare(hosts[0]) in allowed:
        return None
    host = hosts[0]
    return HostNotAllowed(
        f"Host {host!r} is not served here; allowed: {', '.join(sorted(allowed))} "
        "(--allowed-hosts adds names)"
    )


# -- the demo page's Content-Security-Policy ----------------------------------------------------
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@functools.cache
def page_security_headers(html: str) -> dict[str, str]:
    """CSP allowing exactly the page's own inline script and style (by hash), calls to this
    server only, and no framing (clickjacking); plus the older equivalents."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src " + (" ".join(hashes["script"]) or "'none'"),
            "style-src " + (" ".join(hashes["style"]) or "'none'"),
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
