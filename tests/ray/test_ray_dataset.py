"""``nerve.ray.extract_entities`` inside a user's own Ray Data pipeline."""

from __future__ import annotations

from collections import Counter

import nerve
from nerve.batch.tagging import entity_rows
from support.ray_corpus import SENTENCES


def test_filter_then_nerve_then_groupby(cluster) -> None:  # type: ignore[no-untyped-def]
    import ray

    from nerve.ray import EntityExtractor, extract_entities

    assert EntityExtractor.__name__ == "EntityExtractor"
    docs = [
        {"id": i, "lang": "de" if i % 3 == 0 else "en", "text": SENTENCES[i % len(SENTENCES)]}
        for i in range(40)
    ]
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    ds = ray.data.from_items(docs).filter(lambda row: row["lang"] == "en")
    # One batch holding every kept row: the engine sees the batch a local call would.
    ds = extract_entities(ds, text_column="text", batch_size=1000, aggregation_strategy="simple")
    rows = ds.take_all()
    per_label = (
        ds.flat_map(lambda row: [{"label": e["label"]} for e in row["entities"]])
        .groupby("label")
        .count()
        .take_all()
    )
    kept = [d for d in docs if d["lang"] == "en"]
    want = nerve.load()([d["text"] for d in kept], aggregation_strategy="simple")
    assert [r["id"] for r in rows] == [d["id"] for d in kept]
    assert [list(r["entities"]) for r in rows] == [entity_rows(w) for w in want]
    counts = Counter(e.label for w in want for e in w.entities)
    assert {r["label"]: r["count()"] for r in per_label} == dict(counts)
    assert len(counts) >= 3  # PER, LOC, ORG at least: the groupby has something to group
