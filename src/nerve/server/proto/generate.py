"""Regenerate the committed protobuf/gRPC stubs from the .proto files beside this script.

Run ``python src/nerve/server/proto/generate.py`` after editing a .proto (needs
``grpcio-tools``; users of the server do not, since the generated modules are committed).
``--out DIR`` writes the tree elsewhere (the tests use it to check the committed stubs are
current).

The include root is ``src/``, so the generated modules import each other as
``nerve.server.proto.*_pb2`` and need no sys.path tweaks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

PROTOS = ("token.proto", "metadata.proto", "token_classification.proto")
HERE = Path(__file__).resolve().parent
SRC = HERE.parents[2]


def generate(out: Path) -> int:
    """Write ``nerve/server/proto/*_pb2*.py[i]`` under ``out``; protoc's exit status."""
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    rel = [str((HERE / name).relative_to(SRC)) for name in PROTOS]
    args = [
        "protoc",
        f"-I{SRC}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *rel,
    ]
    return int(protoc.main(args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SRC, help="output root (default: src/)")
    args = parser.parse_args(argv)
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        print("generate.py needs grpcio-tools: pip install grpcio-tools", file=sys.stderr)
        return 1
    return generate(args.out)


if __name__ == "__main__":
    sys.exit(main())
