"""The artifact store on a local folder: round trips, dedupe, integrity, paths."""

from __future__ import annotations

import errno
import hashlib
import os
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from werft.errors import IntegrityError, InvalidInputError, NotFoundError, UnavailableError
from werft.store.artifacts import (
    CHUNK_SIZE,
    ArtifactStore,
    BlobInfo,
    parse_digest,
    validate_artifact_path,
)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_path(root: Path, digest: str) -> Path:
    hex_ = parse_digest(digest)
    return root / "blobs" / "sha256" / hex_[:2] / hex_[2:]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture
def store(root: Path) -> ArtifactStore:
    return ArtifactStore(str(root))


def test_constructor_does_no_io(root: Path) -> None:
    ArtifactStore(str(root))
    assert not root.exists()


def test_file_url_is_the_same_folder(root: Path) -> None:
    info = ArtifactStore(f"file://{root}").put_bytes(b"hello")
    assert ArtifactStore(str(root)).read_bytes(info.digest) == b"hello"
    assert blob_path(root, info.digest).is_file()


def test_bytes_round_trip_and_layout(store: ArtifactStore, root: Path) -> None:
    info = store.put_bytes(b"hello world")
    assert info == BlobInfo(digest=digest_of(b"hello world"), size=11)
    assert store.read_bytes(info.digest) == b"hello world"
    assert blob_path(root, info.digest).read_bytes() == b"hello world"
    assert list((root / "tmp").iterdir()) == []


def test_empty_blob(store: ArtifactStore) -> None:
    info = store.put_bytes(b"")
    assert info.size == 0
    assert store.read_bytes(info.digest) == b""
    assert list(store.iter_chunks(info.digest)) == []


def test_file_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 17)
    src = tmp_path / "model.bin"
    src.write_bytes(data)
    info = store.put_file(src)
    assert info == BlobInfo(digest=digest_of(data), size=len(data))
    chunks = list(store.iter_chunks(info.digest))
    assert [len(c) for c in chunks] == [CHUNK_SIZE] * 3 + [17]
    dest = tmp_path / "out" / "nested" / "model.bin"
    store.get_file(info.digest, dest)
    assert dest.read_bytes() == data
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin"]


