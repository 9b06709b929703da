"""Export a safetensors model directory to a complete ONNX model directory.

Pipeline (each stage writes its own file, the last one becomes ``model.onnx``):

1. trace nerve's encoder (in the fusion-friendly form of ``export_module``) with the
   TorchScript exporter — its graphs are the ones ONNX Runtime's transformer optimizer was
   written against, and it needs no extra dependency;
2. with ``optimize=True``, fuse offline with ``onnxruntime.transformers.optimizer``
   (Attention, EmbedLayerNormalization, SkipLayerNormalization, BiasGelu);
3. with ``quantize="int8"``, quantize weights to int8 (dynamic quantization, embeddings
   included, classifier head kept in float);
4. check the result against the torch module on a padded probe batch.

Offline fusion is off by default because it measured *slower* on CPU with ONNX Runtime 1.31:
ORT's CPU Attention/QAttention kernels lose to the plain MatMul/Softmax graph that ORT itself
optimises at load time (MiniLM-L6 shapes: -12% fp32, -25% int8; BERT-base shapes: -7%, -25%).
The fused graph is still useful for GPU execution providers, hence the option.

The inputs and output match ``optimum-cli export onnx --task token-classification``, and the
tokenizer/config files are copied alongside, so the directory loads in nerve, optimum or any
ONNX Runtime client. Everything is built in a hidden sibling directory and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInput, MissingExtra, ModelLoadError, NerveError
from ..io.atomic import fresh_sibling_dir
from ..io.companions import copy_companions
from ..io.destination import check_creatable
from ..model.spec import ModelSpec, read_spec
from .graph_passes import QUANTIZED_OPS, _onnx, optimize_graph, quantize_int8

if TYPE_CHECKING:
    import torch

    from ..encoder.modules import TokenClassifier

MODEL_FILE = "model.onnx"
METADATA_FILE = "nerve_export.json"
QUANTIZATIONS = ("int8",)
MIN_OPSET, MAX_OPSET = 14, 20  # 14: the ops the graph uses; 20: the TorchScript exporter's max
# Files that make the directory a loadable model besides the graph (present ones are copied).
COMPANION_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
)
# Protobuf cannot serialise a model over 2 GiB: above this many weight bytes (XLM-R large in
# float32) the graph is saved as model.onnx + model.onnx.data.
EXTERNAL_DATA_BYTES = 1_800_000_000
_PROBE_SEQ = 16


class ExportError(NerveError):
    """The export pipeline produced a graph that is wrong or could not be written."""

    code = "export_error"


@dataclass(frozen=True)
class ExportReport:
    """What ``export_onnx`` produced; ``sizes`` maps each stage to its file size in bytes."""

    out_dir: Path
    source: Path
    architecture: str
    opset: int
    inputs: tuple[str, ...]
    quantization: str | None
    optimized: bool
    fusions: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    max_abs_diff: float = 0.0  # final graph vs nerve's torch module, non-padding positions
    argmax_agreement: float = 1.0  # fraction of non-padding probe tokens with the same label
    onnxruntime_version: str = ""

    @property
    def model_path(self) -> Path:
        return self.out_dir / MODEL_FILE

    @property
    def size_bytes(self) -> int:
        """Bytes of the shipped graph (``model.onnx`` plus external data, if any)."""
        return sum(p.stat().st_size for p in self.out_dir.glob(MODEL_FILE + "*"))

    def summary(self) -> str:
        fused = ", ".join(f"{op}×{n}" for op, n in self.fusions.items()) or "none"
        if not self.optimized:
            fused = "at load time"
        return (
            f"{self.model_path}: {self.size_bytes / 1e6:.1f} MB, opset {self.opset}, "
            f"quantization {self.quantization or 'none'}, fusions {fused}, "
            f"max |Δlogit| {self.max_abs_diff:.2g}, argmax agreement {self.argmax_agreement:.1%}"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["source"] = str(self.source)
        data["inputs"] = list(self.inputs)
        return data


# ---------------------------------------------------------------------------------------------
# Entry point


def export_onnx(
    model_dir: Path,
    out_dir: Path,
    *,
    quantize: str | None = None,
    opset: int = 17,
    optimize: bool = False,
    overwrite: bool = False,
) -> ExportReport:
    """Export ``model_dir`` (config.json + model.safetensors + tokenizer.json) to ``out_dir``.

    ``quantize="int8"`` quantizes weights (embeddings included) to int8 with dynamic uint8
    activations; ``optimize`` applies ONNX Runtime's BERT fusions offline, before quantizing
    (slower on CPU, see the module docstring).
    Raises ``ModelLoadError`` for an unusable source, ``InvalidInput`` for bad options or an
    occupied ``out_dir`` and ``ExportError`` if the exported graph disagrees with torch.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    _check_options(quantize, opset)
    spec = _check_source(model_dir)
    _check_out_dir(model_dir, out_dir, overwrite)
    model = _load_torch_model(model_dir, spec)
    if optimize and not isinstance(model, _bert_family_module()):
        raise InvalidInput(
            f"--optimize applies ONNX Runtime's BERT fusions, which {spec.architecture} "
            "does not match; export it without --optimize"
        )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = fresh_sibling_dir(out_dir, "partial")
    try:
        report = _build(model, spec, model_dir, tmp, quantize, opset, optimize)
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _relocated(report, out_dir)


