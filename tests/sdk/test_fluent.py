"""The module-level SDK (`werft.start_run` ...) in local and remote mode."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import werft
from werft.config import Settings
from werft.errors import ConflictError, InvalidInputError, UnavailableError
from werft.sdk.backend import Backend
from werft.sdk.fluent import set_backend


@pytest.fixture
def sdk(backend: Backend, settings: Settings) -> Iterator[Backend]:
    set_backend(backend, settings)
    yield backend
    werft.configure()


def test_the_issue_example(sdk: Backend, tmp_path: Path) -> None:
    import pandas as pd

    train_df = pd.DataFrame({"tenure": range(100), "plan": ["pro", "basic"] * 50})
    (tmp_path / "confusion.png").write_bytes(b"png-bytes")
    with werft.start_run(project="churn", name="gbm-depth3") as run:
        werft.log_params({"depth": 3, "lr": 0.1})
        version = werft.log_dataset(train_df, name="customers", context="training")
        for step in range(1000):
            werft.log_metric("loss", 1.0 / (step + 1), step=step)
        werft.log_metric("auc", 0.91)
        werft.log_artifact(tmp_path / "confusion.png")

    runs = werft.search_runs(
        "churn",
        filter="metrics.auc > 0.8 and params.depth = '3'",
        order_by=["metrics.auc DESC"],
        max_results=50,
    )
    assert [r.id for r in runs] == [run.id]
    stored = runs[0]
    assert stored.status.value == "finished" and stored.metrics["auc"] == 0.91
    assert stored.params == {"depth": "3", "lr": "0.1"}
    assert stored.inputs[0].name == "customers" and stored.inputs[0].digest == version.digest
    assert stored.environment["python"] and "numpy" in stored.environment["packages"]
    history = werft.get_metric_history(run.id, "loss")
    assert len(history) == 1000 and history[999].value == pytest.approx(1 / 1000)
    assert [a.path for a in werft.list_artifacts(run.id)] == ["confusion.png"]
    out = werft.download_artifact(run.id, "confusion.png", tmp_path / "back.png")
    assert out.read_bytes() == b"png-bytes"
    assert version.profile["row_count"] == 100


def test_tags_at_start_are_text_in_both_modes(sdk: Backend) -> None:
    with werft.start_run(project="churn", tags={"attempt": 2, "team": "sales"}) as run:
        pass
    assert werft.get_run(run.id).tags == {"attempt": "2", "team": "sales"}


def test_exception_marks_the_run_failed_and_propagates(sdk: Backend) -> None:
    with pytest.raises(ZeroDivisionError), werft.start_run(project="churn") as run:
        werft.log_metric("loss", 0.5)
        _ = 1 / 0
    stored = werft.get_run(run.id)
    assert stored.status.value == "failed"
    assert stored.metrics["loss"] == 0.5  # buffered points were still flushed


def test_keyboard_interrupt_marks_the_run_killed(sdk: Backend) -> None:
    with pytest.raises(KeyboardInterrupt), werft.start_run(project="churn") as run:
        raise KeyboardInterrupt
    assert werft.get_run(run.id).status.value == "killed"


def test_logging_without_or_after_a_run_is_refused(sdk: Backend) -> None:
    with pytest.raises(ConflictError, match="no active run"):
        werft.log_metric("loss", 1.0)
    with werft.start_run(project="churn") as run:
        pass
    with pytest.raises(ConflictError, match="ended"):
        run.log_metric("loss", 1.0)


def test_bad_metric_values_fail_at_the_call(sdk: Backend) -> None:
    import numpy as np

    with werft.start_run(project="churn"):
        with pytest.raises(InvalidInputError, match="must be a number"):
            werft.log_metric("loss", "high")  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="metric key"):
            werft.log_metric("", 1.0)
        werft.log_metric("np", np.float32(0.25), step=np.int64(3))  # type: ignore[arg-type]
        werft.log_metric("nan", math.nan)
    run = werft.search_runs("churn")[0]
    assert run.metrics["np"] == 0.25 and math.isnan(run.metrics["nan"])


def test_params_conflict_through_the_sdk(sdk: Backend) -> None:
    with werft.start_run(project="churn"):
        werft.log_param("depth", 3)
        with pytest.raises(ConflictError, match="'depth' already logged as '3'"):
            werft.log_param("depth", 4)


def test_nested_runs_and_log_artifacts_folder(sdk: Backend, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    (folder / "plots").mkdir(parents=True)
    (folder / "summary.txt").write_text("ok")
    (folder / "plots" / "roc.svg").write_text("<svg/>")
    with werft.start_run(project="churn", name="parent") as parent:
        with werft.start_run(project="churn", name="child") as child:
            assert werft.active_run() is child
            werft.log_artifacts(folder, "report")
        assert werft.active_run() is parent
    paths = [a.path for a in werft.list_artifacts(child.id)]
    assert paths == ["report/plots/roc.svg", "report/summary.txt"]
    assert werft.active_run() is None


class _FailingBackend:
    """Delegates to a real backend but refuses metric writes while ``down`` is set."""

    def __init__(self, inner: Backend) -> None:
        self._inner = inner
        self.down = threading.Event()

    def log_metric_rows(self, run_id: str, rows: object) -> int:
        if self.down.is_set():
            raise UnavailableError("server went away")
        return self._inner.log_metric_rows(run_id, rows)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_flush_failure_is_retried_then_reported_never_dropped(
    backend: Backend, settings: Settings
) -> None:
    flaky = _FailingBackend(backend)
    set_backend(flaky, settings.model_copy(update={"metric_flush_interval": 0.01}))  # type: ignore[arg-type]
    run = werft.start_run(project="churn")
    flaky.down.set()
    for step in range(10):
        werft.log_metric("loss", float(step), step=step)
    with pytest.raises(UnavailableError, match="server went away"):
        run.flush()
    flaky.down.clear()
    run.flush()  # the points survived the failed attempt
    assert len(werft.get_metric_history(run.id, "loss")) == 10
    flaky.down.set()
    werft.log_metric("loss", 99.0, step=99)
    with pytest.raises(UnavailableError, match=r"1 metric points could not be written") as info:
        run.end()
    recovery = settings.home / "unsent-metrics" / f"{run.id}.jsonl"
    assert recovery.read_text().count("\n") == 1 and str(recovery) in str(info.value)


def test_system_metrics_are_sampled(sdk: Backend) -> None:
    with werft.start_run(
        project="churn", log_system_metrics=True, system_metrics_interval=0.02
    ) as run:
        deadline = threading.Event()
        deadline.wait(0.2)
    metrics = werft.get_run(run.id).metrics
    assert {"system/cpu_percent", "system/memory_percent", "system/process_rss_mb"} <= set(metrics)
    assert metrics["system/process_rss_mb"] > 1


def test_public_surface_is_guarded() -> None:
    assert sorted(werft.__all__) == sorted(
        [
            "ActiveRun",
            "ModelInfo",
            "__version__",
            "active_run",
            "approve",
            "cancel_approval",
            "configure",
            "delete_alias",
            "download_artifact",
            "drift",
            "end_run",
            "get_approval",
            "get_dataset_version",
            "get_metric_history",
            "get_model_version",
            "get_run",
            "list_approvals",
            "list_artifacts",
            "load_dataset",
            "load_model",
            "log_artifact",
            "log_artifacts",
            "log_dataset",
            "log_kpi",
            "log_metric",
            "log_metrics",
            "log_model",
            "log_param",
            "log_params",
            "maturity",
            "promote",
            "reject",
            "rollback",
            "search_runs",
            "set_alias",
            "set_tag",
            "set_tags",
            "start_run",
        ]
    )
