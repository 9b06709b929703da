"""Every relative link in README.md, BENCHMARKS.md and docs/*.md points at a file of the
repository, and every ``#anchor`` at a heading of its target, so a renamed section or a moved
file fails CI instead of leaving a dead link on the front door.

Anchors follow GitHub's rule for headings: lower case, punctuation other than ``-`` and ``_``
dropped, each space a ``-``; a repeated heading gets ``-1``, ``-2``, ... Links to other sites
(``http:``, ``https:``, ``mailto:``) are not followed: the tests run offline.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").glob("*.md")])

# [text](target) outside code; the target ends at whitespace or ")" (titles are not used here).
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _prose_lines(text: str) -> list[str]:
    """The page's lines outside fenced code blocks, with inline code spans blanked."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`[^`]*`", "``", line))
    return lines


def github_slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match is None:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def links(page: Path) -> list[str]:
    return [
        m.group(1) for line in _prose_lines(page.read_text("utf-8")) for m in LINK.finditer(line)
    ]


def test_the_pages_hold_links() -> None:
    """The checker sees links at all (a broken pattern would pass every page)."""
    assert sum(len(links(page)) for page in PAGES) > 10


def test_github_slug_follows_githubs_rule() -> None:
    assert github_slug("Server at saturation vs the engine (wrk, same run)") == (
        "server-at-saturation-vs-the-engine-wrk-same-run"
    )
    assert (
        github_slug("`nerve batch`: local engine vs `--ray`") == "nerve-batch-local-engine-vs---ray"
    )


def dead_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # another site (http:, https:, mailto:)
        path_part, _, anchor = target.partition("#")
        file = (page.parent / path_part).resolve() if path_part else page
        if not file.exists():
            broken.append(f"{target}: no file {file.name} in {file.parent}")
            continue
        if anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading with anchor #{anchor} in {file.name}")
    return broken


def test_a_dead_file_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A section (with, punctuation)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## Here\n\n"
        "[ok](#here) [ok](other.md#a-section-with-punctuation) [ok](https://example.com/#x)\n"
        "[dead](#nowhere) [dead](missing.md) [dead](other.md#a-section)\n"
        "```\n[in code](#not-checked)\n```\n"
    )
    assert dead_links(page) == [
        "#nowhere: no heading with anchor #nowhere in page.md",
        f"missing.md: no file missing.md in {tmp_path}",
        "other.md#a-section: no heading with anchor #a-section in other.md",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = dead_links(page)
    assert not broken, f"{page.name}: dead links:\n" + "\n".join(broken)
