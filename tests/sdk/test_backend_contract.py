"""The tracking contract, run against both backends (local, remote) and both databases."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest

from werft.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from werft.sdk.backend import Backend
from werft.tracking.entities import RunStatus


def _run(backend: Backend, project: str = "churn", **fields: object) -> str:
    backend.get_or_create_project(project)
    return backend.create_run(project, **fields).id


def test_project_create_get_and_duplicate(backend: Backend) -> None:
    created = backend.create_project("churn", name="Churn", description="who leaves")
    assert backend.get_project("churn") == created
    with pytest.raises(AlreadyExistsError, match="'churn' already exists"):
        backend.create_project("churn")


def test_unknown_project_and_run_are_named(backend: Backend) -> None:
    with pytest.raises(NotFoundError, match="'nope'"):
        backend.get_project("nope")
    with pytest.raises(NotFoundError, match="'0123abc'"):
        backend.get_run("0123abc")


def test_invalid_project_key_is_explained(backend: Backend) -> None:
    with pytest.raises(InvalidInputError, match="lower-case"):
        backend.create_project("Churn Model!")


def test_run_records_fields_and_ends(backend: Backend) -> None:
    run_id = _run(
        backend,
        name="gbm",
        user="anna",
        git_commit="abc123",
        git_dirty=True,
        environment={"python": "3.11.7"},
        tags={"team": "sales"},
    )
    run = backend.get_run(run_id)
    assert (run.name, run.user, run.git_commit, run.git_dirty) == ("gbm", "anna", "abc123", True)
    assert run.status is RunStatus.RUNNING and run.end_time is None
    assert run.tags == {"team": "sales"} and run.environment == {"python": "3.11.7"}
    ended = backend.end_run(run_id, RunStatus.FAILED)
    assert ended.status is RunStatus.FAILED and ended.end_time is not None
    assert ended.end_time >= ended.start_time


def test_params_are_immutable_but_relogging_the_same_value_is_fine(backend: Backend) -> None:
    run_id = _run(backend)
    backend.log_params(run_id, {"depth": 3, "lr": 0.1})
    backend.log_params(run_id, {"depth": "3"})
    with pytest.raises(ConflictError, match=r"'depth' already logged as '3', now '4'"):
        backend.log_params(run_id, {"depth": 4})
    assert backend.get_run(run_id).params == {"depth": "3", "lr": "0.1"}


def test_oversized_values_are_rejected_with_the_limit(backend: Backend) -> None:
    run_id = _run(backend)
    with pytest.raises(InvalidInputError, match="6000"):
        backend.log_params(run_id, {"blob": "x" * 6001})
    with pytest.raises(InvalidInputError, match="8000"):
        backend.set_tags(run_id, {"note": "x" * 8001})
    backend.log_params(run_id, {"ok": "x" * 6000})
    backend.set_tags(run_id, {"ok": "x" * 8000})


def test_metric_history_keeps_every_point_including_nan_and_inf(backend: Backend) -> None:
    run_id = _run(backend)
    rows = [("loss", 1.0 / (s + 1), s, 1000 + s) for s in range(500)]
    rows += [("odd", math.nan, 0, 1), ("odd", math.inf, 1, 2), ("odd", -math.inf, 2, 3)]
    assert backend.log_metric_rows(run_id, rows) == 503
    history = backend.get_metric_history(run_id, "loss").items
    assert [p.step for p in history] == list(range(500))
    assert history[-1].value == pytest.approx(1 / 500)
    odd = [p.value for p in backend.get_metric_history(run_id, "odd").items]
    assert math.isnan(odd[0]) and odd[1:] == [math.inf, -math.inf]
    latest = backend.get_run(run_id).metrics
    assert latest["loss"] == pytest.approx(1 / 500) and latest["odd"] == -math.inf


def test_latest_metric_is_highest_step_not_last_sent(backend: Backend) -> None:
    run_id = _run(backend)
    backend.log_metric_rows(run_id, [("acc", 0.9, 10, 100)])
    backend.log_metric_rows(run_id, [("acc", 0.5, 3, 200)])
    assert backend.get_run(run_id).metrics["acc"] == 0.9


def test_metric_history_pages(backend: Backend) -> None:
    run_id = _run(backend)
    backend.log_metric_rows(run_id, [("m", float(s), s, s) for s in range(25)])
    first = backend.get_metric_history(run_id, "m", limit=10)
    second = backend.get_metric_history(run_id, "m", limit=10, cursor=first.next_cursor)
    third = backend.get_metric_history(run_id, "m", limit=10, cursor=second.next_cursor)
    steps = [p.step for page in (first, second, third) for p in page.items]
    assert steps == list(range(25)) and third.next_cursor is None


def test_finished_run_refuses_data(backend: Backend, tmp_path: Path) -> None:
    run_id = _run(backend)
    backend.end_run(run_id)
    with pytest.raises(ConflictError, match="finished"):
        backend.log_metric_rows(run_id, [("loss", 1.0, 0, 0)])
    with pytest.raises(ConflictError, match="finished"):
        backend.log_params(run_id, {"a": 1})
    file = tmp_path / "f.txt"
    file.write_text("x")
    with pytest.raises(ConflictError, match="finished"):
        backend.log_artifact(run_id, file)
    with pytest.raises(ConflictError):
        backend.end_run(run_id)


def test_invalid_metric_key_is_rejected(backend: Backend) -> None:
    run_id = _run(backend)
    with pytest.raises(InvalidInputError, match="metric key"):
        backend.log_metric_rows(run_id, [("bad\nkey", 1.0, 0, 0)])


def test_tags_can_change_and_be_deleted(backend: Backend) -> None:
    run_id = _run(backend)
    backend.set_tags(run_id, {"stage": "dev", "owner": "anna"})
    backend.set_tags(run_id, {"stage": "prod"})
    backend.delete_tag(run_id, "owner")
    assert backend.get_run(run_id).tags == {"stage": "prod"}
    with pytest.raises(NotFoundError, match="owner"):
        backend.delete_tag(run_id, "owner")


def _populate(backend: Backend) -> dict[str, str]:
    ids = {}
    for name, depth, auc in [("a", 3, 0.91), ("b", 3, 0.75), ("c", 5, 0.95), ("d", 3, 0.85)]:
        run_id = _run(backend, name=name)
        backend.log_params(run_id, {"depth": depth})
        backend.log_metric_rows(run_id, [("auc", auc, 0, 1)])
        ids[name] = run_id
    _run(backend, name="no-metrics")
    return ids


def test_search_with_the_documented_filter(backend: Backend) -> None:
    _populate(backend)
    page = backend.search_runs(
        "churn", filter="metrics.auc > 0.8 and params.depth = '3'", order_by=["metrics.auc DESC"]
    )
    assert [r.name for r in page.items] == ["a", "d"]


def test_search_or_parentheses_and_ordering(backend: Backend) -> None:
    _populate(backend)
    page = backend.search_runs(
        "churn",
        filter="(params.depth = '5' or metrics.auc < 0.8) and status = 'running'",
        order_by=["metrics.auc ASC"],
    )
    assert [r.name for r in page.items] == ["b", "c"]
    everything = backend.search_runs("churn", order_by=["metrics.auc DESC"]).items
    assert [r.name for r in everything][-1] == "no-metrics"  # missing values sort last
    missing = backend.search_runs("churn", filter="metrics.auc IS NULL").items
    assert [r.name for r in missing] == ["no-metrics"]


def test_search_pages_with_cursor(backend: Backend) -> None:
    _populate(backend)
    first = backend.search_runs("churn", order_by=["name"], max_results=2)
    second = backend.search_runs(
        "churn", order_by=["name"], max_results=2, cursor=first.next_cursor
    )
    third = backend.search_runs(
        "churn", order_by=["name"], max_results=2, cursor=second.next_cursor
    )
    names = [r.name for page in (first, second, third) for r in page.items]
    assert names == ["a", "b", "c", "d", "no-metrics"] and third.next_cursor is None
    with pytest.raises(InvalidInputError, match="different query"):
        backend.search_runs("churn", order_by=["name DESC"], cursor=first.next_cursor)


def test_invalid_filter_points_at_the_position(backend: Backend) -> None:
    backend.create_project("churn")
    with pytest.raises(InvalidInputError, match="character 15"):
        backend.search_runs("churn", filter="metrics.auc > ")


def test_artifacts_round_trip_and_paths_cannot_escape(backend: Backend, tmp_path: Path) -> None:
    run_id = _run(backend)
    file = tmp_path / "confusion.png"
    file.write_bytes(b"\x89PNG" + bytes(range(256)) * 100)
    info = backend.log_artifact(run_id, file, "plots/confusion.png")
    assert info.path == "plots/confusion.png" and info.size == file.stat().st_size
    assert info.digest.startswith("sha256:")
    assert [a.path for a in backend.list_artifacts(run_id)] == ["plots/confusion.png"]
    assert backend.list_artifacts(run_id, prefix="other") == []
    out = backend.download_artifact(run_id, "plots/confusion.png", tmp_path / "out" / "c.png")
    assert out.read_bytes() == file.read_bytes()
    for bad in ("../escape.txt", "/etc/passwd", "a/../../b"):
        with pytest.raises(InvalidInputError):
            backend.log_artifact(run_id, file, bad)
    with pytest.raises(NotFoundError, match=r"missing\.txt"):
        backend.download_artifact(run_id, "missing.txt", tmp_path / "m.txt")


def test_dataset_versions_count_up_by_content(backend: Backend, tmp_path: Path) -> None:
    import pandas as pd

    from werft.tracking.datasets import describe

    run_id = _run(backend)
    frame = pd.DataFrame({"tenure": [1, 5, 9], "plan": ["a", "b", "a"]})
    _, description = describe(frame)
    payload = description.model_dump(mode="json", by_alias=True)
    path = tmp_path / "d.parquet"
    frame.to_parquet(path, index=False)
    blob = backend.upload_blob(path)
    v1 = backend.register_dataset("churn", "customers", payload, blob.digest)
    again = backend.register_dataset("churn", "customers", payload, blob.digest)
    assert v1.version == 1 and again.id == v1.id and v1.row_count == 3
    assert [c["name"] for c in v1.schema_] == ["tenure", "plan"]
    _, changed = describe(frame.assign(tenure=[1, 5, 10]))
    v2 = backend.register_dataset(
        "churn", "customers", changed.model_dump(mode="json", by_alias=True), None
    )
    assert v2.version == 2 and v2.digest != v1.digest
    backend.link_input(run_id, v1.id, "training")
    run = backend.get_run(run_id)
    assert [(i.name, i.version, i.context) for i in run.inputs] == [("customers", 1, "training")]
    assert backend.get_dataset_version("churn", "customers").version == 2
    assert [v.version for v in backend.list_dataset_versions("churn", "customers")] == [1, 2]


def test_delete_restore_and_gc_free_the_key_and_blobs(backend: Backend, tmp_path: Path) -> None:
    run_id = _run(backend, project="old")
    file = tmp_path / "model.bin"
    file.write_bytes(b"weights" * 1000)
    backend.log_artifact(run_id, file)
    backend.delete_run(run_id)
    with pytest.raises(NotFoundError):
        backend.get_run(run_id)
    backend.restore_run(run_id)
    backend.delete_project("old")
    with pytest.raises(ConflictError, match="restore"):
        backend.get_or_create_project("old")
    assert backend.gc().projects_purged == []  # within retention: nothing purged
    report = backend.gc(older_than=timedelta(0))
    assert report.projects_purged == ["old"] and report.runs_purged == 0
    # The blob was written moments ago: inside the grace period it stays.
    assert report.blobs_deleted == 0
    assert backend.create_project("old").key == "old"
