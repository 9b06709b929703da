"""The Python builder API, shaped like encoderfile's (``EncoderfileBuilder``,
``build_from_config``, ``read_metadata``), over ``nerve build``'s config and pipeline."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..bundle.archive import bundle_manifest, read_member
from .config import BuildConfig, load_config, parse_config
from .errors import BuildError
from .pipeline import BuildResult, build

Say = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class EncoderfileBuilder:
    """Build an executable (or a ``.nerve`` bundle) from encoderfile's config keys.

    ``EncoderfileBuilder(name=..., model_type="token_classification", path=...)`` takes the
    keys of the YAML ``encoderfile:`` mapping as arguments (``nerve`` takes the ``nerve:``
    mapping); ``EncoderfileBuilder.from_config(path)`` reads a YAML file. Relative paths
    resolve from the working directory, as in the YAML.
    """

    def __init__(
        self,
        *,
        name: str,
        model_type: str,
        path: str | Path | Mapping[str, str],
        version: str | None = None,
        output_path: str | Path | None = None,
        cache_dir: str | Path | None = None,
        base_binary_path: str | Path | None = None,
        transform: str | Mapping[str, str] | None = None,
        lua_libs: list[str] | None = None,
        tokenizer: Mapping[str, Any] | None = None,
        validate_transform: bool = True,
        target: str | None = None,
        nerve: Mapping[str, Any] | None = None,
    ) -> None:
        keys: dict[str, Any] = {
            "name": name,
            "model_type": model_type,
            "path": dict(path) if isinstance(path, Mapping) else str(path),
            "version": version,
            "output_path": None if output_path is None else str(output_path),
            "cache_dir": None if cache_dir is None else str(cache_dir),
            "base_binary_path": None if base_binary_path is None else str(base_binary_path),
            "transform": dict(transform) if isinstance(transform, Mapping) else transform,
            "lua_libs": lua_libs,
            "tokenizer": None if tokenizer is None else dict(tokenizer),
            "validate_transform": validate_transform,
            "target": target,
        }
        data: dict[str, Any] = {"encoderfile": {k: v for k, v in keys.items() if v is not None}}
        if nerve is not None:
            data["nerve"] = dict(nerve)
        self.config = parse_config(data, Path("<EncoderfileBuilder>"))

    @classmethod
    def from_config(cls, config_path: str | Path) -> EncoderfileBuilder:
        builder = cls.__new__(cls)
        builder.config = load_config(Path(config_path))
        return builder

    def build(
        self,
        workdir: str | Path | None = None,
        version: str | None = None,
        no_download: bool = False,
        *,
        bundle_only: bool = False,
        say: Say = _stderr,
    ) -> BuildResult:
        """Write the executable (``bundle_only``: the ``.nerve`` archive).

        ``workdir`` is accepted for encoderfile's signature (nerve's intermediate files go to
        a temporary directory); ``version`` is the runtime version, which must be this
        nerve's; ``no_download`` changes nothing (nerve never downloads).
        """
        del workdir, no_download
        check_runtime_version(version)
        return build(self.config, bundle_only=bundle_only, say=say)


def check_runtime_version(version: str | None) -> None:
    if version is not None and version != __version__:
        raise BuildError(
            f"runtime version {version} requested; this nerve builds with its own runtime "
            f"({__version__}) — install nerve=={version} to build with that one"
        )


def build_from_config(
    config_path: str | Path,
    *,
    output_path: str | Path | None = None,
    bundle_only: bool = False,
    say: Say = _stderr,
) -> BuildResult:
    """``nerve build -f config_path [-o output_path] [--bundle-only]`` as a function."""
    config: BuildConfig = load_config(Path(config_path))
    if output_path is not None:
        config = dataclasses.replace(config, output_path=Path(output_path).absolute())
    return build(config, bundle_only=bundle_only, say=say)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """What a built executable or ``.nerve`` bundle holds, without running or extracting it:
    ``encoderfile_config`` (name, version, model_type, transform, lua_libs), ``model_config``
    (id2label) and nerve's full manifest."""
    import json
    import zipfile

    from ..bundle.appended import SliceFile, find_appended

    path = Path(path)
    manifest = bundle_manifest(path)
    appended = find_appended(path)
    source = SliceFile(path, *appended) if appended is not None else path
    with zipfile.ZipFile(source) as archive:
        model_config = json.loads(read_member(archive, "config.json", path))
    id2label = model_config.get("id2label") or {}
    transform = manifest.transform
    return {
        "encoderfile_config": {
            "name": manifest.name,
            "version": manifest.version,
            "model_type": manifest.model_type,
            "transform": None if transform is None else transform.lua,
            "lua_libs": None if transform is None else transform.lua_libs,
        },
        "model_config": {
            "model_type": model_config.get("model_type"),
            "num_labels": len(id2label),
            "id2label": {str(k): v for k, v in id2label.items()},
        },
        "nerve": dataclasses.asdict(manifest),
    }
