"""One error hierarchy for the whole of nerve.

Every error carries a stable machine-readable ``code``; the server maps codes to HTTP and
gRPC statuses in one place, the CLI prints ``message`` and exits non-zero.
"""

from __future__ import annotations


class NerveError(Exception):
    """Base class: ``code`` is stable and documented, ``message`` is for humans."""

    code = "nerve_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(NerveError):
    """The caller sent something nerve cannot process (wrong type, unknown option...)."""

    code = "invalid_input"


class InputTooLong(InvalidInput):
    """A text exceeds the model window and neither truncation nor windows are allowed.

    Raised with the facts only; the surface that turned windows off adds what its caller can
    do about it (``with_advice``), since that differs: a keyword argument, a request field,
    a server flag."""

    code = "input_too_long"

    def with_advice(self, advice: str) -> InputTooLong:
        return InputTooLong(f"{self.message}; {advice}")


class ModelLoadError(NerveError):
    """A model directory, file or id cannot be loaded (missing file, bad shapes, unsafe format)."""

    code = "model_load_error"


class UnsupportedArchitecture(ModelLoadError):
    code = "unsupported_architecture"


class DataError(NerveError):
    """A data file (CoNLL, JSONL, text) is malformed; the message names file and line."""

    code = "data_error"


class Overloaded(NerveError):
    """The request queue is full; retry later."""

    code = "overloaded"


class MissingExtra(NerveError):
    """An optional dependency is needed for this feature."""

    code = "missing_extra"

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the '{package}' package: install it with "
            f"`pip install 'nerve[{extra}]'`"
        )


class OutputError(NerveError):
    """An output path cannot be written (missing directory, a directory, no permission)."""

    code = "output_error"


class HostPoolError(NerveError):
    """A ``nerve.hostpool`` worker process failed or stopped (bad inputs raise their own
    errors, as in the engine)."""

    code = "host_pool_error"
