"""The Lua transform: encoderfile's Tensor API in a sandboxed Lua 5.4, with limits."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("lupa")

from nerve.transform import TransformError, TransformLimits
from nerve.transform.lua import LuaTransform

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 5, 4)).astype(np.float32)


def post(body: str) -> str:
    return f"function Postprocess(arr)\n  {body}\nend\n"


def run(body: str, x: np.ndarray = X, limits: TransformLimits | None = None) -> np.ndarray:
    return LuaTransform(post(body), limits)(x)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return arr", X),
        ("return arr:softmax(3)", softmax(X, 2)),
        ("return arr:softmax(1)", softmax(X, 0)),
        ("return arr:exp()", np.exp(X)),
        ("return arr:clamp(-0.5, 0.5)", np.clip(X, -0.5, 0.5)),
        ("return arr:clamp(nil, 0.1)", np.minimum(X, 0.1)),
        ("return arr:clamp(0)", np.maximum(X, 0)),
        ("return arr * 2 + 1", X * 2 + 1),
        ("return 1 - arr / 4", 1 - X / 4),
        ("return -arr", -X),
        ("return arr - arr:softmax(3)", X - softmax(X, 2)),
        ("return arr ^ 2", X**2),
        ("return arr:lp_normalize(2, 3)", X / np.linalg.norm(X, axis=2, keepdims=True)),
        (
            "return arr:layer_norm(3, 1e-5)",
            (X - X.mean(2, keepdims=True)) / np.sqrt(X.var(2, keepdims=True) + 1e-5),
        ),
        ("return arr:transpose():transpose()", X),
        ("return arr / arr:max()", X / X.max()),
        ("return arr - arr:min() + arr:mean() * 0 + arr:sum() * 0", X - X.min()),
        ("return Tensor.new({{{1, 2, 3, 4}}}) + arr * 0", np.broadcast_to([1, 2, 3, 4], X.shape)),
    ],
)
def test_tensor_methods_match_numpy(body: str, expected: np.ndarray) -> None:
    out = run(body)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_scalar_methods_are_numbers_in_lua() -> None:
    body = """
    local ok = arr:ndim() == 3 and #arr == 40
    ok = ok and math.abs(arr:sum() - (arr * 1):sum()) < 1e-6
    ok = ok and arr:std(0) > 0 and arr:std(1) > arr:std(0)
    ok = ok and arr == arr * 1 and not (arr == arr + 1)
    ok = ok and tostring(arr):find("Tensor%(shape=%[2, 5, 4%]") ~= nil
    ok = ok and Tensor({}):mean() == nil
    ok = ok and arr:sum_axis(3):ndim() == 2
    if not ok then error("a scalar method is wrong") end
    return arr"""
    np.testing.assert_array_equal(run(body), X)


def test_a_plain_table_result_becomes_a_tensor() -> None:
    x = np.zeros((1, 2, 2), dtype=np.float32)
    out = LuaTransform(post("return {{{1, 2}, {3, 4}}}"))(x)
    np.testing.assert_array_equal(out, [[[1, 2], [3, 4]]])


def test_map_axis_maps_each_slice_and_stacks_the_results_back() -> None:
    # Each [seq, labels] slice of the batch, scaled by its batch position's own maximum.
    body = "return arr:map_axis(1, function(t) return t / t:max() end)"
    np.testing.assert_allclose(run(body), X / X.max(axis=(1, 2), keepdims=True), rtol=1e-6)
    # Along the last axis each slice is [batch, seq]; a table result becomes a Tensor.
    body = "return arr:map_axis(3, function(t) return t:softmax(2) end)"
    np.testing.assert_allclose(run(body), softmax(X, 1), rtol=1e-5, atol=1e-6)


def test_fold_axis_folds_each_slice_in_row_major_order() -> None:
    # A fold that depends on the order: acc * 2 + x over the slice's elements.
    body = """
    local folded = arr:fold_axis(2, 0, function(acc, x) return acc * 2 + x end)
    return arr * 0 + Tensor.new({{{folded:sum()}}})"""
    expected = 0.0
    for i in range(X.shape[1]):
        acc = 0.0
        for x in X[:, i, :].reshape(-1):
            acc = acc * 2 + float(x)
        expected += acc
    np.testing.assert_allclose(run(body), np.full(X.shape, expected), rtol=1e-5)
    body = """
    local maxima = arr:fold_axis(1, -math.huge, math.max)
    if maxima:ndim() ~= 1 or #maxima ~= 2 then error("wrong shape") end
    if maxima:max() ~= arr:max() then error("wrong maximum") end
    return arr"""
    np.testing.assert_array_equal(run(body), X)


def test_mean_pool_averages_the_unmasked_positions() -> None:
    # encoderfile's sentence-embedding pooling; here checked through a broadcast back to shape.
    body = """
    local mask = Tensor.new({{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}})
    local pooled = arr:mean_pool(mask)  -- [2, 4]
    if pooled:ndim() ~= 2 or #pooled ~= 8 then error("wrong shape") end
    local probs = pooled:softmax(2)
    return arr:map_axis(2, function(t) return t * 0 + probs end)"""
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=np.float32)
    pooled = (X * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    expected = np.broadcast_to(softmax(pooled, 1)[:, None, :], X.shape)
    np.testing.assert_allclose(run(body), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return arr:softmax(4)", "softmax: axis 4 is out of range for a 3-D tensor"),
        ("return arr:softmax(0)", "axes are 1-based"),
        ("local y = arr + {1}\n  return y", "transform:2: right operand of add must be a Tensor"),
        ("return arr:sum_axis(3)", "input's shape [2, 5, 4]"),
        ("return arr:transpose()", "it returned shape [2, 4, 5]"),
        ("return arr / 0", "NaN or infinite"),
        ("return 5", "Postprocess must return a Tensor, got number"),
        ("return Tensor({{1, 2}, {3}})", "not a rectangular array"),
        ("return arr:clamp(1, 0)", "min 1 is greater than max 0"),
        ("error('custom failure')", "transform:2: custom failure"),
        ("return arr.x.y", "attempt to index a nil value"),
        ("return arr:map_axis(4, function(t) return t end)", "axis 4 is out of range"),
        ("return arr:map_axis(1, 5)", "map_axis: expected a function, got number"),
        ("return arr:map_axis(1, function(t) return 1 end)", "must return a Tensor, got number"),
        (
            "return arr:map_axis(2, function(t)\n"
            "  return t:truncate_axis(1, t:sum() > 0 and 1 or 2) end)",
            "different shapes",
        ),
        ("return arr:fold_axis(1, 'x', math.max)", "initial value must be a number, got string"),
        (
            "return arr:fold_axis(1, 0, function(a, x) return 'y' end)",
            "return a number, got string",
        ),
        ("return arr:mean_pool()", "mean_pool needs the attention mask"),
        ("return Tensor.new({arr})", "a Tensor inside a table"),
        ("return arr:mean_pool(Tensor({1, 1}))", "the mask's shape [2] must be"),
    ],
)
def test_runtime_errors_are_transform_errors_with_a_useful_message(body: str, message: str) -> None:
    transform = LuaTransform(post(body))
    with pytest.raises(TransformError) as err:
        transform(X)
    assert message in err.value.message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("function Postprocess(arr", "does not compile: transform:1:"),
        ("x = 1", "must define a global function Postprocess(arr)"),
        ("", "the transform is empty"),
        ("error('at load')", "transform:1: at load"),
    ],
)
def test_load_errors(source: str, message: str) -> None:
    with pytest.raises(TransformError) as err:
        LuaTransform(source)
    assert message in err.value.message


@pytest.mark.parametrize(
    "expression",
    [
        "io.open('/etc/passwd')",
        "os.execute('true')",
        "os.getenv('HOME')",
        "require('os')",
        "dofile('/etc/passwd')",
        "loadfile('/etc/passwd')",
        "load('return 1')",
        "debug.getinfo(1)",
        "package.loadlib('x', 'y')",
        "coroutine.create(function() end)",
        "collectgarbage('stop')",
        "print('to stdout')",
        "python.eval('1')",
        "string.dump(Postprocess)",
    ],
)
def test_the_sandbox_has_no_way_out(expression: str) -> None:
    transform = LuaTransform(post(f"local v = {expression}\n  return arr"))
    with pytest.raises(TransformError, match="attempt to (index|call) a nil value"):
        transform(X)


def test_python_objects_are_not_reachable() -> None:
    # The only Python values in Lua are the op functions; their attributes are refused.
    source = """
    local found = {}
    for k, v in pairs(_G) do if type(v) == "userdata" then found[#found + 1] = k end end
    function Postprocess(arr)
      if #found > 0 then error("python object in _G: " .. found[1]) end
      if getmetatable(arr) ~= "Tensor" then error("metatable is not locked") end
      if pcall(setmetatable, arr, {}) then error("metatable can be replaced") end
      return arr
    end"""
    np.testing.assert_array_equal(LuaTransform(source)(X), X)


def test_a_runaway_loop_is_stopped_and_the_transform_stays_usable() -> None:
    source = post("if arr:max() > 100 then while true do end end\n  return arr")
    transform = LuaTransform(source, TransformLimits(timeout_s=0.3))
    started = time.monotonic()
    with pytest.raises(TransformError, match="ran longer than 0.3 s"):
        transform(X + 1000)
    assert time.monotonic() - started < 5
    np.testing.assert_array_equal(transform(X), X)


def test_lua_memory_is_capped() -> None:
    body = "local t = {}\n  for i = 1, 1e8 do t[i] = i end\n  return arr"
    with pytest.raises(TransformError, match="more than 16 MiB of Lua memory"):
        run(body, limits=TransformLimits(memory_mb=16))


def test_tensor_memory_is_capped() -> None:
    body = "local y = arr\n  for i = 1, 200 do y = y + arr end\n  return arr"
    big = np.zeros((8, 256, 256), dtype=np.float32)  # 2 MiB per tensor
    with pytest.raises(TransformError, match="allocated more than 16 MiB of tensors"):
        run(body, big, TransformLimits(memory_mb=16))


def test_tensors_do_not_survive_their_call() -> None:
    source = "kept = nil\n" + post("if kept then return kept end\n  kept = arr\n  return arr")
    transform = LuaTransform(source)
    transform(X)
    with pytest.raises(TransformError, match="earlier Postprocess call"):
        transform(X)


def test_limits_are_validated() -> None:
    with pytest.raises(TransformError):
        TransformLimits(timeout_s=0)
    with pytest.raises(TransformError):
        TransformLimits(memory_mb=0)
    # A manifest is bounded as a config is: these overflowed the worker's poll and RLIMIT_AS.
    with pytest.raises(TransformError, match="nerve.transform_timeout"):
        TransformLimits(timeout_s=float("inf"))
    with pytest.raises(TransformError, match="nerve.transform_memory_mb"):
        TransformLimits(memory_mb=10_000_000_000_000)
