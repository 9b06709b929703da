"""The one error a transform raises, whatever went wrong inside it."""

from __future__ import annotations

from ..errors import NerveError


class TransformError(NerveError):
    """A Lua transform failed to compile, raised, ran over a limit or returned a bad tensor.

    At build time it stops the build; at run time it fails the batch it ran on (the server's
    model worker turns it into a 500 for those requests and keeps serving).
    """

    code = "transform_error"


def require_script(source: object) -> str:
    """``source`` if it is a non-blank Lua script; otherwise the transform's error.

    Checked where a transform is made, in the server (``LuaTransform``) and in its worker
    process (``LocalTransform``), so both refuse the same input with the same message.
    """
    if not isinstance(source, str) or not source.strip():
        raise TransformError("the transform is empty; give a Lua script or leave it out")
    return source
