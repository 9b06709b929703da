"""encoderfile's Lua ``Tensor`` methods, implemented with numpy over a ``TensorStore``.

Axes are 1-based, as in encoderfile (Lua counts from 1). Every result is float32, like
encoderfile's ``ArrayD<f32>``. A bad argument is not raised into Lua: the function returns
``(None, message)`` and the Lua wrapper calls ``error(message, 2)``, so the message carries
the line of the user's script that made the call.

Supported: ``Tensor.new``/``Tensor(tbl)``, ``softmax``, ``exp``, ``clamp``, ``transpose``,
``lp_normalize``, ``layer_norm``, ``truncate_axis``, ``sum_axis``, ``mean_pool``, ``sum``,
``mean``, ``std``, ``min``, ``max``, ``ndim``, ``#t``, ``==``, ``tostring``, ``+ - * / ^``
and unary minus with numbers or (broadcasting) tensors, and ``map_axis``/``fold_axis``. The
last two call back into Lua, so their loops live in the prelude (under the instruction hook,
so the time limit holds); Python only supplies the pieces: ``axis_len``, ``take`` (one slice
along an axis), ``item`` (one element) and ``stack``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from lupa.lua54 import lua_type

from .errors import TransformError
from .store import TensorStore

F = TypeVar("F", bound=Callable[..., Any])

_MAX_TABLE_DEPTH = 16


class OpError(ValueError):
    """A wrong argument from Lua: reported as a Lua error at the caller's line."""


