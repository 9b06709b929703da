"""Every command shown in README.md and docs/*.md is run (or checked) here, and every output
shown next to one is compared with the real output, so a change that breaks an example
fails CI.

Conventions for writing docs (keep them and this test stays simple):

1. Commands live in fenced ```bash blocks. A line ending in ``\\`` continues on the next;
   ``# comment`` text after a command is ignored.
2. Shown output is either
   - lines ``# → OUTPUT`` right after the command (one per output line), or
   - the fenced ```text / ```json block right after a ```bash block that holds exactly one
     command.
   Text is compared line by line with runs of whitespace made equal (CoNLL tabs may be shown
   as spaces). JSON is compared as data; a number shown with N decimals must equal the real
   one rounded to N decimals, so examples may show short scores.
3. Each command is handled by the first rule that matches it:
   - ``nerve infer|info|export|eval``: RUN in-process with the embedded default model, in a
     scratch directory that holds ``texts.txt`` and ``texts.jsonl`` (see ``FILES``). CoNLL
     paths (``../shared/data/conll2003/eng.test?``) are replaced by their first
     ``EVAL_SENTENCES`` sentences, to bound the runtime; eval's figures are pinned by
     tests/integration/test_default_model.py instead.
   - ``echo TEXT | nerve ...``: the same, run by bash (stdin piped).
   - ``curl ... localhost:8080/...``: SENT to an in-process server app over the default model.
   - a SYNOPSIS line (it shows placeholders: ``[optional]``, ``a|b``, ``...``, ``path/to/``,
     ALL_CAPS names): not run, but every option it names must exist on that sub-command and
     every ``a|b`` choice must be accepted.
   - the explicit ``SKIPPED`` table below (a pattern, matched against the command or against
     ``file.md:LINE: command``, and the reason, naming the test that covers the command
     instead). A ``nerve`` command there still has its options checked.
   A command that matches no rule fails this test: make it runnable or add it to SKIPPED.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import nerve
from nerve.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EVAL_SENTENCES = 100
CONLL = re.compile(r"\.\./shared/data/conll2003/(eng\.\w+)")
FILES = {
    "texts.txt": "Tim Cook visited Paris.\nAngela Merkel met Emmanuel Macron in Berlin.\n",
    "texts.jsonl": '{"id": 1, "text": "Tim Cook visited Paris."}\n',
}
RUN = re.compile(r"^nerve (infer|info|export|eval)\b")
# Shell pipelines into those commands run under bash (the same checks otherwise).
PIPED = re.compile(r"^(echo|printf) .*\|\s*nerve (infer|info|export|eval)\b")
CURL = re.compile(r"^curl\b")
PLACEHOLDER = re.compile(r"\[|\.\.\.|path/to/|\b[A-Z][A-Z_]{2,}\b(?!=)|\w\|\w|<\w+>")
SKIPPED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(python -m venv|pip install)\b"), "installs packages: what .ci/run does"),
    (re.compile(r"^bash \.ci/run$"), "the CI entry point itself"),
    (re.compile(r"^bash scripts/quickstart\.sh$"), "creates a virtualenv and installs (minutes)"),
    (re.compile(r"^(\S+=\S+ )*nerve serve\b"), "runs until stopped: tests/server start it"),
    (re.compile(r"^nerve mcp\b"), "runs until stopped: tests/mcp start it"),
    (re.compile(r"^nerve build\b"), "builds an executable (minutes): tests/build"),
    (re.compile(r"^nerve bench\b"), "a benchmark (minutes): tests/bench/test_bench_smoke.py"),
    (re.compile(r"^nerve train\b"), "trains (minutes): tests/integration/test_train.py"),
    (
        re.compile(r"^nerve export runs/"),
        "step 2 of the retraining recipe (needs step 1's run): tests/unit/test_export.py",
    ),
    (re.compile(r"^(\./build/|sudo )"), "the built executable: tests/build/test_executable.py"),
    (
        re.compile(r"^(patterns|spacy)\.md:\d+: |--patterns\b"),
        "the patterns and spaCy pages run their blocks in order (each depends on the files "
        "the one before wrote): tests/patterns/test_patterns_docs.py, tests/spacy_ner",
    ),
    (
        re.compile(r"^models\.md:\d+: "),
        "the Rampart walk-through needs the real model package and the converted folder "
        "each step makes: tests/integration/test_rampart.py runs its commands",
    ),
    (
        re.compile(r"^(\S+=\S+ )*python -m pytest\b"),
        "runs a test suite: CI runs it (the reliability suite bounded, marker reliability)",
    ),
    (
        re.compile(r"^nerve (inspect|version|new-transform)\b"),
        "encoderfile's build commands (need a built executable or write files): "
        "tests/build/test_build_cli_api.py",
    ),
    (
        re.compile(r"^gpu\.md:\d+: "),
        "prepares and runs a GPU slot (downloads wheels, copies the data aside, needs a GPU); "
        "the rehearsal on CPU is tests/bench/test_gpu_check.py",
    ),
    (
        re.compile(r"^build\.md:\d+: curl "),
        "an executable built from dslim/bert-base-NER (illustrative values); the same route "
        "is checked on server.md's example and by tests/build/test_executable.py",
    ),
]


@dataclass
class Command:
    doc: str  # file:line, for messages
    line: str  # the command, continuations joined, comment dropped
    expected: list[str] | None = None  # shown output lines
    expected_json: str | None = None  # a shown JSON document, parsed when compared

    def __str__(self) -> str:
        return f"{self.doc}: {self.line}"


def _strip_comment(line: str) -> str:
    """The command without a trailing ``# comment`` (a ``#`` inside quotes stays)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        list(lexer)
    except ValueError:
        return line.strip()
    quoted, out = None, []
    for i, ch in enumerate(line):
        if quoted:
            quoted = None if ch == quoted else quoted
        elif ch in "'\"":
            quoted = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            break
        out.append(ch)
    return "".join(out).strip()


