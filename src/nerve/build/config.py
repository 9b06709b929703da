"""The build config: encoderfile's YAML, read with encoderfile's meaning, plus nerve's
optional ``nerve:`` mapping.

```yaml
encoderfile:                      # encoderfile's keys (docs/build.md has the full table)
  name: ner-tagger                # model_id in responses; also the default file name
  version: "1.0.0"                # optional: encoderfile's default is 0.1.0
  path: ./ner-model               # a directory, or a mapping of files (see ModelFiles)
  model_type: token_classification
  output_path: ./build/ner-tagger # optional
  transform: |                    # optional Lua Postprocess(arr), or {path: file.lua}
    function Postprocess(arr) return arr:softmax(3) end
  lua_libs: [math, string]        # optional: the Lua libraries the transform gets
  tokenizer: {max_length: 256}    # optional: encoderfile's tokenizer overrides
  validate_transform: true        # optional
  cache_dir: ~/.cache/nerve       # optional: where the runtime executable is cached
  base_binary_path: ./runtime     # optional: a prebuilt nerve runtime executable
  target: x86_64-unknown-linux-gnu
nerve:                            # optional; nerve only (encoderfile never reads it)
  aggregation: word               # default strategy of `infer --format json` and the MCP tool
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

Like encoderfile, keys nerve does not know at the top level and under ``encoderfile:`` are
ignored — with a warning here, so a typo is still seen. Under ``nerve:`` (nerve's own
mapping) an unknown key is an error. Relative paths resolve from the working directory, as
in encoderfile; a path that exists only relative to the config file (how nerve used to
resolve them) is still found, with a deprecation notice.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..standalone.target import host_target
from ..transform.limits import MAX_MEMORY_MB as MAX_TRANSFORM_MEMORY_MB
from ..transform.limits import MAX_TIMEOUT_S as MAX_TRANSFORM_TIMEOUT_S
from ..types import DEFAULT_AGGREGATION, Aggregation
from .errors import BuildError

MODEL_TYPE = "token_classification"
# encoderfile's other model types: understood, refused with the reason.
OTHER_MODEL_TYPES = ("embedding", "sequence_classification", "sentence_embedding")
PRECISIONS = ("float32", "int8")
TRANSFORM_OUTPUTS = ("auto", "logits", "probabilities")
DEFAULT_VERSION = "0.1.0"  # encoderfile's default when `version` is missing

# The Lua libraries a transform may ask for. encoderfile's default set is table, string and
# math; nerve's default adds utf8. The others would break the sandbox: io/os/package/debug
# reach the host, and a coroutine runs outside the hook that enforces the time limit.
LUA_LIBS_ALLOWED = ("table", "string", "math", "utf8")
LUA_LIBS_REFUSED = {
    "io": "file access",
    "os": "process and file access",
    "package": "loading code from disk",
    "debug": "reaching outside the sandbox",
    "coroutine": "code that runs outside the transform's time limit",
}

_TOP_KEYS = ("encoderfile", "nerve")
_ENCODERFILE_KEYS = (
    "name",
    "version",
    "path",
    "model_type",
    "output_path",
    "cache_dir",
    "base_binary_path",
    "transform",
    "tokenizer",
    "lua_libs",
    "validate_transform",
    "target",
)
_PATH_KEYS = ("model_config_path", "model_weights_path", "tokenizer_path", "tokenizer_config_path")
_TOKENIZER_KEYS = ("pad_strategy", "truncation_side", "truncation_strategy", "max_length", "stride")
_TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second")
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
_BOM = "\ufeff"
# arch-vendor-os[-env], as in x86_64-unknown-linux-gnu or aarch64-apple-darwin.
_TARGET = re.compile(r"^[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+(-[a-z0-9_]+)?$")


@dataclass(frozen=True)
class NerveOptions:
    aggregation: str = DEFAULT_AGGREGATION.value
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
class ModelFiles:
    """``path:`` given as a mapping of files instead of a directory."""

    config: Path
    weights: Path
    tokenizer: Path
    tokenizer_config: Path | None = None


@dataclass(frozen=True)
class TokenizerSettings:
    """encoderfile's ``tokenizer:`` overrides (see ``nerve.build.tokenizer``)."""

    max_length: int | None = None
    pad_fixed: int | None = None  # pad_strategy {fixed: N}; None: batch_longest
    truncation_side: str | None = None
    truncation_strategy: str | None = None
    stride: int | None = None