def _reported(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except OpError as exc:
            return None, str(exc)
        except FloatingPointError as exc:  # pragma: no cover - numpy errstate is not raised
            return None, str(exc)

    return wrapper  # type: ignore[return-value]


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OpError(f"{what} must be a number, got {_lua_type_name(value)}")
    return float(value)


def _integer(value: object, what: str) -> int:
    number = _number(value, what)
    if not number.is_integer():
        raise OpError(f"{what} must be an integer, got {number:g}")
    return int(number)


def _axis(array: np.ndarray, value: object) -> int:
    """1-based Lua axis → 0-based numpy axis."""
    axis = _integer(value, "axis")
    if not 1 <= axis <= array.ndim:
        raise OpError(
            f"axis {axis} is out of range for a {array.ndim}-D tensor (axes are 1-based: "
            f"1..{array.ndim})"
        )
    return axis - 1


def _lua_type_name(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return lua_type(value) or type(value).__name__


def table_to_array(table: Any) -> np.ndarray:
    """A nested Lua table of numbers → float32 array; it must be rectangular."""
    nested = _table_to_lists(table, 0)
    try:
        return np.asarray(nested, dtype=np.float32)
    except ValueError:
        raise OpError("the table is not a rectangular array of numbers") from None


def _table_to_lists(value: Any, depth: int) -> Any:
    if depth > _MAX_TABLE_DEPTH:
        raise OpError(f"tables nested deeper than {_MAX_TABLE_DEPTH} levels")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if lua_type(value) != "table":
        raise OpError(f"elements must be numbers, got {_lua_type_name(value)}")
    return [_table_to_lists(value[i], depth + 1) for i in range(1, len(value) + 1)]


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


_ARITH: dict[str, Callable[[Any, Any], np.ndarray]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "pow": np.power,
}


_OP_NAMES = (
    "new",
    "softmax",
    "exp",
    "clamp",
    "transpose",
    "lp_normalize",
    "layer_norm",
    "truncate_axis",
    "sum_axis",
    "mean_pool",
    "axis_len",
    "take",
    "item",
    "stack",
    "sum",
    "mean",
    "std",
    "min",
    "max",
    "ndim",
    "len",
    "eq",
    "arith",
    "neg",
    "tostring",
)


class TensorOps:
    """The functions the Lua prelude calls; each takes and returns handles or numbers."""

    def __init__(self, store: TensorStore) -> None:
        self.store = store

    def table(self) -> dict[str, Callable[..., Any]]:
        """name → function, for ``LuaRuntime.table_from``."""
        return {name: getattr(self, "op_" + name) for name in _OP_NAMES}

    def _get(self, handle: object) -> np.ndarray:
        return self.store.get(handle)

    def _put(self, array: np.ndarray) -> int:
        return self.store.put(array)

    # -- constructors ---------------------------------------------------------------------
    @_reported
    def op_new(self, table: Any) -> int:
        return self._put(table_to_array(table))

    # -- tensor → tensor ------------------------------------------------------------------
    @_reported
    def op_softmax(self, handle: int, axis: object = None) -> int:
        x = self._get(handle)
        return self._put(_softmax(x, _axis(x, axis)))

    @_reported
    def op_exp(self, handle: int) -> int:
        with np.errstate(over="ignore"):  # overflow → inf, caught by the output check
            return self._put(np.exp(self._get(handle)))

    @_reported
    def op_clamp(self, handle: int, low: object = None, high: object = None) -> int:
        x = self._get(handle)
        lo = None if low is None else _number(low, "min")
        hi = None if high is None else _number(high, "max")
        if lo is not None and hi is not None and lo > hi:
            raise OpError(f"clamp: min {lo:g} is greater than max {hi:g}")
        return self._put(x if lo is None and hi is None else np.clip(x, lo, hi))

    @_reported
    def op_transpose(self, handle: int) -> int:
        x = self._get(handle)
        if x.ndim < 2:
            raise OpError(f"transpose needs at least 2 dimensions, got {x.ndim}")
        return self._put(np.swapaxes(x, -1, -2))

    @_reported
    def op_lp_normalize(self, handle: int, p: object = None, axis: object = None) -> int:
        x = self._get(handle)
        order = _number(p, "p")
        if order <= 0:
            raise OpError(f"lp_normalize: p must be positive, got {order:g}")
        ax = _axis(x, axis)
        norm = np.sum(np.abs(x) ** order, axis=ax, keepdims=True) ** (1.0 / order)
        # An all-zero slice stays zero instead of becoming NaN.
        return self._put(x / np.maximum(norm, np.finfo(np.float32).tiny))

    @_reported
    def op_layer_norm(self, handle: int, axis: object = None, eps: object = None) -> int:
        x = self._get(handle)
        ax = _axis(x, axis)
        epsilon = 1e-5 if eps is None else _number(eps, "eps")
        mean = np.mean(x, axis=ax, keepdims=True)
        var = np.var(x, axis=ax, keepdims=True)
        return self._put((x - mean) / np.sqrt(var + epsilon))

    @_reported
    def op_truncate_axis(self, handle: int, axis: object = None, length: object = None) -> int:
        x = self._get(handle)
        ax = _axis(x, axis)
        n = _integer(length, "len")
        if n < 0:
            raise OpError(f"truncate_axis: len must be >= 0, got {n}")
        return self._put(np.take(x, np.arange(min(n, x.shape[ax])), axis=ax))

    @_reported
    def op_sum_axis(self, handle: int, axis: object = None) -> int:
        x = self._get(handle)
        return self._put(np.sum(x, axis=_axis(x, axis)))

    @_reported
    def op_mean_pool(self, handle: int, mask_handle: object = None) -> int:
        """Mean over every axis between the first (batch) and the last (hidden), counting
        only positions where ``mask`` (the input's shape without its last axis) is non-zero.
        A row whose mask is all zero gives NaN, which the output check reports."""
        x = self._get(handle)
        if mask_handle is None:
            raise OpError("mean_pool needs the attention mask tensor")
        mask = self._get(mask_handle)
        if x.ndim < 2 or mask.shape != x.shape[:-1]:
            raise OpError(
                f"mean_pool: the mask's shape {list(mask.shape)} must be the tensor's shape "
                f"{list(x.shape)} without its last axis"
            )
        weights = mask[..., None]
        inner = tuple(range(1, x.ndim - 1))
        with np.errstate(all="ignore"):
            pooled = np.sum(x * weights, axis=inner) / np.sum(weights, axis=inner)
        return self._put(pooled)

    @_reported
    def op_axis_len(self, handle: int, axis: object = None) -> int:
        x = self._get(handle)
        return int(x.shape[_axis(x, axis)])

    @_reported
    def op_take(self, handle: int, axis: object = None, index: object = None) -> int:
        """The slice at 1-based ``index`` along ``axis``, that axis removed."""
        x = self._get(handle)
        ax = _axis(x, axis)
        i = _integer(index, "index")
        if not 1 <= i <= x.shape[ax]:
            raise OpError(f"index {i} is out of range 1..{x.shape[ax]}")
        return self._put(np.take(x, i - 1, axis=ax))

    @_reported
    def op_item(self, handle: int, index: object = None) -> float:
        """Element ``index`` (1-based) of the tensor in row-major order."""
        x = self._get(handle)
        i = _integer(index, "index")
        if not 1 <= i <= x.size:
            raise OpError(f"index {i} is out of range 1..{x.size}")
        return float(x.reshape(-1)[i - 1])

    @_reported
    def op_stack(self, axis: object, *handles: int) -> int:
        """The tensors stacked along a new ``axis`` (1-based; ``axis`` ≤ their ndim + 1)."""
        arrays = [self._get(h) for h in handles]
        if not arrays:
            raise OpError("nothing to stack: the axis has length 0")
        position = _integer(axis, "axis")
        if not 1 <= position <= arrays[0].ndim + 1:
            raise OpError(
                f"axis {position} cannot hold results of {arrays[0].ndim} dimensions "
                f"(axes are 1-based: 1..{arrays[0].ndim + 1})"
            )
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise OpError(
                "the function returned tensors of different shapes: "
                + ", ".join(str(list(shape)) for shape in sorted(shapes))
            )
        self.store.reserve((len(arrays), *arrays[0].shape))
        return self._put(np.stack(arrays, axis=position - 1))

    @_reported
    def op_neg(self, handle: int) -> int:
        return self._put(-self._get(handle))

    @_reported
    def op_arith(self, op: str, kind_a: str, a: object, kind_b: str, b: object) -> int:
        left = self._operand(kind_a, a)
        right = self._operand(kind_b, b)
        try:
            shape = np.broadcast_shapes(np.shape(left), np.shape(right))
        except ValueError:
            raise OpError(
                f"shapes {np.shape(left)} and {np.shape(right)} cannot be broadcast together"
            ) from None
        self.store.reserve(shape)
        try:
            with np.errstate(all="ignore"):  # inf/NaN are caught by the output check
                result = _ARITH[op](left, right)
        except ValueError:
            raise OpError(
                f"shapes {np.shape(left)} and {np.shape(right)} cannot be broadcast together"
            ) from None
        return self._put(np.asarray(result, dtype=np.float32))

    def _operand(self, kind: str, value: object) -> np.ndarray | np.float32:
        if kind == "t":
            return self._get(value)
        return np.float32(_number(value, "operand"))

    # -- tensor → number ------------------------------------------------------------------
    @_reported
    def op_sum(self, handle: int) -> float:
        return float(np.sum(self._get(handle), dtype=np.float64))

    @_reported
    def op_mean(self, handle: int) -> float | None:
        x = self._get(handle)
        return None if x.size == 0 else float(np.mean(x, dtype=np.float64))

    @_reported
    def op_std(self, handle: int, ddof: object = 0) -> float:
        x = self._get(handle)
        dof = _integer(0 if ddof is None else ddof, "ddof")
        if x.size - dof <= 0:
            raise OpError(f"std: {x.size} elements leave no degrees of freedom with ddof={dof}")
        return float(np.std(x, ddof=dof, dtype=np.float64))

    @_reported
    def op_min(self, handle: int) -> float:
        x = self._get(handle)
        if x.size == 0:
            raise OpError("min of an empty tensor")
        return float(np.min(x))

    @_reported
    def op_max(self, handle: int) -> float:
        x = self._get(handle)
        if x.size == 0:
            raise OpError("max of an empty tensor")
        return float(np.max(x))

    def op_ndim(self, handle: int) -> int:
        return int(self._get(handle).ndim)

    def op_len(self, handle: int) -> int:
        return int(self._get(handle).size)

    def op_eq(self, a: int, b: int) -> bool:
        x, y = self._get(a), self._get(b)
        return bool(x.shape == y.shape and np.array_equal(x, y))

    def op_tostring(self, handle: int) -> str:
        x = self._get(handle)
        return f"Tensor(shape={list(x.shape)}, {np.array2string(x, threshold=20)})"


def check_output(array: np.ndarray, expected_shape: tuple[int, ...]) -> np.ndarray:
    """The checks encoderfile makes on ``Postprocess``'s result, plus finiteness."""
    if array.shape != expected_shape:
        raise TransformError(
            f"Postprocess must return a tensor of the input's shape {list(expected_shape)} "
            f"[batch, seq, labels]; it returned shape {list(array.shape)}"
        )
    if not np.all(np.isfinite(array)):
        raise TransformError("Postprocess returned NaN or infinite values")
    return array
