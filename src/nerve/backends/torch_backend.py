"""PyTorch backend: nerve's own encoder on CPU or CUDA in float32/float16/bfloat16."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import InvalidInput, MissingExtra
from ..model.spec import ModelSpec
from . import packed_launch
from .base import DTYPES
from .cuda_graphs import DEFAULT_MAX_TOKENS, PackedGraphs, record_or_eager


def _torch():  # type: ignore[no-untyped-def]
    try:
        import torch
    except ImportError:
        raise MissingExtra("torch", "torch", "the torch backend") from None
    return torch


class TorchBackend:
    name = "torch"

    def __init__(
        self,
        model_dir: Path,
        spec: ModelSpec,
        device: str = "cpu",
        dtype: str = "float32",
        threads: int | None = None,
        packed: bool | None = None,
        cuda_graphs: bool | None = None,
        graph_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        torch = _torch()
        from ..encoder.families import supports_packed
        from ..encoder.weights import load_model

        if dtype not in DTYPES:
            raise InvalidInput(f"torch backend dtype must be one of {DTYPES}, got {dtype!r}")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise InvalidInput(f"device {device!r} requested but CUDA is not available here")
        if threads:
            torch.set_num_threads(threads)
        self.device = device
        self.dtype = dtype
        self._torch_dtype = getattr(torch, dtype)
        self._model = load_model(model_dir, spec.encoder).to(device, self._torch_dtype)
        # Packed (unpadded) batches by default on CUDA, where varlen attention makes padding
        # pure waste; on CPU the padded path is as fast for the short batches it gets.
        # Families whose attention cannot be packed (DeBERTa's relative bias) run padded.
        can_pack = supports_packed(self._model)
        if packed and not can_pack:
            raise InvalidInput(
                f"{spec.architecture} has no packed (unpadded) path; run it with packed off"
            )
        self.packed = (device.startswith("cuda") if packed is None else packed) and can_pack
        self._graphs = self._graphs_for(cuda_graphs, spec, graph_tokens)

    def _graphs_for(
        self, wanted: bool | None, spec: ModelSpec, graph_tokens: int
    ) -> PackedGraphs | None:
        """CUDA graphs for small batches: by default wherever they can be recorded (packed
        batches on CUDA in float16/bfloat16, the flash-attention path); asked for elsewhere,
        a clear refusal."""
        possible = self.packed and self.device.startswith("cuda") and self.dtype != "float32"
        if wanted and not possible:
            raise InvalidInput(
                "--cuda-graphs on needs the packed path on a GPU in half precision "
                f"(--device cuda --dtype float16 or bfloat16); this is device {self.device!r}, "
                f"dtype {self.dtype}{'' if self.packed else ', unpacked'}"
            )
        if not (possible if wanted is None else wanted):
            return None
        from functools import partial

        from ..encoder.packed import run_packed

        record = partial(
            PackedGraphs,
            partial(run_packed, self._model),
            device=self.device,
            pad_id=spec.encoder.pad_token_id,
            max_tokens=graph_tokens,
        )
        return record_or_eager(record, asked=bool(wanted))

    @property
    def graphed_buckets(self) -> tuple[int, ...]:
        """The token buckets small batches replay a recorded CUDA graph for (none: eager)."""
        return self._graphs.buckets if self._graphs is not None else ()

    @property
    def module(self):  # type: ignore[no-untyped-def]
        """The underlying ``TokenClassifier`` (for export and training tools)."""
        return self._model

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = _torch()
        with torch.inference_mode():
            ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
            mask = torch.from_numpy(attention_mask).to(self.device, non_blocking=True)
            logits = self._model(ids, mask)  # [batch, seq, labels]
            return logits.float().cpu().numpy()

    def forward_packed(self, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Unpadded rows of ids (int64 [n_i]) → logits [n_i, num_labels] each, one packed pass."""
        return next(self.forward_packed_stream([rows]))

    def forward_packed_stream(
        self, batches: Iterable[Sequence[np.ndarray]]
    ) -> Iterator[list[np.ndarray]]:
        """``forward_packed`` of each batch, in order; on a GPU the next batch is prepared and
        launched while the current one runs (``nerve.backends.packed_launch``)."""
        return packed_launch.stream(self._start, batches)

    def _start(self, rows: Sequence[np.ndarray]) -> packed_launch.Launched | list[np.ndarray]:
        if self._graphs is not None:
            replayed = self._graphs.run(rows)  # a small batch: one recorded graph, at once
            if replayed is not None:
                return replayed
        return packed_launch.launch(self._model, rows, self.device)
