"""CoNLL sentences → training features: sub-word ids, sub-word labels, batches."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from ..data.conll import Sentence, to_iob2

IGNORE = -100  # label id for special tokens (and continuation pieces when not labelled)


def label_set(sentences: Sequence[Sentence]) -> tuple[str, ...]:
    """IOB2 labels of the data in a canonical order: O, then B-/I- per type alphabetically."""
    types = sorted({t[2:] for s in sentences for t in s.tags if t != "O"})
    return ("O", *[f"{p}-{t}" for t in types for p in ("B", "I")])


@dataclass(frozen=True)
class Feature:
    ids: np.ndarray  # int64 [n_tokens]
    labels: np.ndarray  # int64 [n_tokens], IGNORE on specials (and unlabelled continuations)
    word_first: np.ndarray  # int64 [n_words], token index of each word's first piece (-1: cut)


def encode_sentence(
    tokenizer: Tokenizer,
    words: Sequence[str],
    tags: Sequence[str] | None,
    label_ids: dict[str, int],
    max_length: int,
    label_all_pieces: bool = False,
) -> Feature:
    """One sentence as model input with its training labels.

    With ``label_all_pieces`` every sub-word is labelled: a word's first piece keeps the
    word's IOB2 tag, its continuation pieces get the ``I-`` tag of the word's entity (``O``
    outside entities). A model trained so gives whole words under all of the pipeline's
    strategies (``simple`` groups B/I runs, so the ``.`` and ``K`` of ``U.K.`` join ``U``);
    trained on first pieces only, continuation pieces carry no learned label at all.
    """
    enc = tokenizer.encode(list(words), is_pretokenized=True)
    ids = np.asarray(enc.ids, dtype=np.int64)[:max_length]
    word_ids = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
    word_ids = word_ids[:max_length]
    if len(enc.ids) > max_length:  # keep the closing special token
        ids[-1] = enc.ids[-1]
        word_ids[-1] = -1
    # A token starts a word when its word id differs from the previous token's.
    starts = (word_ids >= 0) & (word_ids != np.concatenate(([-2], word_ids[:-1])))
    word_first = np.full(len(words), -1, dtype=np.int64)
    word_first[word_ids[starts]] = np.flatnonzero(starts)
    labels = np.full(len(ids), IGNORE, dtype=np.int64)
    if tags is not None:
        tag_ids = np.asarray([label_ids[t] for t in to_iob2(tags)], dtype=np.int64)
        labels[starts] = tag_ids[word_ids[starts]]
        if label_all_pieces:
            inside = {i: label_ids.get("I-" + t[2:], i) for t, i in label_ids.items()}
            continuation_ids = np.asarray([inside[int(t)] for t in tag_ids], dtype=np.int64)
            continuation = (word_ids >= 0) & ~starts
            labels[continuation] = continuation_ids[word_ids[continuation]]
    return Feature(ids, labels, word_first)


def joined_runs(
    sentences: Sequence[Sentence], tokenizer: Tokenizer, max_length: int
) -> list[Sentence]:
    """Runs of 2+ consecutive sentences of one document, each as one input of at most
    ``max_length`` tokens (greedy, in order; a run ends where the next sentence won't fit).

    Training on these next to single sentences shows the model running text, which is what
    users send; tags are made IOB2 per sentence first, so an IOB1 chunk never continues over
    a sentence break.
    """
    budget = max_length - tokenizer.num_special_tokens_to_add(False)
    encodings = tokenizer.encode_batch(
        [list(s.words) for s in sentences], is_pretokenized=True, add_special_tokens=False
    )
    runs: list[Sentence] = []
    run: list[Sentence] = []
    used = 0
    for i, sentence in enumerate(sentences):
        n = len(encodings[i].ids)
        new_document = bool(run) and sentence.document != run[-1].document
        if run and (new_document or used + n > budget):
            if len(run) > 1:
                runs.append(_join(run))
            run, used = [], 0
        if n <= budget:  # a sentence too long on its own starts no run
            run.append(sentence)
            used += n
    if len(run) > 1:
        runs.append(_join(run))
    return runs


def _join(run: list[Sentence]) -> Sentence:
    words = tuple(w for s in run for w in s.words)
    tags = tuple(t for s in run for t in to_iob2(s.tags))
    return Sentence(words, tags, run[0].line, run[0].document)


def batches(lengths: Sequence[int], batch_size: int, rng: random.Random | None) -> list[list[int]]:
    """Indices grouped into batches of similar length (little padding).

    With ``rng`` (training): shuffle, sort within pools of 50 batches, shuffle batch order —
    random yet cheap, and deterministic for a seed. Without: plain length order (evaluation).
    """
    order = list(range(len(lengths)))
    if rng is None:
        order.sort(key=lambda i: lengths[i])
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(order)
    pool = batch_size * 50
    out: list[list[int]] = []
    for p in range(0, len(order), pool):
        chunk = sorted(order[p : p + pool], key=lambda i: lengths[i])
        out.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(out)
    return out