@dataclass(frozen=True)
class BuildConfig:
    name: str
    version: str
    path: Path  # the model directory, absolute (for a file mapping: the weights' folder)
    output_path: Path | None  # absolute; None: decided by the command
    transform: str | None  # the Lua source (inline, or read from transform.path)
    nerve: NerveOptions
    source: Path  # the YAML file
    model_type: str = MODEL_TYPE
    files: ModelFiles | None = None
    lua_libs: tuple[str, ...] | None = None  # None: nerve's default set
    tokenizer: TokenizerSettings = field(default_factory=TokenizerSettings)
    validate_transform: bool = True
    cache_dir: Path | None = None
    base_binary_path: Path | None = None
    target: str | None = None
    # The file ``transform: {path: ...}`` was read from (None: inline or no transform): an
    # input the output must not overwrite.
    transform_path: Path | None = None
    # One line each: what nerve does instead of a key it cannot apply, unknown keys, and
    # deprecated path resolution. The build command prints them.
    notices: tuple[str, ...] = ()
    # The working directory relative paths were resolved from (`--directory`); the default
    # output goes there too.
    cwd: Path = field(default_factory=Path.cwd)


def load_config(path: Path, cwd: Path | None = None) -> BuildConfig:
    """Read and validate a build config file."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(f"cannot read the build config {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BuildError(
            f"cannot read the build config {path}: not UTF-8 (byte {exc.start}); save it as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 - a SafeLoader
    except _DuplicateKey as exc:
        raise BuildError(
            f"{path}: line {exc.line}: duplicate key {exc.key!r} (first at line {exc.first}); "
            "YAML would silently keep only the last one, so remove one of them"
        ) from None
    except yaml.YAMLError as exc:
        raise BuildError(f"{path} is not valid YAML: {exc}") from None
    return parse_config(data, path, cwd)


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


@functools.cache
def _unique_key_loader() -> type:
    """PyYAML's SafeLoader, refusing a key given twice in one mapping: plain PyYAML keeps the
    last one without a word, so `name: x` then `name: y` would build `y` silently."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # `<<: *base` then overriding a merged key is allowed
                    key = self.construct_object(key_node, deep=deep)
                    line = key_node.start_mark.line + 1
                    try:
                        if key in seen:
                            raise _DuplicateKey(key, line, seen[key])
                        seen[key] = line
                    except TypeError:
                        continue  # an unhashable key: SafeLoader reports it itself
            return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

    return UniqueKeyLoader


class _Reader:
    """Validation state for one file: where it is, how relative paths resolve, notices."""

    def __init__(self, source: Path, cwd: Path | None) -> None:
        self.where = str(source)
        self.cwd = (cwd or Path.cwd()).absolute()
        self.base = source.parent.absolute()
        self.notices: list[str] = []

    def error(self, message: str) -> BuildError:
        return BuildError(f"{self.where}: {message}")

    def existing_path(self, value: object, what: str) -> Path:
        """A path that should exist: from the working directory (encoderfile's rule), else
        from the config's folder (nerve's old rule) with a deprecation notice."""
        raw = Path(_string(value, self.where, what)).expanduser()
        if raw.is_absolute():
            return raw
        from_cwd = self.cwd / raw
        from_file = self.base / raw
        if not from_cwd.exists() and from_file.exists() and from_file != from_cwd:
            self.notices.append(
                f"{what}: {raw} is not in the working directory {self.cwd}; using "
                f"{from_file} (relative to the config file: deprecated, encoderfile resolves "
                "from the working directory)"
            )
            return from_file
        return from_cwd

    def new_path(self, value: object, what: str) -> Path:
        """A path the build creates: from the working directory, as in encoderfile."""
        raw = Path(_string(value, self.where, what)).expanduser()
        if raw.is_absolute():
            return raw
        if self.base != self.cwd:
            self.notices.append(
                f"{what}: {raw} resolves from the working directory ({self.cwd / raw}), as in "
                f"encoderfile; nerve used to resolve it from the config's folder ({self.base})"
            )
        return self.cwd / raw


