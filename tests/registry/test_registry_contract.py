"""The registry through both backends and both databases: versions, aliases, lineage."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from werft.errors import ConflictError, InvalidInputError, NotFoundError
from werft.registry.entities import VersionStatus
from werft.registry.uris import parse_model_uri
from werft.sdk.backend import Backend


def _version_fields(backend: Backend, run_id: str | None, tmp_path: Path) -> dict[str, Any]:
    manifest = tmp_path / "werft-model.yaml"
    manifest.write_text("format_version: 1\n")
    digest = backend.upload_blob(manifest).digest
    return {
        "project": "churn",
        "run_id": run_id,
        "artifact_path": "model",
        "content_hash": "sha256:" + "0" * 64,
        "files": {"werft-model.yaml": digest},
        "flavor": "sklearn",
        "model_class": "sklearn.pipeline.Pipeline",
        "signature": {"inputs": [], "output": {"kind": "classifier", "dtype": "int64"}},
        "created_by": "anna",
    }


@pytest.fixture
def run_id(backend: Backend) -> str:
    backend.get_or_create_project("churn")
    run = backend.create_run("churn", name="train")
    backend.log_params(run.id, {"depth": 3})
    backend.log_metric_rows(run.id, [("auc", 0.91, 0, 1)])
    return run.id


def test_versions_count_up_and_snapshot_the_run(
    backend: Backend, run_id: str, tmp_path: Path
) -> None:
    first = backend.create_model_version(
        "churn-classifier", **_version_fields(backend, run_id, tmp_path)
    )
    second = backend.create_model_version(
        "churn-classifier", **_version_fields(backend, run_id, tmp_path)
    )
    assert (first.version, second.version) == (1, 2)
    assert first.status is VersionStatus.CANDIDATE and first.metrics == {"auc": 0.91}
    assert first.uri == "models:/churn-classifier/1"
    model = backend.get_model("churn-classifier")
    assert model.project == "churn" and model.latest_version == 2
    listed = backend.list_model_versions("churn-classifier", limit=1)
    assert [v.version for v in listed.items] == [2] and listed.next_cursor
    assert [m.name for m in backend.list_models(project="churn").items] == ["churn-classifier"]


def test_aliases_move_with_history(backend: Backend, run_id: str, tmp_path: Path) -> None:
    for _ in range(3):
        backend.create_model_version("m", **_version_fields(backend, run_id, tmp_path))
    backend.set_alias("m", "staging", 1, actor="anna")
    backend.set_alias("m", "staging", 3, actor="ben")
    assert backend.get_alias("m", "staging").version == 3
    assert backend.get_model("m").aliases == {"staging": 3}
    assert backend.get_model_version("m", 3).aliases == ["staging"]
    backend.delete_alias("m", "staging", actor="carl")
    with pytest.raises(NotFoundError, match="no alias 'staging'"):
        backend.get_alias("m", "staging")
    history = [(e.from_version, e.to_version, e.actor) for e in backend.alias_history("m")]
    assert history == [(None, 1, "anna"), (1, 3, "ben"), (3, None, "carl")]


def test_alias_errors(backend: Backend, run_id: str, tmp_path: Path) -> None:
    backend.create_model_version("m", **_version_fields(backend, run_id, tmp_path))
    with pytest.raises(NotFoundError, match="no version 7"):
        backend.set_alias("m", "staging", 7)
    with pytest.raises(InvalidInputError, match="not a valid identifier"):
        backend.set_alias("m", "9 lives!", 1)
    with pytest.raises(NotFoundError, match="'ghost'"):
        backend.set_alias("ghost", "staging", 1)
    backend.set_version_status("m", 1, VersionStatus.REJECTED)
    with pytest.raises(ConflictError, match="rejected"):
        backend.set_alias("m", "production", 1)


def test_model_names_are_checked_and_belong_to_one_project(
    backend: Backend, run_id: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="model name"):
        backend.create_model_version("bad name/1", **_version_fields(backend, run_id, tmp_path))
    backend.create_model_version("m", **_version_fields(backend, run_id, tmp_path))
    backend.create_project("fraud")
    other = _version_fields(backend, None, tmp_path) | {"project": "fraud"}
    with pytest.raises(ConflictError, match="another project"):
        backend.create_model_version("m", **other)


def test_lineage_both_ways(backend: Backend, run_id: str, tmp_path: Path) -> None:
    import pandas as pd

    from werft.tracking.datasets import describe

    _, description = describe(pd.DataFrame({"x": [1, 2, 3]}))
    dataset = backend.register_dataset(
        "churn", "customers", description.model_dump(mode="json", by_alias=True), None
    )
    backend.link_input(run_id, dataset.id, "training")
    version = backend.create_model_version("m", **_version_fields(backend, run_id, tmp_path))
    lineage = backend.model_lineage("m", version.version)
    assert lineage.run_id == run_id and lineage.params == {"depth": "3"}
    assert lineage.metrics == {"auc": 0.91}
    assert [(d.name, d.digest) for d in lineage.datasets] == [("customers", dataset.digest)]
    assert lineage.code is not None and lineage.environment == {}
    assert [v.version for v in backend.versions_trained_on(dataset.id)] == [version.version]


def test_model_uris() -> None:
    assert parse_model_uri("models:/churn/3").version == 3
    assert parse_model_uri("models:/churn@production").alias == "production"
    ref = parse_model_uri("runs:/" + "a" * 32 + "/model")
    assert (ref.run_id, ref.path) == ("a" * 32, "model")
    for bad in ("models:/churn", "models:/churn@bad alias", "s3://x", "runs:/short/model"):
        with pytest.raises(InvalidInputError):
            parse_model_uri(bad)


def _register(url: str, home: str, queue: Any) -> None:
    from werft.config import load_settings
    from werft.services import build_services

    try:
        services = build_services(load_settings(home=home, database_url=url).settings)
        version = services.registry.create_version(
            "shared",
            project="churn",
            run_id=None,
            artifact_path="model",
            content_hash="sha256:" + "0" * 64,
            files={},
            flavor="python",
            model_class="x.Y",
            signature={},
        )
        services.close()
        queue.put(version.version)
    except Exception as exc:
        queue.put(repr(exc))


@pytest.mark.slow
def test_eight_processes_get_distinct_consecutive_numbers(
    database_url: str, tmp_path: Path
) -> None:
    from werft.config import load_settings
    from werft.services import build_services

    services = build_services(load_settings(home=tmp_path, database_url=database_url).settings)
    services.projects.create("churn")
    services.close()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_register, args=(database_url, str(tmp_path), queue)) for _ in range(8)
    ]
    for proc in procs:
        proc.start()
    numbers = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert sorted(numbers) == list(range(1, 9))