# ---------------------------------------------------------------------------------------------
# Validation


def _check_options(quantize: str | None, opset: int) -> None:
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise InvalidInput(
            f"unknown quantization {quantize!r}; nerve export supports {', '.join(QUANTIZATIONS)}"
        )
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise InvalidInput(f"opset must be between {MIN_OPSET} and {MAX_OPSET}, got {opset}")


def _check_source(model_dir: Path) -> ModelSpec:
    """Fail before any heavy work if the directory cannot become a complete ONNX model dir."""
    if not model_dir.is_dir():
        raise ModelLoadError(f"{model_dir} is not a directory")
    spec = read_spec(model_dir)  # config.json: architecture, labels, shapes
    if not (model_dir / "model.safetensors").exists():
        hint = ""
        if (model_dir / "pytorch_model.bin").exists():
            hint = (
                " It holds only pytorch_model.bin, a pickle nerve never loads; convert it once, "
                "where you trust the file, with transformers: AutoModelForTokenClassification"
                f".from_pretrained('{model_dir}').save_pretrained('{model_dir}', "
                "safe_serialization=True)"
            )
        raise ModelLoadError(
            f"{model_dir} is not a safetensors model: model.safetensors is missing.{hint}"
        )
    if not (model_dir / "tokenizer.json").exists():
        raise ModelLoadError(
            f"{model_dir}: tokenizer.json is missing; the exported directory would not be "
            "usable (save one with transformers' AutoTokenizer.from_pretrained(...)"
            ".save_pretrained(dir))"
        )
    return spec


def _check_out_dir(model_dir: Path, out_dir: Path, overwrite: bool) -> None:
    if out_dir.resolve() == model_dir.resolve():
        raise InvalidInput(f"the output directory {out_dir} is the source model directory")
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(f"{out_dir} exists and is not a directory")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise InvalidInput(
            f"{out_dir} already exists and is not empty (pass --overwrite to replace it)"
        )
    check_creatable(out_dir, "output directory")


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingExtra("torch", "export", "nerve export") from None
    return torch


def _bert_family_module() -> type:
    from ..encoder.modules import TokenClassifier

    return TokenClassifier


def _load_torch_model(model_dir: Path, spec: ModelSpec) -> TokenClassifier:
    _torch()
    _onnx()
    from ..encoder.weights import load_model

    return load_model(model_dir, spec.encoder)


# ---------------------------------------------------------------------------------------------
# Pipeline


def input_names(spec: ModelSpec) -> tuple[str, ...]:
    """The graph inputs optimum gives this family: BERT and ELECTRA declare token types."""
    if has_token_types(spec):
        return ("input_ids", "attention_mask", "token_type_ids")
    return ("input_ids", "attention_mask")


def has_token_types(spec: ModelSpec) -> bool:
    return spec.family in ("bert", "electra") and spec.encoder.type_vocab_size > 0


def _build(
    model: TokenClassifier,
    spec: ModelSpec,
    model_dir: Path,
    tmp: Path,
    quantize: str | None,
    opset: int,
    optimize: bool,
) -> ExportReport:
    import onnxruntime

    probe = _probe_batch(spec)
    expected = _torch_logits(model, probe)
    large = _weight_bytes(model) > EXTERNAL_DATA_BYTES
    work = tmp / ".work"
    sizes: dict[str, int] = {}
    fusions: dict[str, int] = {}

    current = _trace(model, spec, probe, work / "fp32" / MODEL_FILE, opset)
    sizes["fp32"] = _graph_bytes(current)
    if optimize:
        current, fusions = optimize_graph(current, spec, work / "optimized" / MODEL_FILE, large)
        sizes["optimized"] = _graph_bytes(current)
    if quantize == "int8":
        current = quantize_int8(current, work / "int8" / MODEL_FILE, large)
        sizes["int8"] = _graph_bytes(current)

    _finalize_graph(current, tmp / MODEL_FILE, large)
    shutil.rmtree(work)
    diff, agreement = _verify(tmp / MODEL_FILE, probe, expected, quantized=quantize is not None)
    for name in COMPANION_FILES:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, tmp / name)
    copy_companions(model_dir, tmp)  # LICENSE, README, NOTICE: attribution travels along
    report = ExportReport(
        out_dir=tmp,
        source=model_dir,  # as given: a shipped model must not carry this machine's paths
        architecture=spec.architecture,
        opset=opset,
        inputs=input_names(spec),
        quantization=quantize,
        optimized=optimize,
        fusions=fusions,
        sizes=sizes,
        max_abs_diff=diff,
        argmax_agreement=agreement,
        onnxruntime_version=onnxruntime.__version__,
    )
    _write_metadata(tmp / METADATA_FILE, report)
    return report


