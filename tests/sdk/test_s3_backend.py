"""Tracking with the artifact store on S3 (moto's server on loopback), both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from werft.config import Settings, load_settings
from werft.sdk.local import LocalBackend
from werft.services import Services, build_services

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_services(tmp_path: Path, s3_endpoint: str) -> Iterator[Services]:
    settings: Settings = load_settings(
        home=tmp_path / "home",
        artifacts_url=f"s3://werft-test/{uuid.uuid4().hex[:10]}",
        s3_endpoint_url=s3_endpoint,
    ).settings
    services = build_services(settings)
    yield services
    services.close()


def test_artifacts_live_on_s3_and_gc_removes_orphans(s3_services: Services, tmp_path: Path) -> None:
    backend = LocalBackend(s3_services)
    backend.get_or_create_project("churn")
    run_id = backend.create_run("churn").id
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 200_000)
    info = backend.log_artifact(run_id, model, "model/model.bin")
    assert s3_services.store.exists(info.digest)
    back = backend.download_artifact(run_id, "model/model.bin", tmp_path / "back.bin")
    assert back.read_bytes() == model.read_bytes()

    backend.delete_run(run_id)
    s3_services.gc.collect(older_than=timedelta(0), blob_grace=timedelta(0))
    assert not s3_services.store.exists(info.digest)
