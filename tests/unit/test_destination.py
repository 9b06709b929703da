"""Output paths are checked before the work that fills them (nerve.io.destination), and the
error names the user's path, not a temporary sibling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nerve.errors import InvalidInput
from nerve.io.destination import check_creatable


def test_a_parent_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InvalidInput) as caught:
        check_creatable(tmp_path / "a-file" / "deeper" / "out", "output directory")
    assert caught.value.message == (
        f"cannot create the output directory {tmp_path}/a-file/deeper/out: "
        f"{tmp_path}/a-file is not a directory"
    )


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_a_virtual_file_system_is_refused_by_the_probe() -> None:
    # /proc is a directory, and even root cannot create entries in it: only trying tells.
    with pytest.raises(InvalidInput, match=r"cannot create the output /proc/x\.nerve: .* in /proc"):
        check_creatable(Path("/proc/x.nerve"), "output")


def test_a_writable_place_passes_and_leaves_nothing(tmp_path: Path) -> None:
    check_creatable(tmp_path / "new" / "deeper" / "out", "output directory")
    check_creatable(tmp_path / "model.nerve", "output")
    assert os.listdir(tmp_path) == []  # neither the missing parents nor the probe remain