def parse_config(data: object, source: Path, cwd: Path | None = None) -> BuildConfig:
    r = _Reader(Path(source), cwd)
    where = r.where
    top = _mapping(data, where, "the file")
    _warn_unknown(top, _TOP_KEYS, r, "the top level")
    if "encoderfile" not in top:
        raise r.error("missing the `encoderfile:` mapping")
    enc = _mapping(top["encoderfile"], where, "encoderfile")
    _warn_unknown(enc, _ENCODERFILE_KEYS, r, "encoderfile")
    name = _name(_required(enc, "name", where), where)
    model_type = _string(_required(enc, "model_type", where), where, "encoderfile.model_type")
    if model_type != MODEL_TYPE:
        known = (MODEL_TYPE, *OTHER_MODEL_TYPES)
        if model_type not in known:
            raise r.error(f"encoderfile.model_type {model_type!r} is not one of {list(known)}")
        raise r.error(
            f"encoderfile.model_type is {model_type!r}; nerve builds only {MODEL_TYPE!r} "
            "models (it is a named-entity engine)"
        )
    path, files = _model_path(_required(enc, "path", where), r)
    output = enc.get("output_path")
    transform, transform_path = _transform(enc.get("transform"), r)
    lua_libs = _lua_libs(enc.get("lua_libs"), r)
    if lua_libs is not None and transform is None:
        r.notices.append("encoderfile.lua_libs is set but there is no transform: nothing uses it")
    validate = enc.get("validate_transform", True)
    if not isinstance(validate, bool):
        raise r.error(f"encoderfile.validate_transform must be true or false, got {validate!r}")
    return BuildConfig(
        name=name,
        version=_version(enc.get("version"), where),
        path=path,
        output_path=None if output is None else r.new_path(output, "encoderfile.output_path"),
        transform=transform,
        nerve=_nerve(top.get("nerve"), where, r),
        source=Path(source),
        files=files,
        lua_libs=lua_libs,
        tokenizer=_tokenizer(enc.get("tokenizer"), r),
        validate_transform=validate,
        cache_dir=None
        if enc.get("cache_dir") is None
        else r.new_path(enc["cache_dir"], "encoderfile.cache_dir"),
        base_binary_path=None
        if enc.get("base_binary_path") is None
        else r.existing_path(enc["base_binary_path"], "encoderfile.base_binary_path"),
        target=_target(enc.get("target"), r),
        transform_path=transform_path,
        notices=tuple(r.notices),
        cwd=r.cwd,
    )


# -- encoderfile keys -------------------------------------------------------------------------
def _model_path(value: object, r: _Reader) -> tuple[Path, ModelFiles | None]:
    if not isinstance(value, dict):
        return r.existing_path(value, "encoderfile.path"), None
    _warn_unknown(value, _PATH_KEYS, r, "encoderfile.path")
    required = _PATH_KEYS[:3]
    missing = [k for k in required if value.get(k) is None]
    if missing:
        raise r.error(
            f"encoderfile.path is a mapping of files but lacks {', '.join(missing)} "
            f"(it needs {', '.join(required)}; tokenizer_config_path is optional)"
        )
    paths = {k: r.existing_path(value[k], f"encoderfile.path.{k}") for k in required}
    tok_config = value.get("tokenizer_config_path")
    files = ModelFiles(
        config=paths["model_config_path"],
        weights=paths["model_weights_path"],
        tokenizer=paths["tokenizer_path"],
        tokenizer_config=None
        if tok_config is None
        else r.existing_path(tok_config, "encoderfile.path.tokenizer_config_path"),
    )
    return files.weights.parent, files


def _transform(value: object, r: _Reader) -> tuple[str | None, Path | None]:
    """The transform's Lua source, and the file it was read from (None: inline)."""
    if value is None:
        return None, None
    path: Path | None = None
    if isinstance(value, dict):
        _warn_unknown(value, ("path",), r, "encoderfile.transform")
        if value.get("path") is None:
            raise r.error("encoderfile.transform is a mapping without `path` (the Lua file)")
        path = r.existing_path(value["path"], "encoderfile.transform.path")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise r.error(
                f"cannot read encoderfile.transform.path {path}: {exc.strerror or exc}"
            ) from None
        except UnicodeDecodeError as exc:
            raise r.error(
                f"cannot read encoderfile.transform.path {path}: not UTF-8 (byte {exc.start}); "
                "save it as UTF-8"
            ) from None
    else:
        text = _string(value, r.where, "encoderfile.transform")
    # Editors on Windows save UTF-8 with a byte-order mark; Lua would read it as a stray
    # symbol before the first statement. (str.strip() keeps it: it is not whitespace.)
    text = text.removeprefix(_BOM)
    # encoderfile trims the script; an empty one is no transform there, an error here.
    text = text.strip()
    if not text:
        raise r.error("encoderfile.transform is empty")
    return text, path


def _lua_libs(value: object, r: _Reader) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise r.error(f"encoderfile.lua_libs must be a list of library names, got {value!r}")
    libs: list[str] = []
    for lib in value:
        if lib in LUA_LIBS_REFUSED:
            raise r.error(
                f"encoderfile.lua_libs: nerve does not give transforms the {lib!r} library "
                f"({LUA_LIBS_REFUSED[lib]} would defeat the sandbox); allowed: "
                f"{', '.join(LUA_LIBS_ALLOWED)}"
            )
        if lib not in LUA_LIBS_ALLOWED:
            known = [*LUA_LIBS_ALLOWED, *LUA_LIBS_REFUSED]
            raise r.error(f"encoderfile.lua_libs: unknown library {lib!r}; known: {known}")
        if lib not in libs:
            libs.append(lib)
    return tuple(libs)


def _tokenizer(value: object, r: _Reader) -> TokenizerSettings:
    if value is None:
        return TokenizerSettings()
    tok = _mapping(value, r.where, "encoderfile.tokenizer")
    _warn_unknown(tok, _TOKENIZER_KEYS, r, "encoderfile.tokenizer")
    side = tok.get("truncation_side")
    if side is not None and side not in ("left", "right"):
        raise r.error(f"encoderfile.tokenizer.truncation_side must be left or right, got {side!r}")
    strategy = tok.get("truncation_strategy")
    if strategy is not None and strategy not in _TRUNCATION_STRATEGIES:
        raise r.error(
            f"encoderfile.tokenizer.truncation_strategy {strategy!r} is not one of "
            f"{list(_TRUNCATION_STRATEGIES)}"
        )
    return TokenizerSettings(
        max_length=_optional_int(tok.get("max_length"), r, "encoderfile.tokenizer.max_length"),
        pad_fixed=_pad_fixed(tok.get("pad_strategy"), r),
        truncation_side=side,
        truncation_strategy=strategy,
        stride=_optional_int(tok.get("stride"), r, "encoderfile.tokenizer.stride", minimum=0),
    )


def _pad_fixed(value: object, r: _Reader) -> int | None:
    if value is None or value == "batch_longest":
        return None
    if isinstance(value, dict) and set(value) == {"fixed"}:
        return _optional_int(value["fixed"], r, "encoderfile.tokenizer.pad_strategy.fixed")
    raise r.error(
        f"encoderfile.tokenizer.pad_strategy must be batch_longest or {{fixed: N}}, got {value!r}"
    )


