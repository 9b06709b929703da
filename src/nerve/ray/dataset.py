"""``extract_entities``: a nerve stage for users' own Ray Data pipelines.

    ds = ray.data.read_parquet("s3://bucket/news/")
    ds = nerve.ray.extract_entities(ds, model="path/to/model", text_column="body")

adds an ``entities`` column (a list of ``{start, end, label, score, text}``, the schema of
``nerve batch``) computed by a pool of actors, each holding one engine.
"""

from __future__ import annotations

from typing import Any

from ..batch.shards import entities_type
from ..batch.tagging import entity_rows
from ..errors import InvalidInput
from ..loader import load
from .connect import import_ray


class EntityExtractor:
    """The callable class ``map_batches`` runs: loads the model once, then tags each batch
    (a ``pyarrow.Table``) and returns it with the entities column added."""

    def __init__(
        self,
        model: str | None = None,
        *,
        text_column: str = "text",
        output_column: str = "entities",
        load_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.engine = load(model, **(load_options or {}))
        self.text_column = text_column
        self.output_column = output_column
        self.options = options

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        if self.text_column not in batch.column_names:
            raise InvalidInput(
                f"no column {self.text_column!r} (columns: {', '.join(batch.column_names)}); "
                "pass text_column="
            )
        texts = batch.column(self.text_column).to_pylist()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidInput(
                    f"column {self.text_column!r}, row {i} of a batch: expected a string, "
                    f"got {type(text).__name__}"
                )
        results = self.engine(texts, **self.options) if texts else []
        column = pa.array([entity_rows(r) for r in results], type=entities_type())
        if self.output_column in batch.column_names:
            batch = batch.drop_columns([self.output_column])
        return batch.append_column(self.output_column, column)


def extract_entities(
    ds: Any,
    *,
    model: str | None = None,
    text_column: str = "text",
    output_column: str = "entities",
    workers: int = 1,
    num_cpus: float = 1,
    num_gpus: float = 0,
    batch_size: int = 256,
    load_options: dict[str, Any] | None = None,
    **options: Any,
) -> Any:
    """``ds`` with an ``output_column`` of entities, computed by ``workers`` actors.

    ``options`` are the engine's inference options (``aggregation_strategy``,
    ``ignore_labels``, ``truncate``, ...); ``load_options`` go to ``nerve.load``
    (``backend``, ``device``, ``threads``, ...). Nothing runs until the dataset is consumed.
    """
    ray = import_ray()
    if workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    load_kwargs = {"threads": max(1, int(num_cpus)), **(load_options or {})}
    if num_gpus > 0:
        load_kwargs.setdefault("device", "cuda")
    return ds.map_batches(
        EntityExtractor,
        batch_format="pyarrow",
        batch_size=batch_size,
        fn_constructor_args=(model,),
        fn_constructor_kwargs={
            "text_column": text_column,
            "output_column": output_column,
            "load_options": load_kwargs,
            **options,
        },
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )
