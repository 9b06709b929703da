"""encoderfile-compatible Lua transforms over logits, run in a sandboxed Lua 5.4 (lupa).

``nerve.transform.lua.LuaTransform(source)(logits)`` runs ``Postprocess(arr)``;
``TransformBackend`` applies a transform inside any backend; ``with_model_transform`` applies
the one a built model declares. Running Lua needs lupa (the ``build`` extra); importing this
package does not, so plain models load without it.
"""

from __future__ import annotations

from .backend import (
    TransformBackend,
    compile_transform,
    is_distribution,
    probabilities_to_logits,
    with_model_transform,
)
from .errors import TransformError
from .limits import TransformLimits

__all__ = [
    "TransformBackend",
    "TransformError",
    "TransformLimits",
    "compile_transform",
    "is_distribution",
    "probabilities_to_logits",
    "with_model_transform",
]
