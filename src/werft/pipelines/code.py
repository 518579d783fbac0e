"""The code a pipeline runs: a reproducible snapshot of the repository.

``werft train`` packs the repository into a tar.gz — in a git repository the
files git tracks plus the untracked ones it does not ignore; elsewhere every
file but hidden folders, ``__pycache__``, ``node_modules`` and virtual
environments — with fixed timestamps and owners, so the same files give the
same digest. The snapshot is stored as a blob; triggered runs and
``werft reproduce`` run exactly that code, unpacked into a cache folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from werft.errors import InvalidInputError
from werft.pipelines.entities import CodeVersion

MAX_SNAPSHOT_BYTES = 200 * 1024 * 1024
"""Larger repositories carry data that belongs in dataset versions; refused."""

_SKIP_DIRS = {"__pycache__", "node_modules", "venv", "env", "mlruns"}


def snapshot(workdir: Path, dest: Path, *, exclude: Sequence[Path] = ()) -> CodeVersion:
    """Pack ``workdir`` into ``dest`` (tar.gz); its digest, git commit and dirty flag.

    ``exclude``: folders left out wherever they are (werft's home, when it lies in the
    repository).

    Raises:
        InvalidInputError: ``workdir`` is not a folder, or the files exceed
            :data:`MAX_SNAPSHOT_BYTES`.
    """
    root = workdir.resolve()
    if not root.is_dir():
        raise InvalidInputError(f"{workdir} is not a folder")
    skipped = [p.resolve() for p in exclude]
    files = sorted(
        name
        for name in set(_files(root))
        if not any((root / name).is_relative_to(folder) for folder in skipped)
    )
    total = sum((root / name).stat().st_size for name in files)
    if total > MAX_SNAPSHOT_BYTES:
        raise InvalidInputError(
            f"{workdir} holds {total / 2**20:.0f} MiB of files, more than the "
            f"{MAX_SNAPSHOT_BYTES // 2**20} MiB a code snapshot may have; keep data out of the "
            "repository (log it as a dataset version) or list it in .gitignore"
        )
    digest = hashlib.sha256()
    with dest.open("wb") as raw:
        hashing = _HashingWriter(raw, digest)
        with (
            gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0, compresslevel=6) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in files:
                path = root / name
                info = tarfile.TarInfo(name)
                info.size = path.stat().st_size
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                info.mtime = 0
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
    commit, dirty = _git_state(root)
    return CodeVersion(digest=f"sha256:{digest.hexdigest()}", commit=commit, dirty=dirty)


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack a snapshot into ``dest`` (created; must not exist) and return it."""
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            tar.extractall(staging, filter="data")
        staging.rename(dest)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not dest.is_dir():  # else: unpacked by a concurrent caller meanwhile
            raise
    return dest


def cached_checkout(digest: str, cache: Path, fetch: Callable[[str, Path], Path]) -> Path:
    """The snapshot ``digest`` unpacked below ``cache`` (fetched with ``fetch`` once)."""
    folder = cache / digest.removeprefix("sha256:")
    if folder.is_dir():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="werft-code-", dir=cache) as tmp:
        archive = fetch(digest, Path(tmp) / "code.tar.gz")
        return unpack(archive, folder)


def _files(root: Path) -> Iterator[str]:
    listed = _git_files(root)
    if listed is not None:
        for name in listed:
            if (root / name).is_file() and not (root / name).is_symlink():
                yield name
        return
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIP_DIRS
            and not (Path(folder) / d / "pyvenv.cfg").exists()
        )
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink() and not name.endswith((".pyc", ".pyo")):
                yield path.relative_to(root).as_posix()


def _git_files(root: Path) -> list[str] | None:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [name for name in out.decode("utf-8", "surrogateescape").split("\0") if name]


def _git_state(root: Path) -> tuple[str, bool]:
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, check=True, timeout=30
            )
            .stdout.decode()
            .strip()
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "", False
    return commit, bool(status.strip())


class _HashingWriter(io.RawIOBase):
    """Writes through to a file and hashes what passes."""

    def __init__(self, raw: io.BufferedWriter, digest: hashlib._Hash) -> None:
        self._raw, self._digest = raw, digest

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._digest.update(data)
        return self._raw.write(data)
