"""The one error a transform raises, whatever went wrong inside it."""

from __future__ import annotations

from ..errors import NerveError


class TransformError(NerveError):
    """A Lua transform failed to compile, raised, ran over a limit or returned a bad tensor.

    At build time it stops the build; at run time it fails the batch it ran on (the server's
    model worker turns it into a 500 for those requests and keeps serving).
    """

    code = "transform_error"
