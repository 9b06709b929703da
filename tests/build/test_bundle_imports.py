"""The executable leaves packages out (``EXCLUDES``): its code must not import them.

PyInstaller builds such an executable without complaint, and it then fails at start
(nerve.standalone once imported a flag helper from nerve.cli). Only the slow executable test
would notice; here every module of the executable's runtime is imported in a fresh
interpreter in which the excluded packages cannot be imported at all.
"""

from __future__ import annotations

import subprocess
import sys

from nerve.build.pyinstaller import EXCLUDES

# The executable's own code and what its verbs import at run time (lazily, too).
RUNTIME_MODULES = (
    "nerve.standalone.inspect_verb",
    "nerve.standalone.main",
    "nerve.standalone.serve_verb",
    "nerve.standalone.infer_verb",
    "nerve.standalone.mcp_verb",
    "nerve.standalone.engine",
    "nerve.server.runner",
    "nerve.mcp.server",
    "nerve.backends.onnx_backend",
    "nerve.transform.lua",
    "nerve.transform.worker",  # the executable runs itself as the transform's worker
    "nerve.transform.local",
    "nerve.mcp.sessions",
)

BLOCKER = """
import importlib.abc, importlib, sys
blocked = set(sys.argv[1].split(","))

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ImportError(f"{name} is excluded from the executable")
        return None

sys.meta_path.insert(0, Refuse())
for module in sys.argv[2].split(","):
    importlib.import_module(module)
"""


def test_the_executable_runtime_imports_no_excluded_package() -> None:
    # Excluded packages already imported by a test runner do not matter: a fresh interpreter.
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER, ",".join(EXCLUDES), ",".join(RUNTIME_MODULES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
