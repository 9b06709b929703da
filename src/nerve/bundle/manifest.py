"""``nerve_bundle.json``: what a built model directory is, and the SHA-256 of every file in it.

The same manifest sits in a ``.nerve`` archive and in the model directory embedded in a
``nerve build`` executable. It carries the encoderfile identity (name, version, model type),
the transform with its resolved output kind, and nerve's defaults (aggregation, server
limits), so whoever runs the model needs nothing but the directory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError

MANIFEST_FILE = "nerve_bundle.json"
FORMAT = 1
MODEL_TYPE = "token_classification"
TRANSFORM_OUTPUTS = ("logits", "probabilities")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class TransformSpec:
    """A Lua ``Postprocess`` and how its output is read (see ``nerve.transform.backend``)."""

    lua: str
    output: str  # "logits" | "probabilities", resolved at build time
    timeout_s: float = 5.0
    memory_mb: int = 256
    # encoderfile's ``lua_libs``: exactly the Lua libraries the script gets; None: nerve's
    # default set (math, string, table, utf8).
    lua_libs: list[str] | None = None


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    files: dict[str, str]  # file name (flat, no directories) → SHA-256 hex
    model_type: str = MODEL_TYPE
    precision: str = "float32"
    transform: TransformSpec | None = None
    # Defaults of the runtime: "aggregation" and ServerConfig fields (limits, threads).
    defaults: dict[str, Any] = field(default_factory=dict)
    nerve_version: str = ""
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ModelLoadError(f"{where}: {MANIFEST_FILE} is not valid JSON: {exc}") from None
        return _parse(data, where)


def _parse(data: object, where: str) -> Manifest:
    if not isinstance(data, dict):
        raise ModelLoadError(f"{where}: {MANIFEST_FILE} must hold a JSON object")
    if data.get("format") != FORMAT:
        raise ModelLoadError(
            f"{where}: {MANIFEST_FILE} has format {data.get('format')!r}; this nerve reads "
            f"format {FORMAT} (rebuild the bundle with this version of nerve)"
        )
    try:
        transform = data.get("transform")
        manifest = Manifest(
            **{
                **data,
                "transform": TransformSpec(**transform) if transform is not None else None,
            }
        )
    except TypeError as exc:  # a missing or unknown field
        raise ModelLoadError(f"{where}: {MANIFEST_FILE} is malformed: {exc}") from None
    _check_files(manifest.files, where)
    if manifest.transform is not None and manifest.transform.output not in TRANSFORM_OUTPUTS:
        raise ModelLoadError(
            f"{where}: transform output {manifest.transform.output!r} is not one of "
            f"{TRANSFORM_OUTPUTS}"
        )
    return manifest


def _check_files(files: object, where: str) -> None:
    if not isinstance(files, dict) or not files:
        raise ModelLoadError(f"{where}: {MANIFEST_FILE} lists no files")
    for name, digest in files.items():
        if not is_plain_name(name) or name == MANIFEST_FILE:
            raise ModelLoadError(f"{where}: {MANIFEST_FILE} lists an unsafe file name {name!r}")
        if not isinstance(digest, str) or len(digest) != 64:
            raise ModelLoadError(f"{where}: {MANIFEST_FILE} has a bad SHA-256 for {name!r}")


def is_plain_name(name: object) -> bool:
    """A file name with no directory part, so no member can land outside its directory."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_files(model_dir: Path, names: Iterable[str]) -> dict[str, str]:
    return {name: sha256_file(model_dir / name) for name in sorted(names)}


def read_manifest(model_dir: Path) -> Manifest | None:
    """The manifest of a built model directory, or None for an ordinary model directory."""
    path = Path(model_dir) / MANIFEST_FILE
    if not path.is_file():
        return None
    return Manifest.from_json(path.read_text(encoding="utf-8"), str(model_dir))


def write_manifest(model_dir: Path, manifest: Manifest) -> Path:
    path = Path(model_dir) / MANIFEST_FILE
    path.write_text(manifest.to_json(), encoding="utf-8")
    return path


def verify_files(model_dir: Path, files: Mapping[str, str]) -> None:
    """Every listed file is present with its recorded SHA-256."""
    for name, expected in files.items():
        path = Path(model_dir) / name
        if not path.is_file():
            raise ModelLoadError(f"{model_dir}: {name} is missing (listed in {MANIFEST_FILE})")
        if sha256_file(path) != expected:
            raise ModelLoadError(
                f"{model_dir}: {name} does not match its SHA-256 in {MANIFEST_FILE} "
                "(the file is corrupt or was changed)"
            )
