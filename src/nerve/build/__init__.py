"""``nerve build``: an encoderfile YAML config → one self-contained executable (PyInstaller)
or one ``.nerve`` archive. Needs the ``build`` extra (pyinstaller, lupa); building from
safetensors also needs the ``export`` extra."""

from __future__ import annotations

from .api import EncoderfileBuilder, build_from_config, read_metadata
from .config import BuildConfig, NerveOptions, load_config, parse_config
from .errors import BuildError
from .pipeline import BuildResult, build, output_path

__all__ = [
    "BuildConfig",
    "BuildError",
    "BuildResult",
    "EncoderfileBuilder",
    "NerveOptions",
    "build",
    "build_from_config",
    "load_config",
    "output_path",
    "parse_config",
    "read_metadata",
]
