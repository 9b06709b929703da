"""--ignore-labels names are read as the pipeline reads tags (nerve.decode.ignore_names): only
a leading B-/I- is a prefix, so a type holding "-" stays whole and a lower-case tag such as
"b-per" is its own entity type (splitting at the first "-" refused names that do apply)."""

from __future__ import annotations

import pytest

from nerve.decode.ignore_names import check_ignore_names
from nerve.errors import InvalidInput


def test_names_follow_the_pipelines_reading_of_tags() -> None:
    check_ignore_names(["b-per"], ["O", "b-per", "i-per"], [], "simple")
    check_ignore_names(["DATE-TIME", "LOC"], ["O", "B-DATE-TIME", "I-LOC"], [], "first")
    check_ignore_names(["CITY"], ["O", "B-LOC"], ["CITY"], "word")
    with pytest.raises(InvalidInput, match="'per' matches no label"):
        check_ignore_names(["per"], ["O", "b-per", "i-per"], [], "simple")
    with pytest.raises(InvalidInput, match="'TIME' matches no label"):
        check_ignore_names(["TIME"], ["O", "B-DATE-TIME"], [], "simple")
