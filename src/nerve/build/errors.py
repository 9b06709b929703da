"""The error ``nerve build`` stops with (bad config, unusable model, failed compile)."""

from __future__ import annotations

from ..errors import NerveError


class BuildError(NerveError):
    code = "build_error"
