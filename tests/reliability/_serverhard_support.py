"""Shared by the hardening tests of tests/reliability (schemathesis, Lua limits, defects):
real ``nerve serve`` subprocesses on loopback, and the memory they use."""

from __future__ import annotations

import shutil
from pathlib import Path

from server.procs import ServerProcess, start_server

__all__ = ["ServerProcess", "model_with_transform", "start_server", "tree_rss_bytes"]


def model_with_transform(
    model_dir: Path, out: Path, lua: str, *, timeout_s: float = 5.0, memory_mb: int = 256
) -> Path:
    """A copy of ``model_dir`` that declares ``lua`` as its transform, as a build writes it."""
    from nerve.bundle import Manifest, TransformSpec, hash_files, write_manifest

    shutil.copytree(model_dir, out)
    spec = TransformSpec(lua, "logits", timeout_s=timeout_s, memory_mb=memory_mb)
    files = hash_files(out, sorted(f.name for f in out.iterdir() if f.is_file()))
    write_manifest(out, Manifest("attacked", "1", files, transform=spec))
    return out


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (Linux /proc)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text(encoding="ascii")
        except OSError:
            continue  # exited meanwhile
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text(encoding="ascii").split()
            except OSError:
                continue
            pending.extend(int(child) for child in children)
    return total