def _probe_batch(spec: ModelSpec) -> dict[str, np.ndarray]:
    """Two rows, the second right-padded: traces with every axis > 1 and checks masking."""
    seq = max(2, min(_PROBE_SEQ, spec.max_length))
    rng = np.random.default_rng(0)
    ids = rng.integers(0, spec.encoder.vocab_size, size=(2, seq), dtype=np.int64)
    mask = np.ones((2, seq), dtype=np.int64)
    mask[1, seq // 2 + 1 :] = 0
    ids[mask == 0] = spec.encoder.pad_token_id
    batch = {"input_ids": ids, "attention_mask": mask}
    if has_token_types(spec):
        batch["token_type_ids"] = np.zeros_like(ids)
    return batch


def _torch_logits(model: TokenClassifier, probe: dict[str, np.ndarray]) -> np.ndarray:
    torch = _torch()
    with torch.inference_mode():
        ids = torch.from_numpy(probe["input_ids"])
        mask = torch.from_numpy(probe["attention_mask"])
        return model(ids, mask).float().numpy()  # type: ignore[no-any-return]


def _weight_bytes(model: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _graph_bytes(path: Path) -> int:
    """A graph's size including any external-data files saved beside it."""
    return sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file())


def _trace(
    model: TokenClassifier,
    spec: ModelSpec,
    probe: dict[str, np.ndarray],
    dest: Path,
    opset: int,
) -> Path:
    torch = _torch()
    from ..encoder.families import OWN_ENCODERS
    from .export_module import ExportClassifier

    # The BERT family traces through its fusion-friendly view; families with their own module
    # (DeBERTa, ModernBERT) trace as they are: ORT has no fusions for their attention anyway.
    wrapper: Any = (
        ExportClassifier(model, with_token_types=has_token_types(spec))
        if spec.family not in OWN_ENCODERS
        else model
    )
    names = input_names(spec)
    args = tuple(torch.from_numpy(probe[name]) for name in names)
    axes = {0: "batch_size", 1: "sequence_length"}
    dest.parent.mkdir(parents=True)
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs
        # onnxscript and emits graphs ORT's fusions do not match; its warnings are expected.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            args,
            str(dest),
            dynamo=False,
            opset_version=opset,
            input_names=list(names),
            output_names=["logits"],
            dynamic_axes={name: axes for name in (*names, "logits")},
            do_constant_folding=True,
        )
    return dest


def _finalize_graph(src: Path, dest: Path, large: bool) -> None:
    """Move the last stage to ``dest``; large graphs keep one ``model.onnx.data`` beside it."""
    if not large:
        shutil.move(str(src), str(dest))
        return
    # The stages save external data in their own layouts (the TorchScript exporter writes one
    # file per tensor); normalise to the single-file layout optimum uses.
    onnx = _onnx()
    model = onnx.load(str(src))
    onnx.save_model(
        model,
        str(dest),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=dest.name + ".data",
    )


def _verify(
    path: Path, probe: dict[str, np.ndarray], expected: np.ndarray, *, quantized: bool
) -> tuple[float, float]:
    """Run the written graph on the probe; a float graph must reproduce torch's logits."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(["logits"], probe)[0]
    except Exception as exc:  # ORT raises its own exception types for a bad graph
        raise ExportError(f"the exported graph cannot be run by ONNX Runtime: {exc}") from None
    keep = probe["attention_mask"].astype(bool)
    diff = float(np.abs(got - expected)[keep].max())
    agreement = float((got.argmax(-1) == expected.argmax(-1))[keep].mean())
    tolerance = 1e-3 * max(1.0, float(np.abs(expected[keep]).max()))
    if not quantized and not diff <= tolerance:  # `not <=` also catches NaN
        raise ExportError(
            f"the exported graph disagrees with nerve's torch model: max |Δlogit| = {diff:.3g} "
            f"(tolerance {tolerance:.3g})"
        )
    return diff, agreement


def _write_metadata(path: Path, report: ExportReport) -> None:
    from .. import __version__

    data = report.to_json()
    data.pop("out_dir")
    data["format"] = "onnx"
    data["nerve_version"] = __version__
    data["torch_version"] = str(_torch().__version__)
    if report.quantization == "int8":
        data["quantization_details"] = {
            "method": "onnxruntime dynamic",
            "weights": "int8 symmetric, per channel",
            "activations": "uint8, dynamic per tensor",
            "ops": list(QUANTIZED_OPS),
            "token_table": "int8 symmetric, per row (dequantized after the lookup)",
            "kept_float": ["classifier"],
        }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Atomic placement


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Put ``tmp`` at ``out_dir``; an existing directory is moved aside first, then removed."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = fresh_sibling_dir(out_dir, "old")
    os.replace(out_dir, old / out_dir.name)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        os.replace(old / out_dir.name, out_dir)  # put the previous export back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _relocated(report: ExportReport, out_dir: Path) -> ExportReport:
    return replace(report, out_dir=out_dir)
