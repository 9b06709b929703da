from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from nerve.data.conll import (
    Sentence,
    check_tags,
    conll_dir,
    group_documents,
    read_conll,
    to_iob2,
)
from nerve.errors import DataError

GOOD = """\
EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER
"""


def at(path: Path | str, lineno: int) -> str:
    """Regex for the start of an error message located at ``path:lineno``."""
    return "^" + re.escape(f"{path}:{lineno}:")


def write(tmp_path: Path, text: str | bytes, name: str = "data.conll") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def test_reads_words_tags_and_first_token_lines(tmp_path: Path) -> None:
    sentences = read_conll(write(tmp_path, GOOD))
    assert sentences == [
        Sentence(("EU", "rejects", "German"), ("I-ORG", "O", "I-MISC"), 1),
        Sentence(("Peter", "Blackburn"), ("I-PER", "I-PER"), 5),
    ]


def test_tabs_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    text = "a\tX\tB-LOC\r\nb\tY\tI-LOC\r\n\r\nc\tZ\tO"
    sentences = read_conll(write(tmp_path, text))
    assert [s.words for s in sentences] == [("a", "b"), ("c",)]
    assert [s.tags for s in sentences] == [("B-LOC", "I-LOC"), ("O",)]
    assert [s.line for s in sentences] == [1, 4]


def test_docstart_is_skipped_and_breaks_sentences(tmp_path: Path) -> None:
    text = "-DOCSTART- -X- -X- O\n\na P C O\n-DOCSTART- -X- -X- O\nb P C I-PER\n"
    sentences = read_conll(write(tmp_path, text))
    assert [(s.words, s.line) for s in sentences] == [(("a",), 3), (("b",), 5)]
    assert [s.document for s in sentences] == [0, 1]


def test_documents_are_numbered_and_grouped(tmp_path: Path) -> None:
    # Text before the first -DOCSTART-, then an empty document (two markers in a row).
    text = "a P C O\n\nb P C O\n-DOCSTART- X X O\n\n-DOCSTART- X X O\nc P C O\n\nd P C O\n"
    sentences = read_conll(write(tmp_path, text))
    assert [(s.words[0], s.document) for s in sentences] == [("a", 0), ("b", 0), ("c", 1), ("d", 1)]
    groups = group_documents(sentences)
    assert [[s.words[0] for s in doc] for doc in groups] == [["a", "b"], ["c", "d"]]
    assert group_documents([]) == []


def test_runs_of_blank_and_whitespace_lines(tmp_path: Path) -> None:
    text = "\n\n  \na P C O\n\n\t\n\n\nb P C O\nc P C O\n\n\n"
    sentences = read_conll(write(tmp_path, text))
    assert [(s.words, s.line) for s in sentences] == [(("a",), 4), (("b", "c"), 9)]


def test_empty_file_has_no_sentences(tmp_path: Path) -> None:
    assert read_conll(write(tmp_path, "")) == []


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    sentences = read_conll(write(tmp_path, "\ufeffMünchen P C I-LOC\n".encode()))
    assert sentences[0].words == ("München",)


def test_tag_column_can_be_chosen(tmp_path: Path) -> None:
    path = write(tmp_path, "a B-NP O x\nb I-NP O y\n")
    assert read_conll(path, tag_column=1)[0].tags == ("B-NP", "I-NP")
    assert read_conll(path, tag_column=-2)[0].tags == ("O", "O")


@pytest.mark.parametrize("column", [0, 4, -4, -5])
def test_tag_column_outside_the_file_is_an_error(tmp_path: Path, column: int) -> None:
    path = write(tmp_path, "a B-NP O x\n")
    with pytest.raises(DataError, match=rf"{at(path, 1)} tag column {column} "):
        read_conll(path, tag_column=column)


def test_single_column_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "\nword\n")
    with pytest.raises(DataError, match=rf"{at(path, 2)} need at least a word and a tag column"):
        read_conll(path)


@pytest.mark.parametrize("bad_line", ["b P B-PER", "b P C I-PER extra"])
def test_wrong_column_count_names_file_line_and_counts(tmp_path: Path, bad_line: str) -> None:
    path = write(tmp_path, f"a P C O\n\n{bad_line}\n")
    found = len(bad_line.split())
    with pytest.raises(DataError, match=rf"{at(path, 3)} expected 4 columns .* found {found}$"):
        read_conll(path)


@pytest.mark.parametrize("tag", ["E-PER", "S-LOC", "PER", "B-", "I-", "o", "B_PER", "U-MISC"])
def test_non_iob_tag_names_tag_and_line(tmp_path: Path, tag: str) -> None:
    path = write(tmp_path, f"a P C O\nb P C B-PER\n\nc P C {tag}\n")
    with pytest.raises(DataError, match=rf"{at(path, 4)} tag '{tag}' is not an IOB tag"):
        read_conll(path)


def test_bad_tag_reported_even_after_good_uses_of_other_tags(tmp_path: Path) -> None:
    # The reader validates each distinct tag once; a new bad tag late in the file still fails.
    lines = ["w P C B-PER"] * 50 + ["w P C O"] * 50 + ["w P C X-PER"]
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{at(path, 101)} tag 'X-PER'"):
        read_conll(path)


