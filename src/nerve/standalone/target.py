"""The platform a runtime executable runs on, as a target triple (standard library only: the
runtime reports it with ``--nerve-runtime-info``, ``nerve build`` compares against it)."""

from __future__ import annotations

import platform

# Asked by `nerve build` of a runtime executable (one without a model appended) to check that
# a --base-binary-path is a nerve runtime, and which one.
RUNTIME_INFO_FLAG = "--nerve-runtime-info"


def host_target() -> str:
    """This machine as a target triple, e.g. ``x86_64-unknown-linux-gnu``."""
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    system = platform.system()
    if system == "Darwin":
        return f"{arch}-apple-darwin"
    if system == "Windows":
        return f"{arch}-pc-windows-msvc"
    return f"{arch}-unknown-linux-gnu"
