"""Export nerve models to other runtimes (ONNX). Needs the ``export`` extra (torch, onnx)."""

from __future__ import annotations

from .onnx_export import METADATA_FILE, MODEL_FILE, ExportError, ExportReport, export_onnx

__all__ = ["METADATA_FILE", "MODEL_FILE", "ExportError", "ExportReport", "export_onnx"]
