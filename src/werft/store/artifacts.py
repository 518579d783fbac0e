"""The artifact store: content-addressed (sha256), immutable blobs on fsspec.

Blobs live under ``{root}/blobs/sha256/{hex[:2]}/{hex[2:]}`` in a local folder
(``/dir``, ``file:///dir``) or an S3-compatible bucket (``s3://bucket/prefix``).
Readers never see a partial blob under a valid name: local writes go through
``{root}/tmp/``, fsync and rename; S3 writes go straight to the final key, as a
PUT or completed multipart upload appears atomically, and only once the hash is
known.  Content moves in :data:`CHUNK_SIZE` pieces, never whole in memory.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NoReturn

import fsspec
from fsspec.implementations.local import LocalFileSystem

from werft.errors import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
    WerftError,
)
from werft.store.blobs import (
    CHUNK_SIZE,
    MAX_ARTIFACT_PATH_LENGTH,
    BlobInfo,
    StoredBlob,
    hash_file,
    parse_digest,
    validate_artifact_path,
)

__all__ = [
    "CHUNK_SIZE",
    "MAX_ARTIFACT_PATH_LENGTH",
    "ArtifactStore",
    "BlobInfo",
    "BlobWriter",
    "StoredBlob",
    "parse_digest",
    "validate_artifact_path",
]

# Bounds what s3fs holds in memory per transfer: it reads a file below two
# parts in one go, and keeps up to _UPLOAD_CONCURRENCY parts in flight.
_S3_PART_SIZE = 8 * 1024 * 1024
_UPLOAD_CONCURRENCY = 4
_REMOTE_READ_BLOCK = 8 * 1024 * 1024

_SHARD_RE = re.compile(r"[0-9a-f]{2}")
_REST_RE = re.compile(r"[0-9a-f]{62}")


class BlobWriter:
    """Streams incoming chunks to a local spool file while hashing; commit() stores the blob.

    As a context manager, leaving the block uncommitted (also by an exception) aborts.
    """

    def __init__(self, store: ArtifactStore, spool_dir: Path) -> None:
        self._store = store
        self._path = spool_dir / f"upload-{secrets.token_hex(8)}.spool"
        # "xb" rather than mkstemp: the file may become the blob, so it should
        # get the umask's permissions, not mkstemp's owner-only ones.
        self._file: BinaryIO = self._path.open("xb")
        self._hash = hashlib.sha256()
        self._size = 0
        self._done = False

    def write(self, chunk: bytes) -> None:
        """Append a chunk to the blob."""
        self._check_open()
        with self._store._guard("spooling an upload"):
            self._file.write(chunk)
        self._hash.update(chunk)
        self._size += len(chunk)

    def commit(self, expected_digest: str | None = None) -> BlobInfo:
        """Store what was written; the writer is closed afterwards, also on failure.

        Raises:
            IntegrityError: The content differs from ``expected_digest``; nothing is stored.
        """
        self._check_open()
        try:
            expected = None if expected_digest is None else parse_digest(expected_digest)
            self._file.flush()
            if self._store._local_root is not None:
                # The spool file may be renamed into place as the blob itself.
                os.fsync(self._file.fileno())
            self._file.close()
            actual = self._hash.hexdigest()
            if expected is not None and actual != expected:
                raise IntegrityError(
                    f"uploaded content has digest sha256:{actual}, expected "
                    f"{expected_digest}; the blob was not stored, send it again"
                )
            self._store._ingest_spool(self._path, actual)
        finally:
            self.abort()
        return BlobInfo(digest=f"sha256:{actual}", size=self._size)

    def abort(self) -> None:
        """Discard what was written; does nothing after commit or abort."""
        if self._done:
            return
        self._done = True
        self._file.close()
        self._path.unlink(missing_ok=True)

    def _check_open(self) -> None:
        if self._done:
            raise InvalidInputError("this blob writer is closed (committed or aborted)")

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


class ArtifactStore:
    """Content-addressed blobs under one fsspec URL (a folder or ``s3://bucket/prefix``)."""

    def __init__(
        self,
        url: str,
        *,
        storage_options: dict[str, Any] | None = None,
        spool_dir: Path | None = None,
    ) -> None:
        """Bind the store to ``url``; cheap and without network I/O.

        Args:
            url: A folder path, ``file://`` URL or ``s3://bucket/prefix``.
            storage_options: fsspec options, e.g. for S3
                ``{"client_kwargs": {"endpoint_url": "http://minio:9000"}}``.
            spool_dir: Where :class:`BlobWriter` spools uploads; default
                ``{root}/tmp`` for a folder, else the system temp folder.
        """
        if not url.strip():
            raise InvalidInputError("the artifact store URL is empty; set WERFT_ARTIFACTS_URL")
        options = dict(storage_options or {})
        protocol = fsspec.core.split_protocol(url)[0]
        if protocol not in (None, "file", "local"):
            # Another process may add or delete blobs; a cached listing would lie.
            options.setdefault("use_listings_cache", False)
        try:
            fs, root = fsspec.core.url_to_fs(url, **options)
        except ImportError as exc:
            raise InvalidInputError(
                f"artifact store {url} needs a missing package ({exc}); "
                "install werft[s3] for s3:// URLs"
            ) from exc
        except ValueError as exc:
            raise InvalidInputError(
                f"artifact store URL {url!r} is not supported ({exc}); "
                "use a folder, file:///folder or s3://bucket/prefix"
            ) from exc
        self._url = url
        self._fs: Any = fs
        self._root: str = root.rstrip("/") or root
        self._local_root = Path(self._root) if isinstance(fs, LocalFileSystem) else None
        protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        self._put_kwargs: dict[str, Any] = (
            {"chunksize": _S3_PART_SIZE, "max_concurrency": _UPLOAD_CONCURRENCY}
            if "s3" in protocols
            else {}
        )
        if self._local_root is not None:
            self._spool_dir = spool_dir or self._local_root / "tmp"
            self._hint = "check that WERFT_ARTIFACTS_URL names a folder werft may write to"
        else:
            self._spool_dir = spool_dir or Path(tempfile.gettempdir()) / "werft-spool"
            self._hint = (
                "check WERFT_ARTIFACTS_URL and WERFT_S3_ENDPOINT_URL, the bucket and the "
                "S3 credentials"
            )

    @property
    def url(self) -> str:
        """The URL the store was built from."""
        return self._url

    def put_file(self, path: Path) -> BlobInfo:
        """Store a local file, unless its content is stored already.

        Raises:
            NotFoundError: The file does not exist.
            InvalidInputError: The file is unreadable or changed while being stored.
        """
        try:
            before = path.stat()
            hex_, size = hash_file(path)
        except FileNotFoundError as exc:
            raise NotFoundError(f"file {path} does not exist") from exc
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc}") from exc
        info = BlobInfo(digest=f"sha256:{hex_}", size=size)
        with self._guard(f"storing blob {info.digest}"):
            if self._already_stored(hex_):
                return info
            if self._local_root is not None:
                self._copy_in_local(path, hex_)
            else:
                self._upload_remote(path, hex_, before)
        return info

    def writer(self) -> BlobWriter:
        """A :class:`BlobWriter` for content that arrives in chunks."""
        with self._guard("creating an upload spool file"):
            self._spool_dir.mkdir(parents=True, exist_ok=True)
            return BlobWriter(self, self._spool_dir)

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store a small byte string."""
        with self.writer() as writer:
            writer.write(data)
            return writer.commit()

    def exists(self, digest: str) -> bool:
        """Whether the blob is in the store."""
        hex_ = parse_digest(digest)
        with self._guard(f"looking up blob {digest}"):
            return self._info(hex_) is not None

    def size(self, digest: str) -> int:
        """The blob's size in bytes; :class:`NotFoundError` if it is missing."""
        hex_ = parse_digest(digest)
        with self._guard(f"looking up blob {digest}"):
            info = self._info(hex_)
        if info is None:
            raise NotFoundError(f"blob {digest} is not in the artifact store")
        return int(info["size"])

    def iter_chunks(self, digest: str, *, verify: bool = True) -> Iterator[bytes]:
        """Stream the blob in :data:`CHUNK_SIZE` pieces.

        The blob is opened before this returns, so a missing blob fails early.
        With ``verify``, a hash mismatch raises after the last chunk: trust the
        bytes only once the iterator is exhausted.

        Raises:
            NotFoundError: The blob is missing.
            IntegrityError: The content does not match the digest (corrupt blob).
        """
        return self._stream(digest, verify=verify)

    def read_bytes(self, digest: str) -> bytes:
        """A small blob's verified content."""
        with closing(self._stream(digest, verify=True)) as chunks:
            return b"".join(chunks)

    def get_file(self, digest: str, dest: Path) -> None:
        """Download a blob to ``dest``, verified; never leaves a partial ``dest``.

        Raises:
            NotFoundError: The blob is missing.
            IntegrityError: The blob is corrupt; ``dest`` is left untouched.
        """
        with closing(self._stream(digest, verify=True)) as chunks:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
            try:
                with tmp.open("wb") as out:
                    for chunk in chunks:
                        out.write(chunk)
                os.replace(tmp, dest)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise

    def delete(self, digest: str) -> None:
        """Remove the blob; deleting a missing blob is fine."""
        hex_ = parse_digest(digest)
        with (
            self._guard(f"deleting blob {digest}", allow_missing=True),
            suppress(FileNotFoundError),
        ):
            self._fs.rm_file(self._key(hex_))

    def list_blobs(self) -> Iterator[StoredBlob]:
        """Every blob with its size and modification time, one shard at a time."""
        base = f"{self._root}/blobs/sha256"
        with self._guard("listing blobs", allow_missing=True):
            try:
                shards = sorted(self._fs.ls(base, detail=False))
            except FileNotFoundError:
                return
            for shard in shards:
                prefix = shard.rstrip("/").rsplit("/", 1)[-1]
                if not _SHARD_RE.fullmatch(prefix):
                    continue
                try:
                    entries = self._fs.ls(shard, detail=True)
                except FileNotFoundError:  # emptied meanwhile
                    continue
                for entry in entries:
                    name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
                    if entry.get("type") == "file" and _REST_RE.fullmatch(name):
                        yield StoredBlob(
                            digest=f"sha256:{prefix}{name}",
                            size=int(entry["size"]),
                            modified=_modified(entry),
                        )

    def _key(self, hex_: str) -> str:
        return f"{self._root}/blobs/sha256/{hex_[:2]}/{hex_[2:]}"

    def _info(self, hex_: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = self._fs.info(self._key(hex_))
        except FileNotFoundError:
            return None
        return info if info.get("type") == "file" else None

    def _already_stored(self, hex_: str) -> bool:
        if self._local_root is None:
            return self._info(hex_) is not None
        try:
            # A fresh mtime keeps gc's grace period from deleting an old,
            # unreferenced blob that a new upload is about to reference.
            os.utime(self._key(hex_))
        except FileNotFoundError:
            return False
        except PermissionError:
            return True  # someone else's blob; it exists all the same
        return True

    def _ingest_spool(self, spool: Path, hex_: str) -> None:
        with self._guard(f"storing blob sha256:{hex_}"):
            if self._already_stored(hex_):
                return
            if self._local_root is None:
                self._upload_remote(spool, hex_, spool.stat())
                return
            try:
                self._install_local(spool, hex_)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                self._copy_in_local(spool, hex_)  # spool folder on another device

    def _copy_in_local(self, src: Path, hex_: str) -> None:
        assert self._local_root is not None
        tmp_dir = self._local_root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{hex_[:16]}-{secrets.token_hex(8)}.part"
        try:
            hasher = hashlib.sha256()
            with src.open("rb") as source, tmp.open("xb") as out:
                while chunk := source.read(CHUNK_SIZE):
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if hasher.hexdigest() != hex_:
                raise InvalidInputError(_changed_message(src))
            self._install_local(tmp, hex_)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _install_local(self, tmp: Path, hex_: str) -> None:
        final = Path(self._key(hex_))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        # Make the rename durable before the caller records the digest.
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _upload_remote(self, src: Path, hex_: str, before: os.stat_result) -> None:
        key = self._key(hex_)
        self._fs.put_file(str(src), key, **self._put_kwargs)
        after = src.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            # What was uploaded may not match the name; don't leave it there.
            self._fs.rm_file(key)
            raise InvalidInputError(_changed_message(src))

    def _stream(self, digest: str, *, verify: bool) -> Generator[bytes, None, None]:
        hex_ = parse_digest(digest)
        with self._guard(f"opening blob {digest}", allow_missing=True):
            try:
                handle: BinaryIO = self._fs.open(
                    self._key(hex_), "rb", block_size=_REMOTE_READ_BLOCK
                )
            except FileNotFoundError as exc:
                raise NotFoundError(f"blob {digest} is not in the artifact store") from exc
        return self._read_verified(handle, digest, hex_, verify)

    def _read_verified(
        self, handle: BinaryIO, digest: str, hex_: str, verify: bool
    ) -> Generator[bytes, None, None]:
        hasher = hashlib.sha256()
        with handle, self._guard(f"reading blob {digest}"):
            while chunk := handle.read(CHUNK_SIZE):
                if verify:
                    hasher.update(chunk)
                yield chunk
        if verify and hasher.hexdigest() != hex_:
            raise IntegrityError(
                f"blob {digest} in artifact store {self._url} is corrupt: its content hashes "
                f"to sha256:{hasher.hexdigest()}; restore it from a backup or log it again"
            )

    @contextmanager
    def _guard(self, action: str, *, allow_missing: bool = False) -> Iterator[None]:
        # With allow_missing, FileNotFoundError passes for the caller to interpret.
        try:
            yield
        except WerftError:
            raise
        except FileNotFoundError as exc:
            if allow_missing:
                raise
            self._unavailable(action, exc)
        except _backend_errors() as exc:
            self._unavailable(action, exc)

    def _unavailable(self, action: str, exc: BaseException) -> NoReturn:
        kind = "refused access" if isinstance(exc, PermissionError) else "is unreachable"
        raise UnavailableError(
            f"artifact store {self._url} {kind} while {action}: {exc}; {self._hint}"
        ) from exc


def _changed_message(path: Path) -> str:
    return f"file {path} changed while it was being stored; store it again once it is complete"


def _modified(entry: dict[str, Any]) -> datetime:
    value = entry.get("LastModified", entry.get("mtime"))
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    # Unknown age counts as new, so that gc's grace period never deletes it early.
    return datetime.now(UTC)


def _backend_errors() -> tuple[type[BaseException], ...]:
    # Only libraries already imported can have raised: local stores never import botocore.
    kinds: list[type[BaseException]] = [OSError]
    botocore_exceptions = sys.modules.get("botocore.exceptions")
    if botocore_exceptions is not None:
        kinds += [botocore_exceptions.BotoCoreError, botocore_exceptions.ClientError]
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        kinds.append(aiohttp.ClientError)
    return tuple(kinds)
