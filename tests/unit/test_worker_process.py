"""The helper processes nerve starts (Lua transforms, host-side tokenizing): Ctrl-C at the
terminal must reach nerve alone, which prints one line; a worker still starting printed a
KeyboardInterrupt (or, its parent gone, an EOFError) traceback under that line."""

from __future__ import annotations

import importlib
import os

import pytest

from nerve.worker_process import start_worker


@pytest.mark.parametrize("module", ["nerve.transform.worker", "nerve.hostpool.worker"])
def test_a_worker_is_outside_the_terminals_group_and_leaves_quietly(
    module: str, capfd: pytest.CaptureFixture[str]
) -> None:
    process, conn = start_worker(module, importlib.import_module(module).WORKER_FD_ENV)
    try:
        # Its own process group: the terminal's Ctrl-C goes to the foreground group only.
        assert os.getpgid(process.pid) == process.pid != os.getpgid(0)
        conn.close()  # the parent, interrupted, goes away before its first message
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert "Traceback" not in capfd.readouterr().err
