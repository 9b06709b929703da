"""The committed gRPC stubs are what generate.py makes from the committed .proto files."""

from __future__ import annotations

from pathlib import Path

import pytest

from nerve.server.proto import generate

pytest.importorskip("grpc_tools")


def test_committed_stubs_are_current(tmp_path: Path) -> None:
    assert generate.generate(tmp_path) == 0
    fresh = sorted((tmp_path / "nerve" / "server" / "proto").glob("*_pb2*"))
    assert len(fresh) == 3 * 3  # _pb2.py, _pb2.pyi, _pb2_grpc.py per .proto
    for path in fresh:
        committed = generate.HERE / path.name
        assert committed.read_text() == path.read_text(), f"{path.name} is stale: run generate.py"