def _target(value: object, r: _Reader) -> str | None:
    if value is None:
        return None
    target = _string(value, r.where, "encoderfile.target")
    notice = target_notice(target, "encoderfile.target")
    if notice is None:
        raise r.error(
            f"encoderfile.target {target!r} is not a target triple such as x86_64-unknown-linux-gnu"
        )
    if notice:
        r.notices.append(notice)
    return target


def target_notice(target: str, what: str) -> str | None:
    """None: not a target triple; "": this machine; else the notice for a foreign target."""
    if not _TARGET.match(target):
        return None
    host = host_target()
    if target == host:
        return ""
    return (
        f"{what} is {target}; nerve builds for the machine it runs on ({host}) — build on a "
        f"{target} machine for that platform (a --bundle-only .nerve file runs anywhere)"
    )


# -- nerve: -----------------------------------------------------------------------------------
def _nerve(data: object, where: str, r: _Reader) -> NerveOptions:
    if data is None:
        return NerveOptions()
    opts = _mapping(data, where, "nerve")
    _known(opts, _NERVE_KEYS, where, "nerve")
    aggregation = _string(
        opts.get("aggregation", DEFAULT_AGGREGATION.value), where, "nerve.aggregation"
    )
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
    timeout = _number(
        opts.get("transform_timeout", 5.0),
        where,
        "nerve.transform_timeout",
        maximum=MAX_TRANSFORM_TIMEOUT_S,
        unit="seconds",
    )
    memory = _positive_int(
        opts.get("transform_memory_mb", 256),
        where,
        "nerve.transform_memory_mb",
        maximum=MAX_TRANSFORM_MEMORY_MB,
        unit="MiB",
    )
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
        patterns=None if patterns is None else r.existing_path(patterns, "nerve.patterns"),
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


def _warn_unknown(
    mapping: Mapping[str, Any], known: tuple[str, ...], r: _Reader, what: str
) -> None:
    """encoderfile ignores keys it does not know; nerve ignores them too, but says so."""
    unknown = sorted(str(k) for k in mapping if k not in known)
    if unknown:
        r.notices.append(
            f"warning: ignoring unknown key(s) {unknown} in {what} (known: {', '.join(known)})"
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
    # encoderfile takes any string (spaces included); nerve refuses only what cannot be a
    # file name: a path separator or a control character.
    name = _string(value, where, "encoderfile.name")
    if len(name) > 128 or any(c in name for c in "/\\") or not name.isprintable():
        raise BuildError(
            f"{where}: encoderfile.name {name!r} must be at most 128 printable characters "
            "without '/' or '\\' (it names the executable and is the model_id)"
        )
    if name.strip() != name or name in (".", ".."):
        raise BuildError(
            f"{where}: encoderfile.name {name!r} must not start or end with a space, or be "
            "'.' or '..' (it names the executable)"
        )
    return name


def _version(value: object, where: str) -> str:
    if value is None:
        return DEFAULT_VERSION
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise BuildError(
            f'{where}: encoderfile.version must be a string; quote it: version: "{value}"'
        )
    return _string(value, where, "encoderfile.version")


def _optional_int(value: object, r: _Reader, what: str, minimum: int = 1) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise r.error(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


def _number(
    value: object, where: str, what: str, maximum: float | None = None, unit: str = ""
) -> float:
    # `not 0 < x < inf` also refuses NaN (it compares false with everything); `.inf` or a
    # huge number would overflow the timers and polls that take the value.
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < math.inf
        or (maximum is not None and value > maximum)
    ):
        bound = "" if maximum is None else f" at most {maximum:,}{' ' + unit if unit else ''}"
        raise BuildError(f"{where}: {what} must be a positive number{bound}, got {value!r}")
    return float(value)


def _positive_int(
    value: object, where: str, what: str, maximum: int | None = None, unit: str = ""
) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < 1
        or (maximum is not None and value > maximum)
    ):
        bound = "" if maximum is None else f" at most {maximum:,}{' ' + unit if unit else ''}"
        raise BuildError(f"{where}: {what} must be a positive integer{bound}, got {value!r}")
    return value


def _yaml_type(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )
