"""The Lua side of the ``Tensor`` class, run once in each sandbox before the user's script.

Kept as a Python string (not a ``.lua`` file) so it needs no package-data entry and travels
inside a PyInstaller executable with the module itself.

The chunk receives ``(ops, check)``: ``ops`` a Lua table of the Python functions of
``TensorOps``, ``check`` the limit checker. It installs a count hook that calls ``check``
(while ``debug`` still exists; the sandbox deletes it afterwards), defines the global
``Tensor`` and returns ``run(handle) -> handle``, which calls the user's ``Postprocess``.

A Tensor is an empty table with a locked metatable; its handle is kept in ``handles``, a
weak-keyed local that user code cannot reach, so a handle can be neither read nor forged.
"""

from __future__ import annotations

# Instructions between two calls of the limit checker: often enough to stop a runaway loop
# within milliseconds, rare enough to cost nothing measurable.
HOOK_INTERVAL = 10_000

PRELUDE = """
local ops, check = ...
-- Captured before the globals are cut down: a transform's lua_libs may leave out `table`.
local unpack = table.unpack
-- A Lua closure: debug.sethook refuses a Python callable.
debug.sethook(function() check() end, "", @HOOK_INTERVAL@)

local handles = setmetatable({}, {__mode = "k"})
local methods, mt = {}, {}
mt.__index = methods
mt.__metatable = "Tensor"

local function wrap(h)
  local t = setmetatable({}, mt)
  handles[t] = h
  return t
end

-- Errors name the line of the user's script that made the bad call. error(msg, level) can
-- not: the call is often a tail call (`return arr:softmax(4)`), whose frame is gone, and the
-- level would then point into this prelude. So look for the nearest frame of the script.
local getinfo = debug.getinfo
local function fail(msg)
  for level = 3, 32 do
    local info = getinfo(level, "Sl")
    if info == nil then
      break
    end
    if info.source == "=transform" then
      error("transform:" .. info.currentline .. ": " .. msg, 0)
    end
  end
  error(msg, 0)
end

local function handle(t, what)
  local h = handles[t]
  if h == nil then
    fail(what .. " must be a Tensor, got " .. type(t))
  end
  return h
end

-- Python returns (nil, message) for a bad argument.
local function checked(name, h, err)
  if h == nil and err ~= nil then
    fail(name .. ": " .. err)
  end
  return h
end

local function returns_tensor(name)
  local op = ops[name]
  methods[name] = function(self, ...)
    return wrap(checked(name, op(handle(self, name .. ": self"), ...)))
  end
end

local function returns_value(name)
  local op = ops[name]
  methods[name] = function(self, ...)
    return checked(name, op(handle(self, name .. ": self"), ...))
  end
end

for _, name in ipairs({"softmax", "exp", "clamp", "transpose", "lp_normalize",
                       "layer_norm", "truncate_axis", "sum_axis"}) do
  returns_tensor(name)
end
for _, name in ipairs({"sum", "std", "min", "max", "ndim"}) do
  returns_value(name)
end
-- mean of an empty tensor is nil (encoderfile's contract), so no (nil, message) check here.
methods.mean = function(self)
  local value, err = ops.mean(handle(self, "mean: self"))
  if err ~= nil then fail("mean: " .. err) end
  return value
end

local function operand(x, what)
  if type(x) == "number" then
    return "n", x
  end
  return "t", handle(x, what)
end

for _, name in ipairs({"add", "sub", "mul", "div", "pow"}) do
  mt["__" .. name] = function(a, b)
    local ka, va = operand(a, "left operand of " .. name)
    local kb, vb = operand(b, "right operand of " .. name)
    return wrap(checked(name, ops.arith(name, ka, va, kb, vb)))
  end
end
mt.__unm = function(a) return wrap(checked("unm", ops.neg(handle(a, "operand")))) end
mt.__eq = function(a, b) return ops.eq(handle(a, "left operand"), handle(b, "right operand")) end
mt.__len = function(a) return ops.len(handle(a, "operand")) end
mt.__tostring = function(a) return ops.tostring(handle(a, "operand")) end

-- A Tensor is an empty table to Python: nested in a plain table it would read as [].
local function holds_tensor(tbl, depth)
  for _, v in ipairs(tbl) do
    if handles[v] ~= nil then return true end
    if type(v) == "table" and depth < 16 and holds_tensor(v, depth + 1) then return true end
  end
  return false
end

local Tensor = {}
function Tensor.new(tbl)
  if handles[tbl] ~= nil then
    return tbl
  end
  if type(tbl) ~= "table" then
    fail("Tensor.new expects a table of numbers, got " .. type(tbl))
  end
  if holds_tensor(tbl, 1) then
    fail("Tensor.new: a Tensor inside a table is not a number (build the table of numbers)")
  end
  return wrap(checked("Tensor.new", ops.new(tbl)))
end
setmetatable(Tensor, {__call = function(_, tbl) return Tensor.new(tbl) end})
_G.Tensor = Tensor

-- mean_pool(mask): the mask may be a Tensor or a plain table, as in encoderfile.
methods.mean_pool = function(self, mask)
  local h = handle(self, "mean_pool: self")
  if mask ~= nil then
    if type(mask) ~= "table" then
      fail("mean_pool: the mask must be a Tensor, got " .. type(mask))
    end
    mask = handles[Tensor.new(mask)]
  end
  return wrap(checked("mean_pool", ops.mean_pool(h, mask)))
end

-- map_axis(axis, f): f gets each slice along `axis` (that axis removed) and returns a Tensor
-- (or a table); the results are stacked back along `axis`.
methods.map_axis = function(self, axis, f)
  local h = handle(self, "map_axis: self")
  if type(f) ~= "function" then fail("map_axis: expected a function, got " .. type(f)) end
  local n = checked("map_axis", ops.axis_len(h, axis))
  local results = {}
  for i = 1, n do
    local out = f(wrap(checked("map_axis", ops.take(h, axis, i))))
    if handles[out] == nil then
      if type(out) ~= "table" then
        fail("map_axis: the function must return a Tensor, got " .. type(out))
      end
      out = Tensor.new(out)
    end
    results[i] = handles[out]
  end
  return wrap(checked("map_axis", ops.stack(axis, unpack(results, 1, n))))
end

-- fold_axis(axis, acc, f): for each slice along `axis`, acc = f(acc, x) over its elements in
-- row-major order, from the same initial acc; the results form a 1-D Tensor.
methods.fold_axis = function(self, axis, init, f)
  local h = handle(self, "fold_axis: self")
  if type(init) ~= "number" then
    fail("fold_axis: the initial value must be a number, got " .. type(init))
  end
  if type(f) ~= "function" then fail("fold_axis: expected a function, got " .. type(f)) end
  local n = checked("fold_axis", ops.axis_len(h, axis))
  local results = {}
  for i = 1, n do
    local slice = checked("fold_axis", ops.take(h, axis, i))
    local acc = init
    for k = 1, ops.len(slice) do
      acc = f(acc, ops.item(slice, k))
      if type(acc) ~= "number" then
        fail("fold_axis: the function must return a number, got " .. type(acc))
      end
    end
    results[i] = acc
  end
  return Tensor.new(results)
end

return function(h)
  local postprocess = _G.Postprocess
  if type(postprocess) ~= "function" then
    error("the transform must define a global function Postprocess(arr)", 0)
  end
  local out = postprocess(wrap(h))
  if handles[out] == nil then
    if type(out) ~= "table" then
      error("Postprocess must return a Tensor, got " .. type(out), 0)
    end
    out = Tensor.new(out)
  end
  return handles[out]
end
""".replace("@HOOK_INTERVAL@", str(HOOK_INTERVAL))
