"""API-key check shared by HTTP and gRPC (constant-time comparison)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

# ``Authorization: <scheme> KEY`` schemes accepted: Bearer (baseten-performance-client, most
# HTTP clients) and Api-Key (Baseten's own REST convention).
_SCHEMES = frozenset({"bearer", "api-key"})


class ApiKey:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def allows(self, headers: Iterable[tuple[str, str]]) -> bool:
        """Whether any presented key matches. ``headers``: (name, value) pairs, any case."""
        # Compare against every presented key without short-circuiting on the first match
        # being wrong, so timing does not tell which header carried a near-miss.
        matches = [hmac.compare_digest(k.encode(), self._key) for k in presented_keys(headers)]
        return any(matches)


def presented_keys(headers: Iterable[tuple[str, str]]) -> list[str]:
    """Every key a client presented in ``Authorization: Bearer|Api-Key KEY`` or ``Api-Key``."""
    keys = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() in _SCHEMES:
                keys.append(token.strip())
        elif lowered == "api-key":
            keys.append(value.strip())
    return keys
