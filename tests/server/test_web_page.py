"""The demo page at ``GET /``: served self-contained, and (with Chromium) really highlighting."""

from __future__ import annotations

import re
import subprocess
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from .procs import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
# An emoji before entities: the page must map code-point offsets onto UTF-16 strings.
TEXT = "Angela Merkel met Tim Cook in Berlin 😀 and Paris on Monday."


def test_page_is_served_without_external_resources(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<textarea" in html and "v1/entities" in html
    # No CDN: nothing is loaded from another origin (no internet where nerve often runs).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html


class Marks(HTMLParser):
    """Collects (label, text) of every highlighted entity in the rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[str, str]] = []
        self._label: str | None = None
        self._text = ""
        self._in_tag = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "mark" and attributes.get("class") == "entity":
            self._label, self._text = attributes.get("data-label") or "", ""
        elif tag == "span" and self._label is not None:
            self._in_tag = True  # the small label badge inside the mark, not entity text

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_tag = False
        elif tag == "mark" and self._label is not None:
            self.marks.append((self._label, self._text))
            self._label = None

    def handle_data(self, data: str) -> None:
        if self._label is not None and not self._in_tag:
            self._text += data


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
@pytest.mark.parametrize("strategy", ["simple", "none"])
def test_headless_chromium_shows_highlighted_entities(server: ServerProcess, strategy: str) -> None:
    query = urllib.parse.urlencode({"text": TEXT, "strategy": strategy})
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",  # tests may run as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=15000",  # let the page's fetch and rendering finish
            "--dump-dom",
            f"{server.url}/?{query}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    parser = Marks()
    parser.feed(done.stdout)

    api = httpx.post(
        server.url + "/v1/entities",
        json={"inputs": [TEXT], "aggregation_strategy": strategy},
        timeout=30,
    ).json()
    want = [(e["label"], e["text"]) for e in api["results"][0]["entities"]]
    assert want, "the tiny model found nothing to highlight"
    assert parser.marks == want
    assert 'data-state="done"' in done.stdout
