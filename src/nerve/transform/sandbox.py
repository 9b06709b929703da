"""A Lua 5.4 state (lupa) that can run untrusted transform code.

What the script gets: the safe base functions, ``Tensor``, and by default ``string``
(without ``dump``), ``table``, ``math`` and ``utf8`` — encoderfile gives transforms
table/string/math. A build's ``lua_libs`` narrows the libraries to exactly those listed, as
encoderfile's does.
What it does not get: ``io``, ``os``, ``package``/``require``, ``load``/``loadfile``/
``dofile``, ``debug``, ``coroutine`` (a coroutine would run outside the instruction hook),
``collectgarbage``, ``print``/``warn`` (stdout belongs to the MCP stdio transport), and
lupa's ``python`` module. Globals are cut down to an allow-list, not a deny-list, so a new
Lua or lupa global never slips in. Lua never receives a Python object other than the
``TensorOps`` functions, and attribute access on those is refused.

Limits: Lua's allocator is capped (``max_memory``), tensors are capped by the store, and a
count hook stops any call that runs past its time budget.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import lupa.lua54 as lua

from .errors import TransformError
from .limits import TransformLimits
from .ops import TensorOps
from .prelude import PRELUDE

MIB = 1024 * 1024

_ALLOWED_GLOBALS = frozenset(
    {
        "_G",
        "_VERSION",
        "assert",
        "error",
        "getmetatable",
        "ipairs",
        "next",
        "pairs",
        "pcall",
        "rawequal",
        "rawget",
        "rawlen",
        "rawset",
        "select",
        "setmetatable",
        "tonumber",
        "tostring",
        "type",
        "xpcall",
        "Tensor",
    }
)
# The libraries a transform gets unless its build lists ``lua_libs`` (then exactly those).
DEFAULT_LIBS = ("math", "string", "table", "utf8")


def _deny_get(obj: object, name: object) -> Any:
    raise AttributeError("Python attributes are not reachable from a transform")


def _deny_set(obj: object, name: object, value: object) -> None:
    raise AttributeError("Python attributes are not reachable from a transform")


def lua_message(exc: BaseException) -> str:
    """A Lua error's message without lupa's stack traceback."""
    text = str(exc).split("\nstack traceback:", 1)[0].strip()
    return text.removeprefix("error loading code: ")


class Sandbox:
    """One Lua state with the Tensor prelude loaded and the globals cut down."""

    def __init__(
        self, ops: TensorOps, limits: TransformLimits, libs: tuple[str, ...] | None = None
    ) -> None:
        self.limits = limits
        self.libs = frozenset(DEFAULT_LIBS if libs is None else libs)
        unknown = sorted(self.libs - set(DEFAULT_LIBS))
        if unknown:
            raise TransformError(
                f"Lua libraries {unknown} are not available to transforms "
                f"(allowed: {', '.join(DEFAULT_LIBS)})"
            )
        self._deadline: float | None = None
        self.runtime = lua.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            max_memory=limits.memory_mb * MIB,
            attribute_handlers=(_deny_get, _deny_set),
        )
        self._run: Callable[[int], Any] = self.runtime.execute(
            PRELUDE, self.runtime.table_from(ops.table()), self._check, name="=prelude", mode="t"
        )
        self._restrict_globals()

    def _restrict_globals(self) -> None:
        g = self.runtime.globals()
        allowed = _ALLOWED_GLOBALS | self.libs
        for name in [k for k in g if k not in allowed]:
            g[name] = None
        if "string" in self.libs:
            g.string.dump = None  # bytecode could only be used with load, but leave nothing

    def _check(self) -> None:
        # Called by the count hook inside Lua; raising here aborts the running Lua code.
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise TransformError(
                f"the transform ran longer than {self.limits.timeout_s:g} s "
                "(nerve.transform_timeout)"
            )

    @contextlib.contextmanager
    def _limited(self) -> Iterator[None]:
        self._deadline = time.monotonic() + self.limits.timeout_s
        try:
            yield
        except TransformError:
            raise
        except lua.LuaSyntaxError as exc:
            raise TransformError(f"the transform does not compile: {lua_message(exc)}") from None
        except lua.LuaMemoryError:
            raise TransformError(
                f"the transform used more than {self.limits.memory_mb} MiB of Lua memory "
                "(nerve.transform_memory_mb)"
            ) from None
        except lua.LuaError as exc:
            raise TransformError(f"the transform failed: {lua_message(exc)}") from None
        except Exception as exc:  # lupa conversion errors and the like: still the script's
            raise TransformError(f"the transform failed: {type(exc).__name__}: {exc}") from None
        finally:
            self._deadline = None

    def load(self, source: str) -> None:
        """Compile and run the script's top level; it must define ``Postprocess``."""
        with self._limited():
            chunk = self.runtime.compile(source, name="=transform", mode="t")
            chunk()
        postprocess = self.runtime.globals().Postprocess
        if lua.lua_type(postprocess) != "function":
            raise TransformError("the transform must define a global function Postprocess(arr)")

    def postprocess(self, handle: int) -> object:
        """Run ``Postprocess`` on the tensor ``handle``; returns the result's handle."""
        with self._limited():
            return self._run(handle)
