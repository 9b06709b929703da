"""Every ``nerve`` sub-command, driven with bad arguments and bad paths: a non-zero exit and
ONE line ``nerve ...: error: ...`` on stderr, never a traceback (issue 12, item 1).

Run in-process: an exception that escapes ``main`` fails the test with its traceback. Cases
that would start a long-running server never get that far (the model path is bad).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nerve.cli.main import COMMANDS

from .conftest import run_cli

MISSING = "/nonexistent/nerve-test"

# {tmp}: a fresh temporary directory holding empty-dir/, garbage.txt and bad.yml.
CASES: dict[str, list[list[str]]] = {
    "": [[], ["no-such-command"], ["--no-such-flag"]],
    "infer": [
        ["infer", "-a", "no-such-strategy", "x"],
        ["infer", "--window", "not-a-number", "x"],
        ["infer", "--window", "0", "x"],
        ["infer", "--stride", "-1", "x"],
        ["infer", "--max-batch-tokens", "0", "x"],
        ["infer", "--threads", "100000", "x"],  # torch crashed, OpenMP failed to start them
        ["infer", "--cuda-graphs", "maybe", "x"],
        ["infer", "--cuda-graphs", "on", "x"],  # the default model runs on ONNX Runtime
        ["infer", "-m", MISSING, "x"],
        ["infer", "-m", "{tmp}/empty-dir", "x"],
        ["infer", "-i", MISSING],
        ["infer", "-i", "{tmp}/empty-dir"],
        ["infer", "-i", "{tmp}/garbage.txt", "--input-format", "jsonl"],
        ["infer", "-i", "{tmp}/garbage.txt", "--input-format", "parquet"],
        ["infer", "-i", "{tmp}/garbage.txt", "also-a-text"],
        ["infer", "x", "-o", MISSING + "/out.json"],
        ["infer", "x", "-o", "{tmp}/empty-dir"],
        ["infer", "x", "-o", ""],
        ["infer", "-i", "{tmp}/surrogate.jsonl"],  # JSON's "\\udc00": no tokenizer takes it
        ["infer", "Jos\udce9 Tim"],  # an argument whose bytes were not UTF-8
    ],
    "info": [
        ["info", MISSING],
        ["info", "{tmp}/empty-dir"],
        ["info", "{tmp}/garbage.txt"],
        ["info", "--model", MISSING],
        ["info", "{tmp}/empty-dir", "--model", "{tmp}/garbage.txt"],  # two models
    ],
    "export": [
        ["export", MISSING, "{tmp}/out"],
        ["export", "{tmp}/empty-dir", "{tmp}/out"],
        ["export", "{tmp}/empty-dir", "{tmp}/out", "--quantize", "int4"],
        ["export"],
    ],
    "train": [
        ["train", "--base", MISSING, "--train", MISSING, "--dev", MISSING, "--out", "{tmp}/m"],
        ["train", "--base", "{tmp}/empty-dir"],
        ["train", "--epochs", "x"],
        [
            "train",
            "--base",
            MISSING,
            "--train",
            MISSING,
            "--dev",
            MISSING,
            "--out",
            "{tmp}/m",
            "--device",
            "gpu",
        ],  # fmt: skip
        ["infer", "--device", "gpu", "x"],
    ],
    "eval": [
        ["eval", "--data", MISSING],
        ["eval", "--data", "{tmp}/empty-dir"],
        ["eval", "--data", "{tmp}/garbage.txt"],
        ["eval", "--data", "{tmp}/garbage.txt", "--batch-size", "0"],
        ["eval"],
    ],
    "serve": [
        ["serve", "--model", MISSING, "--disable-grpc"],
        ["serve", "--http-port", "not-a-port"],
        ["serve", "--cuda-graphs", "maybe"],
        ["serve", "--backend", "no-such-backend"],
    ],
    "bench": [
        ["bench", "--peers", "no-such-peer"],
        ["bench", "--conll", MISSING, "--peers", "none"],
        ["bench", "--shape", "no-such-shape"],
    ],
    "build": [
        ["build", "-f", MISSING],
        ["build", "-f", "{tmp}/empty-dir"],
        ["build", "-f", "{tmp}/bad.yml"],
        ["build", "-f", "{tmp}/garbage.txt"],
        ["build", "-f", "{tmp}/utf16.yml"],
        ["build"],
    ],
    "mcp": [
        ["mcp", "--model", MISSING],
        ["mcp", "--transport", "no-such-transport"],
        ["mcp", "--port", "not-a-port"],
    ],
    "version": [["version", "--no-such-flag"]],
    "batch": [
        ["batch"],
        ["batch", MISSING, "--output", "{tmp}/out"],
        ["batch", "{tmp}/garbage.txt", "--output", "{tmp}/garbage.txt"],
    ],
    "inspect": [["inspect", MISSING], ["inspect", "{tmp}/garbage.txt"], ["inspect"]],
    "new_transform": [["new-transform", "-m", "no-such-kind"]],
}


def test_every_command_has_cases() -> None:
    assert set(CASES) - {""} == set(COMMANDS)


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "garbage.txt").write_text("this is not\nany format at all {\n")
    (tmp_path / "bad.yml").write_text("a: [\n")
    (tmp_path / "surrogate.jsonl").write_text('{"text": "\\udc00 Tim Cook"}\n')
    (tmp_path / "utf16.yml").write_text("model: m\n", encoding="utf-16")
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [argv for cases in CASES.values() for argv in cases],
    ids=lambda argv: " ".join(argv) or "(nothing)",
)
def test_user_error_is_one_line_without_traceback(
    argv: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.replace("{tmp}", str(workdir)) for a in argv]
    code, _, err = run_cli(capsys, *args)
    assert code != 0
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and ": error: " in lines[0], err


@pytest.mark.parametrize("command", ["info", "infer", "serve", "bench", "mcp"])
def test_an_unknown_flag_is_reported_by_its_command(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The top-level help does not list a command's flags: the error names the command's."""
    code, _, err = run_cli(capsys, command, "--no-such-flag")
    assert code == 2
    assert err.strip() == (
        f"nerve {command}: error: unrecognized arguments: --no-such-flag "
        f"(see nerve {command} --help)"
    )
