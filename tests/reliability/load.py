"""Load helpers for the reliability suite: closed-loop clients, and how each attempt ended."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

SENTENCE = "Angela Merkel met Barack Obama in Berlin on Tuesday."


@dataclass
class Outcomes:
    """Every attempt a client made: its status, or why it got none."""

    answers: list[tuple[int, float]] = field(default_factory=list)  # (status, seconds)
    refused: int = 0  # could not connect: nothing was sent
    lost: list[str] = field(default_factory=list)  # sent, then no response: never allowed

    @property
    def statuses(self) -> Counter[int]:
        return Counter(status for status, _ in self.answers)

    def percentile(self, q: float, status: int | None = None) -> float:
        ordered = sorted(t for s, t in self.answers if status is None or s == status)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def attempt(client: httpx.AsyncClient, path: str, body: object, out: Outcomes) -> int | None:
    started = time.perf_counter()
    try:
        response = await client.post(path, json=body)
    except httpx.ConnectError:
        out.refused += 1
        return None
    except httpx.HTTPError as exc:  # reset, EOF or timeout after the request went out
        out.lost.append(f"{type(exc).__name__}: {exc}")
        return None
    out.answers.append((response.status_code, time.perf_counter() - started))
    return response.status_code


async def closed_loop(
    url: str,
    path: str,
    body: object,
    out: Outcomes,
    until: asyncio.Event,
    timeout: float = 60.0,
    stop_when_refused: bool = False,
) -> None:
    """One client on one keep-alive connection, sending ``body`` again as soon as answered."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        while not until.is_set():
            status = await attempt(client, path, body, out)
            if status is None and stop_when_refused:
                return
