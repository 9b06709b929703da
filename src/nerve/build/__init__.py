"""``nerve build``: an encoderfile YAML config → one self-contained executable (PyInstaller)
or one ``.nerve`` archive. Needs the ``build`` extra (pyinstaller, lupa); building from
safetensors also needs the ``export`` extra."""

from __future__ import annotations

from .config import BuildConfig, NerveOptions, load_config, parse_config
from .errors import BuildError
from .pipeline import BuildResult, build, output_path

__all__ = [
    "BuildConfig",
    "BuildError",
    "BuildResult",
    "NerveOptions",
    "build",
    "load_config",
    "output_path",
    "parse_config",
]
