"""Fairness and admission under a heavy client, against a real server with default limits.

- fairness: one client keeps sending the worst request the defaults allow (the largest texts
  at the largest allowed stride, just under --max-request-tokens); 16 clients sending one
  sentence each keep p99 under 2 s and never see a 504;
- admission: clients flooding the server with such requests get 429s, at once, never a timeout.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from server.procs import ServerProcess, start_server

from .conftest import scale
from .load import SENTENCE, Outcomes, closed_loop

# The default model: 128-token windows, 126 content tokens, so the largest stride allowed is
# 63 and every window brings 63 new tokens. Two texts of 19,000 characters come to about
# 15,000 model tokens: close to the worst request under --max-request-tokens 16384.
HEAVY_TEXT = ("Angela Merkel met Barack Obama in Berlin on Tuesday to discuss trade. " * 300)[
    :19_000
]
HEAVY = {"inputs": [HEAVY_TEXT, HEAVY_TEXT], "window": 128, "stride": 63}
ONE_SENTENCE = {"inputs": [SENTENCE]}


@pytest.fixture(scope="module")
def server(
    default_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    proc = start_server(
        default_model_dir, tmp_path_factory.mktemp("reliability-fair"), "--disable-grpc"
    )
    yield proc
    assert proc.stop(signal.SIGTERM) == 0, proc.log()


def test_sentences_keep_their_latency_while_the_worst_request_repeats(
    server: ServerProcess,
) -> None:
    seconds = scale(15, 120)
    alone, heavy, light = Outcomes(), Outcomes(), Outcomes()

    async def sentences(out: Outcomes, until: asyncio.Event) -> list[asyncio.Future[None]]:
        return [
            asyncio.ensure_future(closed_loop(server.url, "/predict", ONE_SENTENCE, out, until))
            for _ in range(16)
        ]

    async def scenario() -> None:
        # The same 16 clients without the heavy one first: what this machine gives right now.
        until = asyncio.Event()
        tasks = await sentences(alone, until)
        await asyncio.sleep(seconds / 3)
        until.set()
        await asyncio.gather(*tasks)
        until = asyncio.Event()
        tasks = [
            asyncio.ensure_future(closed_loop(server.url, "/v1/entities", HEAVY, heavy, until))
        ]
        await asyncio.sleep(1.0)  # the heavy job is in the worker first
        tasks += await sentences(light, until)
        await asyncio.sleep(seconds)
        until.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    print(
        f"\nfairness: alone {len(alone.answers)} sentences, p50 {alone.percentile(0.5):.3f} s, "
        f"p99 {alone.percentile(0.99):.3f} s; with the heavy client {len(light.answers)} "
        f"sentences, p50 {light.percentile(0.5):.3f} s, p99 {light.percentile(0.99):.3f} s; "
        f"heavy requests {dict(heavy.statuses)}"
    )
    assert set(heavy.statuses) == {200}, heavy  # the worst request is allowed and completes
    assert not heavy.lost and not light.lost
    assert set(light.statuses) == {200}, light.statuses  # no 504, no 429
    # 2 s on a machine that is not overloaded. A shared machine already slow for sentences
    # alone gets the same slack relative to its own figure (FIFO scheduling fails either: a
    # sentence would wait for the whole heavy request, many batches).
    assert light.percentile(0.99) < max(2.0, 4 * alone.percentile(0.99))


def test_work_beyond_the_queue_bound_gets_429_at_once_never_a_timeout(
    server: ServerProcess,
) -> None:
    seconds = scale(10, 60)
    flood = Outcomes()

    async def scenario() -> None:
        until = asyncio.Event()
        tasks = [
            asyncio.ensure_future(
                closed_loop(server.url, "/v1/entities", HEAVY, flood, until, timeout=120)
            )
            for _ in range(12)
        ]
        await asyncio.sleep(seconds)
        until.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    statuses = flood.statuses
    print(
        f"\nadmission: {dict(statuses)}; 429 answered in p50 {flood.percentile(0.5, 429):.3f} s,"
        f" p99 {flood.percentile(0.99, 429):.3f} s, max {flood.percentile(1.0, 429):.3f} s"
    )
    assert not flood.lost
    assert set(statuses) <= {200, 429}, statuses  # never 504
    assert statuses[429] > 0 and statuses[200] > 0
    # 50 ms on a machine that is not overloaded; on a shared one, still a small fraction of
    # what an admitted request takes (a refusal never waits for the model).
    assert flood.percentile(0.5, 429) < max(0.05, flood.percentile(0.5, 200) / 4)
