"""Regenerate the committed protobuf/gRPC stubs from the .proto files beside this script.

Run from anywhere: ``python src/nerve/server/proto/generate.py`` (needs ``grpcio-tools``,
which users of the server do not: the generated modules are committed).

The include root is ``src/`` so the generated modules import each other as
``nerve.server.proto.*_pb2`` and need no sys.path tweaks.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTOS = ("token.proto", "metadata.proto", "token_classification.proto")


def main() -> int:
    try:
        from grpc_tools import protoc
    except ImportError:
        print("generate.py needs grpcio-tools: pip install grpcio-tools", file=sys.stderr)
        return 1
    here = Path(__file__).resolve().parent
    src = here.parents[2]
    rel = [str((here / name).relative_to(src)) for name in PROTOS]
    args = [
        "protoc",
        f"-I{src}",
        f"--python_out={src}",
        f"--pyi_out={src}",
        f"--grpc_python_out={src}",
        *rel,
    ]
    return int(protoc.main(args))


if __name__ == "__main__":
    sys.exit(main())