def test_invalid_utf8_names_line(tmp_path: Path) -> None:
    data = b"a P C O\n\nb P C O\ncaf\xe9 P C O\nd P C O\n"
    path = write(tmp_path, data)
    with pytest.raises(DataError, match=rf"{at(path, 4)} invalid UTF-8"):
        read_conll(path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.conll"
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: no such file"):
        read_conll(path)


def test_directory_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"^{re.escape(str(tmp_path))}: cannot read"):
        read_conll(tmp_path)


def test_sentence_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 words but 1 tags"):
        Sentence(("a", "b"), ("O",), 7)


IOB2_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_check_tags_accepts_iob1_and_iob2_data(tmp_path: Path) -> None:
    path = write(tmp_path, "a P C I-PER\nb P C B-PER\n\nc P C B-LOC\nd P C O\n")
    check_tags(read_conll(path), IOB2_LABELS, path)
    # A pure IOB1 model may lack B- labels: B-X then only needs the type.
    check_tags(read_conll(path), ["O", "I-PER", "I-LOC"], path)


def test_check_tags_names_file_line_tag_and_labels(tmp_path: Path) -> None:
    path = write(tmp_path, "a P C O\n\nb P C I-PER\nc P C I-MISC\n")
    with pytest.raises(DataError) as info:
        check_tags(read_conll(path), IOB2_LABELS, path)
    message = info.value.message
    assert message.startswith(f"{path}:4: tag 'I-MISC' is not a label of the model")
    assert "B-LOC, B-PER, I-LOC, I-PER, O" in message


def test_check_tags_i_needs_i(tmp_path: Path) -> None:
    path = write(tmp_path, "a P C I-PER\n")
    with pytest.raises(DataError, match=rf"{at(path, 1)} tag 'I-PER'"):
        check_tags(read_conll(path), ["O", "B-PER"], path)


def test_check_tags_o_must_be_a_label(tmp_path: Path) -> None:
    path = write(tmp_path, "a P C B-PER\nb P C O\n")
    with pytest.raises(DataError, match=rf"{at(path, 2)} tag 'O'"):
        check_tags(read_conll(path), ["B-PER", "I-PER"], path)


@pytest.mark.parametrize(
    ("iob1", "iob2"),
    [
        ([], []),
        (["O"], ["O"]),
        (["I-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-PER", "O", "B-LOC"]),
        (["I-PER", "B-PER", "I-PER"], ["B-PER", "B-PER", "I-PER"]),
        (["I-PER", "I-LOC", "I-LOC"], ["B-PER", "B-LOC", "I-LOC"]),
        (["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "I-PER", "O", "B-LOC"]),
    ],
)
def test_to_iob2_examples(iob1: list[str], iob2: list[str]) -> None:
    assert to_iob2(iob1) == iob2
    assert to_iob2(iob2) == iob2  # idempotent on IOB2 input


def test_to_iob2_keeps_seqeval_spans_and_yields_strict_iob2() -> None:
    entities = pytest.importorskip("seqeval.metrics.sequence_labeling").get_entities
    pool = ["O", "O", "B-PER", "I-PER", "I-PER", "B-LOC", "I-LOC"]
    for seed in range(500):
        rng = random.Random(seed)
        tags = [rng.choice(pool) for _ in range(rng.randint(0, 12))]
        converted = to_iob2(tags)
        assert entities(converted) == entities(tags), tags
        for prev, tag in zip(["O", *converted], converted, strict=False):
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:], converted


def test_conll_dir_env_override_and_default(tmp_path: Path) -> None:
    assert conll_dir({"NERVE_CONLL_DIR": str(tmp_path)}) == tmp_path
    # Running from the source tree, the default sits next to the checkout.
    checkout = Path(__file__).resolve().parents[2]
    assert conll_dir({}) == checkout.parent / "shared" / "data" / "conll2003"


DATA = conll_dir()
# Sizes from the data set's README (and the Hugging Face conll2003 splits).
SPLITS = {
    "eng.train": (14041, 203621, 23499),
    "eng.testa": (3250, 51362, 5942),
    "eng.testb": (3453, 46435, 5648),
}


@pytest.mark.skipif(not DATA.is_dir(), reason=f"CoNLL-2003 not found at {DATA}")
@pytest.mark.parametrize("name", sorted(SPLITS))
def test_real_conll2003_counts(name: str) -> None:
    sentences = read_conll(DATA / name)
    n_sentences, n_tokens, n_entities = SPLITS[name]
    assert len(sentences) == n_sentences
    assert sum(len(s) for s in sentences) == n_tokens
    starts = sum(tag.startswith("B-") for s in sentences for tag in to_iob2(s.tags))
    assert starts == n_entities
    labels = ["O"] + [f"{p}-{t}" for p in "BI" for t in ("PER", "ORG", "LOC", "MISC")]
    check_tags(sentences, labels, name)
