"""The artifact store on S3, against moto's server on loopback."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from werft.errors import IntegrityError, NotFoundError, UnavailableError
from werft.store.artifacts import CHUNK_SIZE, ArtifactStore, BlobInfo, parse_digest

pytestmark = pytest.mark.s3

BUCKET = "werft-test"  # created by the s3_endpoint fixture in tests/conftest.py


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def s3_client(s3_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=s3_endpoint)


@pytest.fixture
def prefix() -> str:
    return f"runs-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(s3_endpoint: str, prefix: str) -> ArtifactStore:
    return ArtifactStore(
        f"s3://{BUCKET}/{prefix}",
        storage_options={"client_kwargs": {"endpoint_url": s3_endpoint}},
    )


def key_of(prefix: str, digest: str) -> str:
    hex_ = parse_digest(digest)
    return f"{prefix}/blobs/sha256/{hex_[:2]}/{hex_[2:]}"


def test_round_trip(store: ArtifactStore, s3_client: Any, prefix: str, tmp_path: Path) -> None:
    small = store.put_bytes(b"hello s3")
    assert small == BlobInfo("sha256:" + hashlib.sha256(b"hello s3").hexdigest(), 8)
    assert store.read_bytes(small.digest) == b"hello s3"
    body = s3_client.get_object(Bucket=BUCKET, Key=key_of(prefix, small.digest))["Body"].read()
    assert body == b"hello s3"

    # Over two upload parts, so s3fs takes the multipart path.
    data = os.urandom(16 * CHUNK_SIZE + 5)
    src = tmp_path / "model.bin"
    src.write_bytes(data)
    info = store.put_file(src)
    assert info.size == len(data)
    assert store.size(info.digest) == len(data)
    dest = tmp_path / "back.bin"
    store.get_file(info.digest, dest)
    assert dest.read_bytes() == data


def test_dedupe_exists_delete_list(store: ArtifactStore, tmp_path: Path) -> None:
    assert list(store.list_blobs()) == []
    src = tmp_path / "a.txt"
    src.write_bytes(b"same")
    first = store.put_file(src)
    assert store.put_bytes(b"same") == first
    other = store.put_bytes(b"other")
    listed = {blob.digest: blob for blob in store.list_blobs()}
    assert set(listed) == {first.digest, other.digest}
    assert listed[other.digest].size == 5
    modified = listed[other.digest].modified
    assert modified.tzinfo is not None
    assert abs(datetime.now(UTC) - modified) < timedelta(minutes=5)

    store.delete(first.digest)
    store.delete(first.digest)
    assert not store.exists(first.digest)
    assert store.exists(other.digest)
    assert [blob.digest for blob in store.list_blobs()] == [other.digest]
    with pytest.raises(NotFoundError):
        store.read_bytes(first.digest)


def test_tampered_object_is_detected(
    store: ArtifactStore, s3_client: Any, prefix: str, tmp_path: Path
) -> None:
    info = store.put_bytes(b"genuine content")
    s3_client.put_object(Bucket=BUCKET, Key=key_of(prefix, info.digest), Body=b"forged content")
    with pytest.raises(IntegrityError, match=f"{info.digest}.*corrupt"):
        store.read_bytes(info.digest)
    with pytest.raises(IntegrityError, match="corrupt"):
        list(store.iter_chunks(info.digest))
    with pytest.raises(IntegrityError):
        store.get_file(info.digest, tmp_path / "out.bin")
    assert list(tmp_path.iterdir()) == []


def test_writer_on_s3(store: ArtifactStore, tmp_path: Path) -> None:
    with store.writer() as writer:
        writer.write(b"part one, ")
        writer.write(b"part two")
        info = writer.commit()
    assert store.read_bytes(info.digest) == b"part one, part two"


def test_closed_port_is_unavailable(s3_endpoint: str) -> None:
    store = ArtifactStore(
        f"s3://{BUCKET}/x",
        storage_options={
            "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{_free_port()}"},
            "config_kwargs": {
                "connect_timeout": 1,
                "read_timeout": 1,
                "retries": {"max_attempts": 1},
            },
        },
    )
    hint = "WERFT_S3_ENDPOINT_URL"
    with pytest.raises(UnavailableError, match=hint):
        store.exists("sha256:" + "0" * 64)
    with pytest.raises(UnavailableError, match=hint):
        store.put_bytes(b"x")
    with pytest.raises(UnavailableError, match=hint):
        list(store.list_blobs())
