"""The server's everyday surface (issue 12): the access log, the page's icon, every strategy
on the page with nerve's one default selected, the shared label palette, and a taken gRPC
port reported without gRPC's raw C-core log line."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nerve.io.formats import to_html
from nerve.io.palette import KNOWN, label_colour
from nerve.server.assets import index_html
from nerve.types import DEFAULT_AGGREGATION, Aggregation, Entity, TextResult

from .procs import ServerProcess, free_port, start_server

KEY = "surface-key"


@pytest.fixture(scope="module")
def logged_server(
    model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    proc = start_server(
        model_dir,
        tmp_path_factory.mktemp("surface-logs"),
        "--threads",
        "1",
        "--disable-grpc",
        "--access-log",
        "--api-key",
        KEY,
        "--log-level",
        "warning",  # the access log shows even so: it was asked for
    )
    yield proc
    assert proc.stop() == 0, proc.log()


def test_access_log_has_one_line_per_request(logged_server: ServerProcess) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    assert httpx.get(logged_server.url + "/health", timeout=10).status_code == 200
    body = {"inputs": ["Tim Cook visited Paris."]}
    response = httpx.post(logged_server.url + "/v1/entities", json=body, headers=auth, timeout=30)
    assert response.status_code == 200
    assert (
        httpx.get(logged_server.url + "/no-such-route", headers=auth, timeout=10).status_code == 404
    )
    assert httpx.get(logged_server.url + "/metrics", timeout=10).status_code == 401
    lines = logged_server.log().splitlines()
    for method, path, status in [
        ("GET", "/health", 200),
        ("POST", "/v1/entities", 200),
        ("GET", "/no-such-route", 404),
        ("GET", "/metrics", 401),
    ]:
        pattern = re.compile(rf"nerve\.access: {method} {re.escape(path)} {status} \d+\.\d ms$")
        seen = sum(bool(pattern.search(line)) for line in lines)
        # /health is also polled while the test waits for the server to start.
        assert seen >= 1 if path == "/health" else seen == 1, lines


def test_favicon_is_served_without_a_key(logged_server: ServerProcess) -> None:
    for name in ("/favicon.ico", "/favicon.svg"):
        response = httpx.get(logged_server.url + name, timeout=10)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.text.startswith("<svg")
    assert 'rel="icon" href="favicon.svg"' in httpx.get(logged_server.url + "/", timeout=10).text


def test_page_offers_every_strategy_with_the_default_selected() -> None:
    page = index_html()
    options = re.findall(r'<option value="(\w+)"( selected)?>', page)
    assert sorted(name for name, _ in options) == sorted(a.value for a in Aggregation)
    assert [name for name, selected in options if selected] == [DEFAULT_AGGREGATION.value]


def test_page_and_cli_html_share_one_palette() -> None:
    page = index_html()
    known = re.search(r"const KNOWN = (\{.*?\});", page)
    assert known is not None and eval(known.group(1)) == KNOWN  # noqa: S307 - a JSON literal
    text = "Tim Cook met Acme in Paris about Gizmo."
    spans = [("PER", "Tim Cook"), ("ORG", "Acme"), ("LOC", "Paris"), ("PRODUCT", "Gizmo")]
    entities = tuple(
        Entity(label, 0.9, text.index(s), text.index(s) + len(s), s) for label, s in spans
    )
    rendered = to_html([TextResult(text, entities)])
    for label, _ in spans:
        assert f"background:{label_colour(label)}" in rendered
    # An unknown type gets the same hashed colour the page's JavaScript computes.
    digest = 0
    for ch in "PRODUCT":
        digest = (digest * 31 + ord(ch)) & 0xFFFFFFFF
    assert label_colour("B-PRODUCT") == f"hsl({digest % 360}, 70%, 80%)"
    assert (
        "(hash * 31 + ch.codePointAt(0)) >>> 0" in page and "hsl(${hash % 360}, 70%, 80%)" in page
    )


def test_taken_grpc_port_is_one_clean_error(model_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "nerve.cli.main", "serve", "--model", str(model_dir)]
            + ["--grpc-port", str(port), "--http-port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2
    assert f"nerve serve: error: cannot listen for gRPC on 127.0.0.1:{port}" in done.stderr
    assert "add_port" not in done.stderr and "E1130" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_page_script_parses_and_colours_like_python(tmp_path: Path) -> None:
    script = re.search(r"<script>(.*)</script>", index_html(), re.S)
    assert script is not None
    page_js = tmp_path / "page.js"
    page_js.write_text(script.group(1), encoding="utf-8")
    checked = subprocess.run(["node", "--check", str(page_js)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    labels = ["B-PER", "I-ORG", "LOC", "MISC", "PRODUCT", "B-DATE-TIME", "Ωμέγα"]
    palette = script.group(1).split("// Entity offsets")[0]  # the palette part, no DOM needed
    probe = palette + f"\nconsole.log(JSON.stringify({json.dumps(labels)}.map(colour)));"
    ran = subprocess.run(["node", "-e", probe], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [label_colour(label) for label in labels]
