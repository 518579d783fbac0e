"""What a blob is and how it is named: digests, sizes, artifact paths, hashing.

The values and checks of the artifact store that need no storage backend; the
store itself, which reads and writes blobs on fsspec, is :mod:`werft.store.artifacts`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from werft.errors import InvalidInputError

CHUNK_SIZE = 1024 * 1024

MAX_ARTIFACT_PATH_LENGTH = 1000

_DIGEST_RE = re.compile(r"sha256:([0-9a-f]{64})")
_DRIVE_RE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class BlobInfo:
    """A blob that is in the store: its digest (``sha256:<hex>``) and size in bytes."""

    digest: str
    size: int


@dataclass(frozen=True)
class StoredBlob:
    """A blob found by listing the store, with its modification time (UTC).

    See :meth:`~werft.store.artifacts.ArtifactStore.list_blobs`.
    """

    digest: str
    size: int
    modified: datetime


def validate_artifact_path(path: str) -> str:
    """Normalise a run-relative artifact path like ``plots/confusion.png`` to POSIX form.

    Backslashes count as separators; empty and ``.`` segments collapse.

    Raises:
        InvalidInputError: The path is empty, absolute, has a ``..`` segment or a
            NUL byte, or is longer than 1,000 characters.
    """
    allowed = "use a relative path like 'plots/confusion.png'"
    if "\x00" in path:
        raise InvalidInputError(f"artifact path {path!r} contains a NUL byte; {allowed}")
    if len(path) > MAX_ARTIFACT_PATH_LENGTH:
        raise InvalidInputError(
            f"artifact path is {len(path):,} characters long; at most "
            f"{MAX_ARTIFACT_PATH_LENGTH:,} are allowed"
        )
    posix = path.replace("\\", "/")
    if posix.startswith("/") or _DRIVE_RE.match(posix):
        raise InvalidInputError(f"artifact path {path!r} is absolute; {allowed}")
    segments = [s for s in posix.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise InvalidInputError(
            f"artifact path {path!r} contains a '..' segment; {allowed} inside the run"
        )
    if not segments:
        raise InvalidInputError(f"artifact path {path!r} is empty; {allowed}")
    return "/".join(segments)


def parse_digest(digest: str) -> str:
    """Check a ``sha256:<64 lowercase hex>`` digest and return its hex part.

    Raises:
        InvalidInputError: The digest is not in that form.
    """
    match = _DIGEST_RE.fullmatch(digest) if isinstance(digest, str) else None
    if match is None:
        shown = digest[:80] if isinstance(digest, str) else digest
        raise InvalidInputError(
            f"invalid digest {shown!r}: expected 'sha256:' followed by 64 lowercase hex digits"
        )
    return match.group(1)


def hash_file(path: Path) -> tuple[str, int]:
    """A local file's sha256 hex digest and size, read in :data:`CHUNK_SIZE` pieces."""
    hasher = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size
