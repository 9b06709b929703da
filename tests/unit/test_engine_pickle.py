"""An engine travels to other processes (multiprocessing, Ray) as "load this model again"."""

from __future__ import annotations

import multiprocessing
import pickle
from typing import Any

import pytest

import nerve
from nerve.engine.core import Engine

TEXTS = ["Angela Merkel visited Paris.", "EU rejects German call to boycott British lamb."]


def _tag(engine: Engine, text: str) -> list[tuple[int, int, str]]:
    return [(e.start, e.end, e.label) for e in engine(text).entities]


def test_the_default_engine_pickles_as_its_load_arguments() -> None:
    engine = nerve.load(max_batch_tokens=1024, threads=1)
    data = pickle.dumps(engine)
    assert len(data) < 2_000  # arguments, not weights or sessions
    again = pickle.loads(data)
    assert again is not engine and again.model_dir == engine.model_dir
    assert again.load_args == engine.load_args and again.load_args["model"] is None
    assert (again.max_batch_tokens, again.backend.name) == (1024, engine.backend.name)
    assert [_tag(again, t) for t in TEXTS] == [_tag(engine, t) for t in TEXTS]


def test_a_local_model_pickles_with_its_path_and_settings(tiny_model_dir: Any) -> None:
    engine = nerve.load(tiny_model_dir("bert"), backend="torch", model_id="tiny")
    again = pickle.loads(pickle.dumps(engine))
    assert again.load_args["model"] == str(tiny_model_dir("bert"))
    assert (again.model_id, again.backend.name) == ("tiny", "torch")
    assert [_tag(again, t) for t in TEXTS] == [_tag(engine, t) for t in TEXTS]


def test_an_engine_built_by_hand_refuses_to_pickle() -> None:
    engine = nerve.load()
    engine.load_args = None
    with pytest.raises(TypeError, match="only an Engine made by nerve.load can be pickled"):
        pickle.dumps(engine)


def _tag_in_worker(args: tuple[Engine, str]) -> list[tuple[int, int, str]]:
    engine, text = args
    return _tag(engine, text)


def test_an_engine_goes_to_a_spawned_worker_process() -> None:
    engine = nerve.load(threads=1)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        results = pool.map(_tag_in_worker, [(engine, t) for t in TEXTS])
    assert results == [_tag(engine, t) for t in TEXTS]
