"""DeBERTa-v2/v3 and ModernBERT beyond logits parity: refused variants, the packed path,
ONNX export (float32 and int8) against the torch module, and ``nerve info``/``train``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from support.texts import LONG_TEXT, TRICKY_TEXTS

torch = pytest.importorskip("torch")

import nerve  # noqa: E402
from nerve.errors import InvalidInput, ModelLoadError, UnsupportedArchitecture  # noqa: E402
from nerve.model.spec import read_spec  # noqa: E402


def _variant(src: Path, dest: Path, **changes: Any) -> Path:
    """A copy of model dir ``src`` whose config.json has ``changes`` applied (None deletes)."""
    shutil.copytree(src, dest)
    config = json.loads((dest / "config.json").read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    (dest / "config.json").write_text(json.dumps(config))
    return dest


@pytest.mark.parametrize(
    ("name", "changes", "named"),
    [
        ("deberta-v3", {"conv_kernel_size": 3}, "conv_kernel_size=3"),
        ("deberta-v3", {"pos_att_type": ["c2p", "p2p"]}, "pos_att_type=['p2p']"),
        ("deberta-v3", {"norm_rel_ebd": "layer_norm|scale"}, "norm_rel_ebd"),
        ("deberta-v3", {"attention_head_size": 4}, "attention_head_size=4"),
        (
            "modernbert",
            {"rope_parameters": {"full_attention": {"rope_type": "yarn", "factor": 2.0}}},
            "rope_type=yarn",
        ),
    ],
)
def test_unimplemented_variants_are_refused_by_name(
    family_model_dir: Any, tmp_path: Path, name: str, changes: dict[str, Any], named: str
) -> None:
    model_dir = _variant(family_model_dir(name), tmp_path / "variant", **changes)
    with pytest.raises(UnsupportedArchitecture, match=f"option {named}".replace("[", r"\[")):
        nerve.load(model_dir, backend="torch")


def test_legacy_modernbert_config_keys(family_model_dir: Any, tmp_path: Path) -> None:
    """Hub ModernBERT configs say global_attn_every_n_layers / *_rope_theta, not
    layer_types / rope_parameters: both layouts give the same model."""
    src = family_model_dir("modernbert-bias")
    legacy = _variant(
        src,
        tmp_path / "legacy",
        layer_types=None,
        rope_parameters=None,
        global_attn_every_n_layers=2,
        global_rope_theta=1000.0,
        local_rope_theta=500.0,
    )
    assert read_spec(legacy).encoder == read_spec(src).encoder
    assert read_spec(src).encoder.variant.global_layers == (True, False, True, False)


def test_bad_layer_types_are_a_clear_error(family_model_dir: Any, tmp_path: Path) -> None:
    bad = _variant(family_model_dir("modernbert"), tmp_path / "bad", layer_types=["full_attention"])
    with pytest.raises(ModelLoadError, match="layer_types must list 3"):
        read_spec(bad)


def test_wrong_weight_shape_names_the_weight(family_model_dir: Any, tmp_path: Path) -> None:
    bad = _variant(family_model_dir("deberta-v3"), tmp_path / "bad", position_buckets=16)
    with pytest.raises(ModelLoadError, match="rel_embeddings.weight' has shape"):
        nerve.load(bad, backend="torch")


@pytest.mark.parametrize("name", ["modernbert", "modernbert-bias"])
def test_modernbert_packed_equals_padded(family_model_dir: Any, name: str) -> None:
    """The CPU check of the CUDA varlen path: per-sequence rotary positions and local
    windows inside packed sequences give the padded logits and entities."""
    padded = nerve.load(family_model_dir(name), backend="torch", max_batch_tokens=300)
    packed = nerve.load(family_model_dir(name), backend="torch", max_batch_tokens=300)
    packed.backend.packed = True  # type: ignore[attr-defined]
    texts = [*TRICKY_TEXTS, LONG_TEXT] * 2
    windows = [w for e in padded.tokenize(texts, nerve.InferenceOptions()) for w in e.windows]
    for a, b in zip(padded.run_windows(windows), packed.run_windows(windows), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    for a, b in zip(padded(texts), packed(texts), strict=True):
        assert [(e.label, e.start, e.end) for e in a.entities] == [
            (e.label, e.start, e.end) for e in b.entities
        ]


def test_deberta_has_no_packed_path(family_model_dir: Any) -> None:
    from nerve.backends.torch_backend import TorchBackend

    model_dir = family_model_dir("deberta-v3")
    with pytest.raises(InvalidInput, match="no packed"):
        TorchBackend(model_dir, read_spec(model_dir), packed=True)
    assert not TorchBackend(model_dir, read_spec(model_dir)).packed


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["modernbert", "deberta-v3"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cuda_half_matches_cpu_float32(family_model_dir: Any, name: str, dtype: str) -> None:
    cpu = nerve.load(family_model_dir(name), backend="torch")
    gpu = nerve.load(family_model_dir(name), backend="torch", device="cuda", dtype=dtype)
    assert gpu.backend.packed == (name == "modernbert")  # type: ignore[attr-defined]
    texts = [*TRICKY_TEXTS, LONG_TEXT]
    agree = total = 0
    for a, b in zip(cpu.encode(texts), gpu.encode(texts), strict=True):
        agree += int((a.logits.argmax(-1) == b.logits.argmax(-1)).sum())
        total += len(a.ids)
    assert agree / total > 0.98


@pytest.mark.parametrize("name", ["deberta-v3", "deberta-v2-separate", "modernbert-bias"])
@pytest.mark.parametrize("quantize", [None, "int8"])
def test_onnx_export_equals_torch(
    family_model_dir: Any, tmp_path: Path, name: str, quantize: str | None
) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from nerve.export import export_onnx

    report = export_onnx(family_model_dir(name), tmp_path / "onnx", quantize=quantize)
    torch_engine = nerve.load(family_model_dir(name), backend="torch")
    onnx_engine = nerve.load(tmp_path / "onnx")
    assert onnx_engine.backend.name == "onnx"
    assert onnx_engine.backend.dtype == (quantize or "float32")
    texts = [*TRICKY_TEXTS, LONG_TEXT]
    if quantize is None:
        assert report.max_abs_diff < 1e-4
        for a, b in zip(raw(torch_engine, texts), raw(onnx_engine, texts), strict=True):
            np.testing.assert_allclose(a.logits, b.logits, atol=1e-4, rtol=0)
        for a, b in zip(torch_engine(texts), onnx_engine(texts), strict=True):
            assert [(e.label, e.start, e.end) for e in a.entities] == [
                (e.label, e.start, e.end) for e in b.entities
            ]
            np.testing.assert_allclose(
                [e.score for e in a.entities], [e.score for e in b.entities], atol=1e-4
            )
    else:
        assert report.argmax_agreement > 0.9
        same = total = 0
        for a, b in zip(raw(torch_engine, texts), raw(onnx_engine, texts), strict=True):
            same += int((a.logits.argmax(-1) == b.logits.argmax(-1)).sum())
            total += len(a.ids)
        assert same / total > 0.95


def test_optimize_is_refused_for_own_families(family_model_dir: Any, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from nerve.export import export_onnx

    with pytest.raises(InvalidInput, match="without --optimize"):
        export_onnx(family_model_dir("modernbert"), tmp_path / "o", optimize=True)


def test_train_refuses_untrainable_families(family_model_dir: Any) -> None:
    from nerve.train.trainer import _base_encoder

    with pytest.raises(ModelLoadError, match="cannot be fine-tuned"):
        _base_encoder(family_model_dir("deberta-v3"), ["O"] * 9, 0.1)


def raw(engine: nerve.Engine, texts: list[str]) -> list:  # type: ignore[type-arg]
    """Per-token logits of the first window of each text (LONG_TEXT is longer than one)."""
    return engine.encode(texts, truncate=True)