def test_put_file_missing_source(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        store.put_file(tmp_path / "nope.bin")


def test_dedupe(store: ArtifactStore, root: Path, tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_bytes(b"same content")
    first = store.put_file(src)
    second = store.put_bytes(b"same content")
    with store.writer() as writer:
        writer.write(b"same ")
        writer.write(b"content")
        third = writer.commit()
    assert first == second == third
    assert [b.digest for b in store.list_blobs()] == [first.digest]
    assert len([p for p in (root / "blobs").rglob("*") if p.is_file()]) == 1


def test_digest_format(store: ArtifactStore) -> None:
    digest = store.put_bytes(b"x").digest
    prefix, hex_ = digest.split(":")
    assert prefix == "sha256"
    assert len(hex_) == 64
    assert hex_ == hex_.lower()
    assert parse_digest(digest) == hex_


@pytest.mark.parametrize(
    "bad",
    ["", "sha256:", "sha256:" + "A" * 64, "sha256:" + "a" * 63, "md5:" + "a" * 64, "a" * 64],
)
def test_parse_digest_rejects(bad: str, store: ArtifactStore) -> None:
    with pytest.raises(InvalidInputError, match="64 lowercase hex"):
        parse_digest(bad)
    with pytest.raises(InvalidInputError):
        store.exists(bad)


def test_exists_size_delete_list(store: ArtifactStore) -> None:
    assert list(store.list_blobs()) == []
    a = store.put_bytes(b"a" * 10)
    b = store.put_bytes(b"b" * 20)
    assert store.exists(a.digest)
    assert store.size(b.digest) == 20
    listed = {blob.digest: blob for blob in store.list_blobs()}
    assert set(listed) == {a.digest, b.digest}
    assert listed[a.digest].size == 10
    now = datetime.now(UTC)
    assert listed[a.digest].modified.tzinfo is not None
    assert now - timedelta(minutes=1) < listed[a.digest].modified <= now + timedelta(seconds=1)

    store.delete(a.digest)
    store.delete(a.digest)  # idempotent
    assert not store.exists(a.digest)
    assert [blob.digest for blob in store.list_blobs()] == [b.digest]
    with pytest.raises(NotFoundError):
        store.size(a.digest)
    with pytest.raises(NotFoundError):
        store.iter_chunks(a.digest)
    with pytest.raises(NotFoundError):
        store.read_bytes(a.digest)


def test_list_blobs_ignores_stray_files(store: ArtifactStore, root: Path) -> None:
    info = store.put_bytes(b"keep")
    (root / "blobs" / "sha256" / "zz").mkdir()
    (root / "blobs" / "sha256" / "zz" / "junk").write_bytes(b"")
    (blob_path(root, info.digest).parent / "short").write_bytes(b"")
    assert [b.digest for b in store.list_blobs()] == [info.digest]


def test_dedupe_refreshes_mtime_for_gc(store: ArtifactStore, root: Path) -> None:
    info = store.put_bytes(b"old")
    path = blob_path(root, info.digest)
    os.utime(path, (0, 0))
    store.put_bytes(b"old")
    assert path.stat().st_mtime > 1_000_000


def _tamper(root: Path, digest: str) -> None:
    path = blob_path(root, digest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_tampered_blob_is_detected(store: ArtifactStore, root: Path, tmp_path: Path) -> None:
    info = store.put_bytes(os.urandom(CHUNK_SIZE + 100))
    _tamper(root, info.digest)
    with pytest.raises(IntegrityError, match=f"{info.digest}.*corrupt"):
        list(store.iter_chunks(info.digest))
    with pytest.raises(IntegrityError, match="corrupt"):
        store.read_bytes(info.digest)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get_file(info.digest, out / "blob.bin")
    assert list(out.iterdir()) == []
    # Without verification the bytes stream as they are.
    assert sum(len(c) for c in store.iter_chunks(info.digest, verify=False)) == info.size


def test_get_file_keeps_old_dest_on_corruption(
    store: ArtifactStore, root: Path, tmp_path: Path
) -> None:
    info = store.put_bytes(b"payload")
    _tamper(root, info.digest)
    dest = tmp_path / "dest.bin"
    dest.write_bytes(b"previous")
    with pytest.raises(IntegrityError):
        store.get_file(info.digest, dest)
    assert dest.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifacts", "dest.bin"]


def test_writer_commit_and_expected_digest(store: ArtifactStore, root: Path) -> None:
    writer = store.writer()
    writer.write(b"chunk-1 ")
    writer.write(b"chunk-2")
    info = writer.commit(expected_digest=digest_of(b"chunk-1 chunk-2"))
    assert store.read_bytes(info.digest) == b"chunk-1 chunk-2"
    with pytest.raises(InvalidInputError, match="closed"):
        writer.write(b"more")
    assert list((root / "tmp").iterdir()) == []


def test_writer_expected_digest_mismatch(store: ArtifactStore, root: Path) -> None:
    writer = store.writer()
    writer.write(b"actual")
    wrong = digest_of(b"promised")
    with pytest.raises(IntegrityError, match=wrong):
        writer.commit(expected_digest=wrong)
    assert not store.exists(digest_of(b"actual"))
    assert list(store.list_blobs()) == []
    assert list((root / "tmp").iterdir()) == []


def test_writer_abort_and_context_manager(store: ArtifactStore, root: Path) -> None:
    writer = store.writer()
    writer.write(b"discard me")
    writer.abort()
    writer.abort()
    with store.writer() as w:
        w.write(b"left without commit")

    def interrupted_upload() -> None:
        with store.writer() as w:
            w.write(b"interrupted")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        interrupted_upload()
    assert list(store.list_blobs()) == []
    assert list((root / "tmp").iterdir()) == []


def test_writer_spools_elsewhere(root: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    store = ArtifactStore(str(root), spool_dir=spool)
    with store.writer() as writer:
        writer.write(b"spooled")
        info = writer.commit()
    assert store.read_bytes(info.digest) == b"spooled"
    assert list(spool.iterdir()) == []


def test_writer_spool_on_another_device(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    real_replace = os.replace

    def cross_device(src: str | Path, dst: str | Path) -> None:
        if Path(src).parent == spool:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", cross_device)
    store = ArtifactStore(str(root), spool_dir=spool)
    info = store.put_bytes(b"copied, not renamed")
    assert store.read_bytes(info.digest) == b"copied, not renamed"
    assert list(spool.iterdir()) == []
    assert list((root / "tmp").iterdir()) == []


def test_unwritable_folder_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    store = ArtifactStore(str(blocker / "artifacts"))
    with pytest.raises(UnavailableError, match="WERFT_ARTIFACTS_URL"):
        store.put_bytes(b"x")


def test_unknown_protocol_is_invalid() -> None:
    with pytest.raises(InvalidInputError, match="not supported"):
        ArtifactStore("nosuchproto://bucket/x")


def test_large_file_streams_in_bounded_memory(store: ArtifactStore, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    block = os.urandom(CHUNK_SIZE)
    expected = hashlib.sha256()
    with src.open("wb") as f:
        for i in range(50):
            piece = i.to_bytes(4, "big") + block[4:]
            f.write(piece)
            expected.update(piece)
    del block, piece
    dest = tmp_path / "big.out"
    tracemalloc.start()
    try:
        info = store.put_file(src)
        store.get_file(info.digest, dest)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.digest == "sha256:" + expected.hexdigest()
    assert dest.stat().st_size == 50 * CHUNK_SIZE
    assert peak < 10 * 1024 * 1024


GOOD_PATHS = [
    ("model.pkl", "model.pkl"),
    ("plots/confusion.png", "plots/confusion.png"),
    ("plots\\confusion.png", "plots/confusion.png"),
    ("./a/./b", "a/b"),
    ("a//b/", "a/b"),
    ("a/..b/c..", "a/..b/c.."),
    ("x" * 1000, "x" * 1000),
]
BAD_PATHS = [
    ("", "empty"),
    (".", "empty"),
    ("./", "empty"),
    ("../x", r"'\.\.'"),
    ("a/../../b", r"'\.\.'"),
    ("a/..", r"'\.\.'"),
    ("a\\..\\b", r"'\.\.'"),
    ("/etc/passwd", "absolute"),
    ("\\\\server\\share", "absolute"),
    ("C:\\x", "absolute"),
    ("C:/x", "absolute"),
    ("c:x", "absolute"),
    ("a\x00b", "NUL"),
    ("x" * 1001, "1,000"),
]


@pytest.mark.parametrize(("raw", "expected"), GOOD_PATHS)
def test_valid_artifact_paths(raw: str, expected: str) -> None:
    assert validate_artifact_path(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), BAD_PATHS)
def test_invalid_artifact_paths(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        validate_artifact_path(raw)
