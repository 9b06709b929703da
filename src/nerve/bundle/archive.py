"""``.nerve`` archives: one zip file holding a built model directory and its manifest.

``write_bundle`` packs a directory that already has a ``nerve_bundle.json`` (written by
``nerve build``); ``open_bundle`` unpacks an archive — a ``.nerve`` file, or the bundle
appended to a built executable (``nerve.bundle.appended``) — into a cache directory,
checking every member against the manifest's SHA-256, and returns a directory ``nerve.load``
accepts.

The archive is a plain zip (any unzip tool can look inside). Members are flat file names,
exactly the manifest's files plus the manifest: anything else — a directory, a ``..``, an
extra file — rejects the archive, so extracting one can write nowhere but its own folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import ModelLoadError
from .appended import SliceFile, find_appended
from .manifest import MANIFEST_FILE, Manifest, read_manifest, verify_files

SUFFIX = ".nerve"
# Graph weights barely compress (float noise); deflating them only costs build time.
_STORED_SUFFIXES = (".onnx", ".data", "_data")
_CHUNK = 1 << 20


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nerve" / "bundles"


@contextlib.contextmanager
def _atomic_file(target: Path) -> Iterator[Path]:
    """A temporary sibling of ``target`` that replaces it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bundle(model_dir: Path, out: Path) -> Path:
    """Pack ``model_dir`` (which must carry a manifest) into the archive ``out``."""
    model_dir, out = Path(model_dir), Path(out)
    manifest = read_manifest(model_dir)
    if manifest is None:
        raise ModelLoadError(f"{model_dir} has no {MANIFEST_FILE}; build it with `nerve build`")
    verify_files(model_dir, manifest.files)
    with _atomic_file(out) as tmp, zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
        archive.writestr(MANIFEST_FILE, manifest.to_json(), zipfile.ZIP_DEFLATED)
        for name in manifest.files:
            method = zipfile.ZIP_STORED if name.endswith(_STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
            archive.write(model_dir / name, name, method)
    return out


def resolve_bundle(path: Path) -> Path:
    """``path`` itself, or — for a bundle file — its verified, extracted directory.

    The one-line hook for the model resolver: every command that takes a model directory
    then accepts a bundle too. A bundle is a ``.nerve`` file, or any file that is a zip
    archive holding the manifest: ``nerve build --bundle-only`` writes it to
    ``encoderfile.output_path`` whatever that path's suffix (encoderfile's own example
    config names it ``*.encoderfile``).
    """
    path = Path(path)
    if path.is_file() and (path.suffix == SUFFIX or _holds_manifest(path)):
        return open_bundle(path)
    return path


def _holds_manifest(path: Path) -> bool:
    """Whether ``path`` is a zip archive with a bundle manifest (read from its directory only)."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as archive:
            return MANIFEST_FILE in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False  # unreadable: the caller's own checks name the problem


def open_bundle(path: Path, cache_dir: Path | None = None) -> Path:
    """The verified, extracted model directory of the ``.nerve`` archive ``path``.

    Extracted once per content (the cache key is the manifest's SHA-256, which covers every
    file's SHA-256) into ``cache_dir/<key>/<name>`` — named after the model, so that
    ``nerve.load`` reports it as the model id. A cached copy is re-hashed on every open,
    so a file changed on disk is never served.
    """
    path = Path(path)
    with _open_archive(path, f"{path} is not a .nerve bundle (not a zip archive)") as archive:
        manifest_text = _read_manifest_text(archive, path)
        manifest = Manifest.from_json(manifest_text, str(path))
        _check_members(archive, manifest, path)
        key = hashlib.sha256(manifest_text.encode("utf-8")).hexdigest()[:32]
        target = (cache_dir or default_cache_dir()) / key / manifest.name
        if not _cached(target, manifest):
            _extract_into(archive, manifest, target, path)
    return target


def _open_archive(path: Path, not_zip: str) -> zipfile.ZipFile:
    """The bundle zip of a ``.nerve`` file, or the one appended to a built executable.

    Only opening tells that a file is no zip at all (``not_zip`` is that error); a damaged
    member shows later, when it is read (``read_member``).
    """
    appended = find_appended(path)
    try:
        if appended is None:
            return zipfile.ZipFile(path)
        return zipfile.ZipFile(SliceFile(path, *appended))
    except zipfile.BadZipFile:
        raise ModelLoadError(not_zip) from None
    except FileNotFoundError:
        raise ModelLoadError(f"{path} does not exist") from None


def read_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    """One member's bytes; a damaged one is named (zipfile checks each member's CRC-32)."""
    try:
        return archive.read(name)
    except _DAMAGE as exc:
        raise damaged_member(path, name, exc) from None


# What zipfile raises for a member whose bytes were changed: a CRC-32 mismatch or a bad
# local header (BadZipFile), or a deflate stream that no longer decodes (zlib.error).
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError)


def damaged_member(path: Path, name: str, exc: BaseException) -> ModelLoadError:
    return ModelLoadError(
        f"{path}: member {name} is corrupt ({exc}); the file was damaged after it was built "
        "(an interrupted or altered copy): copy or build it again"
    )


def bundle_manifest(path: Path) -> Manifest:
    """The manifest of a ``.nerve`` file or a built executable, without extracting anything."""
    path = Path(path)
    not_zip = f"{path} is neither a .nerve bundle nor an executable built by this nerve"
    with _open_archive(path, not_zip) as archive:
        return Manifest.from_json(_read_manifest_text(archive, path), str(path))


def _read_manifest_text(archive: zipfile.ZipFile, path: Path) -> str:
    try:
        return read_member(archive, MANIFEST_FILE, path).decode("utf-8")
    except KeyError:
        raise ModelLoadError(f"{path} has no {MANIFEST_FILE}: not a .nerve bundle") from None
    except UnicodeDecodeError:
        raise ModelLoadError(f"{path}: {MANIFEST_FILE} is not UTF-8") from None


def _check_members(archive: zipfile.ZipFile, manifest: Manifest, path: Path) -> None:
    names = archive.namelist()
    if len(names) != len(set(names)):
        raise ModelLoadError(f"{path} holds a member twice")
    expected = set(manifest.files) | {MANIFEST_FILE}
    extra = sorted(set(names) - expected)
    missing = sorted(expected - set(names))
    if extra:
        raise ModelLoadError(f"{path} holds member(s) not in its manifest: {extra}")
    if missing:
        raise ModelLoadError(f"{path} lacks member(s) listed in its manifest: {missing}")


def _cached(target: Path, manifest: Manifest) -> bool:
    if not target.is_dir():
        return False
    if read_manifest(target) != manifest:
        shutil.rmtree(target, ignore_errors=True)
        return False
    try:
        verify_files(target, manifest.files)
    except ModelLoadError:
        shutil.rmtree(target, ignore_errors=True)  # corrupt cache: extract again
        return False
    return True


def _extract_into(archive: zipfile.ZipFile, manifest: Manifest, target: Path, path: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        _extract(archive, manifest, tmp, path)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process extracted the same bundle first: use its copy if it is sound.
            if not _cached(target, manifest):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract(archive: zipfile.ZipFile, manifest: Manifest, out: Path, path: Path) -> None:
    out.mkdir()
    for name, expected in manifest.files.items():
        digest = hashlib.sha256()
        try:
            with archive.open(name) as src, (out / name).open("wb") as dst:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
        except _DAMAGE as exc:
            raise damaged_member(path, name, exc) from None
        if digest.hexdigest() != expected:
            raise ModelLoadError(
                f"{path}: member {name} does not match its SHA-256 in {MANIFEST_FILE} "
                "(the archive is corrupt or was changed)"
            )
    (out / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
