"""The build config: encoderfile's YAML, plus nerve's optional ``nerve:`` mapping.

```yaml
encoderfile:                      # encoderfile's keys, unchanged
  name: ner-tagger                # model_id in responses; also the default file name
  version: "1.0.0"
  path: ./ner-model               # HF safetensors dir or ONNX export (relative to this file)
  model_type: token_classification
  output_path: ./build/ner-tagger # optional (relative to this file)
  transform: |                    # optional Lua Postprocess(arr)
    function Postprocess(arr) return arr:softmax(3) end
nerve:                            # optional; nerve only (encoderfile never reads it)
  aggregation: simple             # default strategy of `infer --format json` and the MCP tool
  precision: float32              # float32 | int8 (int8: quantized on export / checked for ONNX)
  transform_output: auto          # auto | logits | probabilities (see docs/build.md)
  transform_timeout: 5            # seconds per call
  transform_memory_mb: 256
  threads: 2                      # model threads of the executable (default: all cores)
  patterns: ./patterns.jsonl      # entity patterns (docs/patterns.md), shipped in the bundle
  patterns_overlap: rules         # rules | model | longest
  patterns_ignore_case: false     # default of pattern lines without "ignore_case"
  limits:                         # defaults of `serve` (its flags and NERVE_* win)
    max_batch_tokens: 16384
    max_concurrent_requests: 512
    max_client_batch_size: 32
    max_input_chars: 100000
    max_body_bytes: 8388608
    request_timeout: 60
    strict_length: false
```

Unknown keys are errors at every level: a typo must not silently build something else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..types import Aggregation
from .errors import BuildError

MODEL_TYPE = "token_classification"
PRECISIONS = ("float32", "int8")
TRANSFORM_OUTPUTS = ("auto", "logits", "probabilities")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

_TOP_KEYS = ("encoderfile", "nerve")
_ENCODERFILE_KEYS = ("name", "version", "path", "model_type", "output_path", "transform")
_NERVE_KEYS = (
    "aggregation",
    "precision",
    "transform_output",
    "transform_timeout",
    "transform_memory_mb",
    "threads",
    "limits",
    "patterns",
    "patterns_overlap",
    "patterns_ignore_case",
)
# ServerConfig fields a build may set defaults for, with their types.
LIMIT_KEYS: dict[str, tuple[type, ...]] = {
    "max_batch_tokens": (int,),
    "max_concurrent_requests": (int,),
    "max_client_batch_size": (int,),
    "max_input_chars": (int,),
    "max_body_bytes": (int,),
    "request_timeout": (int, float),
    "strict_length": (bool,),
}


@dataclass(frozen=True)
class NerveOptions:
    aggregation: str = "simple"
    precision: str | None = None  # None: float32 on export, whatever an ONNX dir holds
    transform_output: str = "auto"
    transform_timeout: float = 5.0
    transform_memory_mb: int = 256
    threads: int | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    patterns: Path | None = None  # absolute
    patterns_overlap: str = "rules"
    patterns_ignore_case: bool = False


@dataclass(frozen=True)
class BuildConfig:
    name: str
    version: str
    path: Path  # the model directory, absolute
    output_path: Path | None  # absolute; None: decided by the command
    transform: str | None
    nerve: NerveOptions
    source: Path  # the YAML file
    model_type: str = MODEL_TYPE


def load_config(path: Path) -> BuildConfig:
    """Read and validate a build config file."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(f"cannot read the build config {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BuildError(f"{path} is not valid YAML: {exc}") from None
    return parse_config(data, path)


def parse_config(data: object, source: Path) -> BuildConfig:
    where = str(source)
    top = _mapping(data, where, "the file")
    _known(top, _TOP_KEYS, where, "the top level")
    if "encoderfile" not in top:
        raise BuildError(f"{where}: missing the `encoderfile:` mapping")
    enc = _mapping(top["encoderfile"], where, "encoderfile")
    _known(enc, _ENCODERFILE_KEYS, where, "encoderfile")
    base = source.parent.resolve()
    name = _name(_required(enc, "name", where), where)
    model_type = _string(_required(enc, "model_type", where), where, "encoderfile.model_type")
    if model_type != MODEL_TYPE:
        raise BuildError(
            f"{where}: encoderfile.model_type is {model_type!r}; nerve builds only "
            f"{MODEL_TYPE!r} models"
        )
    output = enc.get("output_path")
    transform = enc.get("transform")
    if transform is not None:
        transform = _string(transform, where, "encoderfile.transform")
    return BuildConfig(
        name=name,
        version=_version(_required(enc, "version", where), where),
        path=base / _string(_required(enc, "path", where), where, "encoderfile.path"),
        output_path=None
        if output is None
        else base / _string(output, where, "encoderfile.output_path"),
        transform=transform,
        nerve=_nerve(top.get("nerve"), where, base),
        source=source,
    )


def _nerve(data: object, where: str, base: Path) -> NerveOptions:
    if data is None:
        return NerveOptions()
    opts = _mapping(data, where, "nerve")
    _known(opts, _NERVE_KEYS, where, "nerve")
    aggregation = _string(opts.get("aggregation", "simple"), where, "nerve.aggregation")
    valid = [a.value for a in Aggregation]
    if aggregation.lower() not in valid:
        raise BuildError(f"{where}: nerve.aggregation {aggregation!r} is not one of {valid}")
    precision = opts.get("precision")
    if precision is not None and precision not in PRECISIONS:
        raise BuildError(f"{where}: nerve.precision {precision!r} is not one of {PRECISIONS}")
    output = opts.get("transform_output", "auto")
    if output not in TRANSFORM_OUTPUTS:
        raise BuildError(
            f"{where}: nerve.transform_output {output!r} is not one of {TRANSFORM_OUTPUTS}"
        )
    timeout = _number(opts.get("transform_timeout", 5.0), where, "nerve.transform_timeout")
    memory = _positive_int(opts.get("transform_memory_mb", 256), where, "nerve.transform_memory_mb")
    threads = opts.get("threads")
    patterns = opts.get("patterns")
    overlap = opts.get("patterns_overlap", "rules")
    from ..patterns import OVERLAP_POLICIES

    if overlap not in OVERLAP_POLICIES:
        raise BuildError(
            f"{where}: nerve.patterns_overlap {overlap!r} is not one of {OVERLAP_POLICIES}"
        )
    ignore_case = opts.get("patterns_ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise BuildError(f"{where}: nerve.patterns_ignore_case must be true or false")
    return NerveOptions(
        aggregation=aggregation.lower(),
        precision=precision,
        transform_output=output,
        transform_timeout=timeout,
        transform_memory_mb=memory,
        threads=None if threads is None else _positive_int(threads, where, "nerve.threads"),
        limits=_limits(opts.get("limits"), where),
        patterns=None if patterns is None else base / _string(patterns, where, "nerve.patterns"),
        patterns_overlap=overlap,
        patterns_ignore_case=ignore_case,
    )


def _limits(data: object, where: str) -> dict[str, Any]:
    if data is None:
        return {}
    limits = dict(_mapping(data, where, "nerve.limits"))
    _known(limits, tuple(LIMIT_KEYS), where, "nerve.limits")
    for key, value in limits.items():
        types = LIMIT_KEYS[key]
        if isinstance(value, bool) != (bool in types) or not isinstance(value, types):
            kind = "true or false" if bool in types else "a number"
            raise BuildError(f"{where}: nerve.limits.{key} must be {kind}, got {value!r}")
    # The server validates its own settings; building one now reports a bad value at build
    # time instead of when the executable starts.
    from ..errors import InvalidInput
    from ..server.config import ServerConfig

    try:
        ServerConfig(**limits)
    except InvalidInput as exc:
        raise BuildError(f"{where}: nerve.limits: {exc.message}") from None
    return limits


# -- field readers ----------------------------------------------------------------------------
def _mapping(value: object, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BuildError(f"{where}: {what} must be a mapping, got {_yaml_type(value)}")
    return value


def _known(mapping: Mapping[str, Any], known: tuple[str, ...], where: str, what: str) -> None:
    unknown = sorted(str(k) for k in mapping if k not in known)
    if unknown:
        raise BuildError(
            f"{where}: unknown key(s) {unknown} in {what}; known keys: {', '.join(known)}"
        )


def _required(mapping: Mapping[str, Any], key: str, where: str) -> object:
    if mapping.get(key) is None:
        raise BuildError(f"{where}: encoderfile.{key} is required")
    return mapping[key]


def _string(value: object, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BuildError(f"{where}: {what} must be a non-empty string, got {_yaml_type(value)}")
    return value


def _name(value: object, where: str) -> str:
    name = _string(value, where, "encoderfile.name")
    if not _NAME.match(name):
        raise BuildError(
            f"{where}: encoderfile.name {name!r} must be 1-128 letters, digits, '.', '_' or "
            "'-' (it names the executable and is the model_id)"
        )
    return name


def _version(value: object, where: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise BuildError(
            f'{where}: encoderfile.version must be a string; quote it: version: "{value}"'
        )
    return _string(value, where, "encoderfile.version")


def _number(value: object, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise BuildError(f"{where}: {what} must be a positive number, got {value!r}")
    return float(value)


def _positive_int(value: object, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BuildError(f"{where}: {what} must be a positive integer, got {value!r}")
    return value


def _yaml_type(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )
