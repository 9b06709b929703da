"""``nerve build -f CONFIG [-o PATH] [--bundle-only]``: an encoderfile YAML config → one
self-contained executable (or one ``.nerve`` archive), with encoderfile's build flags."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "build",
        help="build a self-contained executable from an encoderfile YAML config",
        description="Reads encoderfile's build config (plus nerve's optional `nerve:` "
        "mapping), validates the model and writes one executable that serves it with no "
        "Python installed; see docs/build.md.",
    )
    p.add_argument("-f", "--config", type=Path, required=True, help="the YAML build config")
    p.add_argument(
        "-o",
        "--output-path",
        "--output",
        dest="output",
        type=Path,
        default=None,
        help="output file (default: encoderfile.output_path, else ./<name>)",
    )
    p.add_argument(
        "--bundle-only",
        action="store_true",
        help="write a .nerve archive (model + tokenizer + manifest) instead of an executable; "
        "run it with `nerve serve --model FILE.nerve`",
    )
    p.add_argument(
        "--base-binary-path",
        type=Path,
        default=None,
        help="a nerve runtime executable to append the model to (default: the cached one)",
    )
    p.add_argument(
        "--target",
        "--platform",
        dest="target",
        default=None,
        help="target triple; nerve builds for this machine (another one is a notice)",
    )
    p.add_argument(
        "--runtime-version",
        default=None,
        help="runtime version; must be this nerve's (nerve builds with its own runtime)",
    )
    p.add_argument(
        "--no-download",
        action="store_true",
        help="accepted for encoderfile: nerve never downloads (it compiles its runtime)",
    )
    p.add_argument(
        "--directory",
        type=Path,
        default=None,
        help="working directory: relative paths in the config (and the default output) "
        "resolve from here",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where the runtime executable is cached (default $XDG_CACHE_HOME/nerve/runtime)",
    )
    p.set_defaults(run=run)


def _say(line: str) -> None:
    # Progress goes to stderr so `-o -`-style piping of other commands' output stays clean.
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..build import BuildError, build, load_config
    from ..build.api import check_runtime_version
    from ..build.config import target_notice

    check_runtime_version(args.runtime_version)
    cwd = None
    if args.directory is not None:
        if not args.directory.is_dir():
            raise BuildError(f"--directory {args.directory} is not a directory")
        cwd = args.directory.absolute()
    config = load_config(args.config, cwd=cwd)
    changes: dict[str, object] = {}
    if args.base_binary_path is not None:
        changes["base_binary_path"] = args.base_binary_path.absolute()
    if args.cache_dir is not None:
        changes["cache_dir"] = args.cache_dir.absolute()
    if args.target is not None:
        notice = target_notice(args.target, "--target")
        if notice is None:
            raise BuildError(
                f"--target {args.target!r} is not a target triple such as x86_64-unknown-linux-gnu"
            )
        changes["target"] = args.target
        if notice:
            changes["notices"] = (*config.notices, notice)
    config = dataclasses.replace(config, **changes)  # type: ignore[arg-type]
    output = None if args.output is None else (config.cwd / args.output)
    try:
        with _terminate_as_interrupt():
            result = build(config, output=output, bundle_only=args.bundle_only, say=_say)
    except _Terminated:
        _say("nerve build: terminated (SIGTERM); its partial files were removed")
        return 128 + signal.SIGTERM
    _say(f"  {result.size_bytes / 1e6:.1f} MB")
    return 0


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the build is: a KeyboardInterrupt so that everything that
    cleans up after Ctrl-C (temporary directories, partial outputs, a PyInstaller or
    transform child process) does the same for a `kill` or a stopping container."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    # By default SIGTERM ends the process at once: no `finally` runs, so the build's
    # temporary directory and the output's `.partial-` sibling would stay behind.
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers (a build from a thread)
        return
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if not raised:  # a second SIGTERM must not interrupt the clean-up of the first
            raised = True
            raise _Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
