"""The demo page at ``GET /``: served self-contained, and (with Chromium) really highlighting."""

from __future__ import annotations

import html
import re
import subprocess
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from .procs import ServerProcess, start_server

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


def rendered(url: str) -> str:
    """The page's DOM once headless Chromium has run its script."""
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",  # tests may run as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=15000",  # let the page's fetch and rendering finish
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def status_of(dom: str) -> tuple[str, str]:
    """The status line's class and text."""
    found = re.search(r'<div id="status"([^>]*)>(.*?)</div>', dom, re.S)
    assert found, dom[-2000:]
    kind = re.search(r'class="(\w*)"', found.group(1))
    return (kind.group(1) if kind else ""), html.unescape(found.group(2))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
@pytest.mark.parametrize("strategy", ["simple", "none"])
def test_headless_chromium_shows_highlighted_entities(server: ServerProcess, strategy: str) -> None:
    query = urllib.parse.urlencode({"text": TEXT, "strategy": strategy})
    dom = rendered(f"{server.url}/?{query}")
    parser = Marks()
    parser.feed(dom)

    api = httpx.post(
        server.url + "/v1/entities",
        json={"inputs": [TEXT], "aggregation_strategy": strategy},
        timeout=30,
    ).json()
    want = [(e["label"], e["text"]) for e in api["results"][0]["entities"]]
    assert want, "the tiny model found nothing to highlight"
    assert parser.marks == want
    assert 'data-state="done"' in dom


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
def test_a_link_with_an_unknown_strategy_says_so_and_sends_nothing(server: ServerProcess) -> None:
    """The select went blank and the server answered about an empty strategy ''."""
    dom = rendered(f"{server.url}/?" + urllib.parse.urlencode({"text": TEXT, "strategy": "bogus"}))
    kind, message = status_of(dom)
    assert kind == "error"
    assert message.startswith("the link's strategy 'bogus' is not one of word, none, simple")
    assert "<mark" not in dom and 'data-state="done"' not in dom


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
def test_a_refused_text_shows_the_servers_message_and_no_entities(
    model_dir: Path, tmp_path: Path
) -> None:
    server = start_server(model_dir, tmp_path, "--threads", "1", "--max-input-chars", "20")
    try:
        dom = rendered(f"{server.url}/?" + urllib.parse.urlencode({"text": TEXT}))
    finally:
        server.stop()
    kind, message = status_of(dom)
    assert kind == "error"
    assert message == f"413 input 0 has {len(TEXT)} characters; the limit is 20 (--max-input-chars)"
    assert "<mark" not in dom