def _complete(line: str) -> bool:
    """No quote is left open."""
    try:
        shlex.split(line, comments=True)
    except ValueError:
        return False
    return True


def _blocks(path: Path) -> Iterator[tuple[str, int, list[str]]]:
    """(info string, first line number, lines) of every fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            info, start, body = lines[i][3:].strip(), i + 2, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield info, start, body
        i += 1


def commands(path: Path) -> list[Command]:
    out: list[Command] = []
    blocks = list(_blocks(path))
    for k, (info, start, body) in enumerate(blocks):
        if info != "bash":
            continue
        found: list[Command] = []
        pending, doc = "", ""
        for offset, raw in enumerate(body):
            doc = doc if pending else f"{path.name}:{start + offset}"
            stripped = raw.strip()
            if stripped.startswith("# →") and found and not pending:
                shown = stripped[len("# →") :].strip()
                found[-1].expected = [*(found[-1].expected or []), shown]
                continue
            if stripped.startswith("#") or not stripped:
                continue
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            if not _complete(pending + stripped):  # a quoted argument goes on (JSON bodies)
                pending += stripped + "\n"
                continue
            found.append(Command(doc, _strip_comment(pending + stripped)))
            pending = ""
        nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        if (
            nxt
            and nxt[0] in ("text", "json")
            and len(found) == 1
            and _adjacent(path, start, body, nxt[1])
        ):
            if nxt[0] == "json":
                found[0].expected_json = "\n".join(nxt[2])
            else:
                found[0].expected = nxt[2]
        out.extend(found)
    return out


def _adjacent(path: Path, start: int, body: list[str], next_start: int) -> bool:
    """The next block follows this one with only blank lines between."""
    lines = path.read_text(encoding="utf-8").splitlines()
    between = lines[start - 1 + len(body) + 1 : next_start - 2]
    return all(not line.strip() for line in between)


ALL = [c for doc in DOCS for c in commands(doc)]


def _rule(command: Command) -> tuple[str, str]:
    for pattern, reason in SKIPPED:
        if pattern.search(command.line) or pattern.search(str(command)):
            return "skip", reason
    if CURL.search(command.line):
        return "curl", ""
    if PLACEHOLDER.search(command.line):
        return "synopsis", "shows placeholders"
    if RUN.search(command.line):
        return "run", ""
    if PIPED.search(command.line):
        return "piped", ""
    return "unknown", ""


def _sub_parser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]  # type: ignore[no-any-return]


def check_options(line: str) -> None:
    """Every ``--option`` of a ``nerve COMMAND`` line exists; every ``a|b`` choice shown
    after an option is one of its choices. Quoted arguments are not looked into."""
    try:
        tokens = shlex.split(line)
    except ValueError:
        tokens = line.split()
    if "nerve" not in tokens or tokens.index("nerve") + 1 >= len(tokens):
        return
    at = tokens.index("nerve") + 1
    name = tokens[at]
    parser = _sub_parser(name)
    options = {s: a for a in parser._actions for s in a.option_strings}
    rest = [t.strip("[]") for t in tokens[at + 1 :]]
    for i, token in enumerate(rest):
        if not re.match(r"^--?[a-zA-Z]", token):
            continue
        flag = token.split("=", 1)[0]
        assert flag in options, f"{line}: nerve {name} has no option {flag}"
        value = (
            token.split("=", 1)[1] if "=" in token else (rest[i + 1] if i + 1 < len(rest) else "")
        )
        if "|" in value and options[flag].choices is not None:
            for choice in value.split("|"):
                assert choice in options[flag].choices, f"{line}: {flag} does not accept {choice}"


def test_every_command_has_a_rule() -> None:
    assert len(ALL) > 20  # the docs were found and parsed
    unknown = [str(c) for c in ALL if _rule(c)[0] == "unknown"]
    assert not unknown, "make these runnable or add them to SKIPPED:\n" + "\n".join(unknown)


@pytest.mark.parametrize(
    "command", [c for c in ALL if _rule(c)[0] in ("skip", "synopsis")], ids=str
)
def test_synopsis_and_skipped_nerve_lines_name_real_options(command: Command) -> None:
    check_options(command.line)


# -- running ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("docs")
    for name, text in FILES.items():
        (work / name).write_text(text, encoding="utf-8")
    return work


def _conll_slice(name: str, work: Path) -> str:
    source = Path(os.environ.get("NERVE_CONLL_DIR", ROOT.parent / "shared/data/conll2003")) / name
    if not source.exists():
        pytest.skip(f"{source} is not here (set NERVE_CONLL_DIR)")
    target = work / f"{name}.head"
    if not target.exists():
        sentences = source.read_text(encoding="utf-8").split("\n\n")
        target.write_text("\n\n".join(sentences[: EVAL_SENTENCES + 1]) + "\n", encoding="utf-8")
    return str(target)


def _same_json(shown: Any, real: Any, where: str = "$") -> None:
    if isinstance(shown, float) and isinstance(real, (int, float)):
        decimals = len(repr(shown).split(".")[1]) if "." in repr(shown) else 0
        assert math.isclose(round(real, decimals), shown, abs_tol=10**-decimals / 2 + 1e-12), (
            f"{where}: shown {shown}, real {real}"
        )
    elif isinstance(shown, dict):
        assert isinstance(real, dict) and list(shown) == list(real), (
            f"{where}: keys {list(shown)} vs {list(real) if isinstance(real, dict) else real}"
        )
        for key in shown:
            _same_json(shown[key], real[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(real, list) and len(shown) == len(real), f"{where}: {shown} vs {real}"
        for i, (a, b) in enumerate(zip(shown, real, strict=True)):
            _same_json(a, b, f"{where}[{i}]")
    else:
        assert shown == real, f"{where}: shown {shown!r}, real {real!r}"


def _compare(command: Command, output: str) -> None:
    if command.expected_json is not None:
        try:
            shown = json.loads(command.expected_json)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{command}: the shown output is not JSON: {exc}") from None
        _same_json(shown, json.loads(output))
    if command.expected is not None:
        real = [" ".join(line.split()) for line in output.strip("\n").splitlines()]
        shown = [" ".join(line.split()) for line in command.expected]
        assert real == shown, (
            f"{command}: shown\n" + "\n".join(shown) + "\nreal\n" + "\n".join(real)
        )


@pytest.mark.parametrize("command", [c for c in ALL if _rule(c)[0] == "run"], ids=str)
def test_documented_command_runs_and_prints_what_is_shown(
    command: Command,
    scratch: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(scratch)
    argv = shlex.split(command.line)[1:]
    argv = [CONLL.sub(lambda m: _conll_slice(m.group(1), scratch), a) for a in argv]
    if argv[0] == "eval" and "--no-progress" not in argv:
        argv.append("--no-progress")
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, f"{command}\n{err}"
    _compare(command, out)


@pytest.mark.parametrize("command", [c for c in ALL if _rule(c)[0] == "piped"], ids=str)
def test_documented_pipeline_runs_and_prints_what_is_shown(command: Command, scratch: Path) -> None:
    # `nerve` is this checkout's CLI, whatever is installed on PATH.
    prelude = f'nerve() {{ {shlex.quote(sys.executable)} -m nerve.cli.main "$@"; }}; '
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        ["bash", "-c", prelude + command.line],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stderr}"
    _compare(command, done.stdout)


# -- HTTP examples --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http() -> Iterator[Any]:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from nerve.server.config import ServerConfig
    from nerve.server.http.app import create_app
    from nerve.server.metrics import ServerMetrics
    from nerve.server.service import InferenceService

    service = InferenceService(nerve.load(), ServerConfig(), ServerMetrics())
    service.start()
    try:
        # The Host a documented ``curl localhost:8080`` sends (the server's allow-list).
        with TestClient(create_app(service), base_url="http://localhost:8080") as client:
            yield client
    finally:
        service.close()


def _curl(line: str) -> tuple[str, str, str | None, dict[str, str]]:
    """(method, path, body, headers) of a documented curl command, with the Content-Type
    curl itself sends for ``-d`` when none is given (a form type the server refuses)."""
    args = shlex.split(line)[1:]
    method, path, body = None, None, None
    headers: dict[str, str] = {}
    it = iter(args)
    for arg in it:
        if arg in ("-X", "--request"):
            method = next(it)
        elif arg in ("-d", "--data"):
            body = next(it)
        elif arg in ("-H", "--header"):
            name, _, value = next(it).partition(":")
            headers[name.strip().lower()] = value.strip()
        elif not arg.startswith("-"):
            path = "/" + arg.split("//", 1)[-1].split("/", 1)[1]
    assert path is not None, line
    if body is not None:
        headers.setdefault("content-type", "application/x-www-form-urlencoded")
    return method or ("POST" if body is not None else "GET"), path, body, headers


@pytest.mark.parametrize("command", [c for c in ALL if _rule(c)[0] == "curl"], ids=str)
def test_documented_http_example_answers_what_is_shown(command: Command, http: Any) -> None:
    method, path, body, headers = _curl(command.line)
    response = http.request(method, path, content=body, headers=headers)
    assert response.status_code == 200, f"{command}: {response.status_code} {response.text}"
    _compare(command, response.text)


_SPECIAL = set("0123456789?!@*#$-")


def _expanded_by_a_shell(line: str) -> list[str]:
    """The positional and special parameters (``$1``, ``$?``...) a shell would expand in
    ``line``: outside single quotes. The commands run here are split by shlex, which leaves
    ``"... $1 billion"`` as written, where bash, as a reader pastes it, puts in an empty
    ``$1``. (Named variables such as ``$KEY`` are meant to be expanded.)"""
    found, quoted = [], None
    for i, ch in enumerate(line):
        if quoted == "'":
            quoted = None if ch == "'" else quoted
        elif ch == "'" and quoted is None:
            quoted = "'"
        elif ch == '"':
            quoted = None if quoted == '"' else '"'
        elif ch == "$" and line[i + 1 : i + 2] in _SPECIAL and (i == 0 or line[i - 1] != "\\"):
            found.append(line[i : i + 2])
    return found


@pytest.mark.parametrize("command", ALL, ids=str)
def test_a_command_means_in_a_shell_what_it_means_here(command: Command) -> None:
    assert not _expanded_by_a_shell(command.line), (
        f"{command}: a shell would expand this $: quote it in single quotes"
    )
