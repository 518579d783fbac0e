"""Monitors over a deployment's prediction log: drift, prediction drift, quality,
performance from feedback, KPIs, scheduling and reports — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import werft
from werft.config import Settings
from werft.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from werft.monitoring.histograms import reference_spec
from werft.monitoring.report import render_html
from werft.quickstart import make_customers
from werft.sdk.fluent import set_backend
from werft.sdk.local import LocalBackend
from werft.services import Services, build_services
from werft.serving.predlog import PredictionLog, PredictionRecord

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FEATURES = ["tenure", "monthly_fee", "plan", "tickets"]


@dataclass
class Traffic:
    """Writes prediction-log segments for a registered churn model."""

    services: Services
    pipe: Pipeline
    version: int
    spool: Path
    profile: dict[str, object]

    def log(self, frame: pd.DataFrame, at: datetime, *, prefix: str) -> list[str]:
        answerable = frame[FEATURES].fillna({"tickets": 0}).astype({"tickets": int})
        predictions = self.pipe.predict(answerable)
        proba = self.pipe.predict_proba(answerable)
        classes = [str(c) for c in self.pipe.classes_]
        start = int(at.timestamp() * 1000)
        records = [
            PredictionRecord(
                request_id=f"{prefix}-{i:06d}",
                time_ms=start + i,
                model="churn",
                version=self.version,
                variant="primary",
                inputs={k: _plain(v) for k, v in row.items()},
                prediction=bool(predictions[i]),
                probabilities={c: float(p) for c, p in zip(classes, proba[i], strict=True)},
            )
            for i, row in enumerate(frame[FEATURES].to_dict("records"))
        ]
        log = PredictionLog(
            "churn-prod",
            self.spool,
            self.services.store,
            on_segment=lambda info: self.services.deployments.record_segment(
                "churn-prod", info.model_dump(mode="json")
            ),
            reference=reference_spec(self.profile),  # type: ignore[arg-type]
        )
        log.append(records)
        log.close()
        return [r.request_id for r in records]


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def monitored(settings: Settings, clock: list[datetime], tmp_path: Path) -> Iterator[Traffic]:
    services = build_services(settings, clock=lambda: clock[0])
    backend = LocalBackend(services)
    set_backend(backend, settings)
    data = make_customers(2000, 1)
    frame, label = data[FEATURES], data["churn"]
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("num", StandardScaler(), ["tenure", "monthly_fee", "tickets"]),
        ]
    )
    pipe = Pipeline([("prep", prep), ("clf", LogisticRegression())]).fit(frame, label)
    with werft.start_run(project="churn"):
        dataset = werft.log_dataset(data, name="customers", context="training")
        werft.log_metric("accuracy", 0.80)
        info = werft.log_model(pipe, input_example=frame.head(10), register="churn")
    assert info.version is not None
    werft.set_alias("churn", "production", info.version.version)
    services.deployments.register_replica(
        "churn-prod",
        models={"churn": {"alias": "production"}},
        strategy="single",
        replica_id="r1",
        address="http://127.0.0.1:1",
        host="test",
        pid=1,
    )
    yield Traffic(services, pipe, info.version.version, tmp_path / "spool", dataset.profile)
    werft.configure()
    services.close()


def _shifted(n: int, seed: int) -> pd.DataFrame:
    data = make_customers(n, seed)
    data["tenure"] = data["tenure"] + 40  # longer-standing customers than in training
    data["monthly_fee"] = data["monthly_fee"] * 1.8
    data["plan"] = np.where(np.arange(n) % 2 == 0, "family", data["plan"])
    return data


def test_monitor_lifecycle_and_bad_input(monitored: Traffic) -> None:
    monitors = monitored.services.monitors
    created = monitors.create("churn-watch", deployment="churn-prod", window_seconds=3600)
    assert created.next_run_at == datetime(2026, 11, 27, 12, 15, tzinfo=UTC)
    assert [m.name for m in monitors.list_monitors(deployment="churn-prod")] == ["churn-watch"]
    with pytest.raises(AlreadyExistsError):
        monitors.create("churn-watch", deployment="churn-prod")
    with pytest.raises(NotFoundError, match="deployment 'nope' not found"):
        monitors.create("other", deployment="nope")
    with pytest.raises(InvalidInputError, match="five fields"):
        monitors.create("other", deployment="churn-prod", schedule="every hour")
    with pytest.raises(InvalidInputError, match="out of range"):
        monitors.create("other", deployment="churn-prod", window_seconds=5)
    with pytest.raises(InvalidInputError, match="project/name@version"):
        monitors.create("other", deployment="churn-prod", config={"reference": "customers"})
    paused = monitors.update("churn-watch", enabled=False)
    assert not paused.enabled
    monitors.delete("churn-watch")
    with pytest.raises(NotFoundError, match="werft monitor list"):
        monitors.get("churn-watch")


def test_window_without_traffic_is_no_data(monitored: Traffic) -> None:
    monitors = monitored.services.monitors
    monitors.create("churn-watch", deployment="churn-prod")
    result = monitors.run("churn-watch", end=NOW)
    assert result.status == "no_data"
    assert result.rows == 0
    assert result.values["rows"] == 0


def test_drift_is_found_in_the_shifted_window_only(monitored: Traffic) -> None:
    monitors = monitored.services.monitors
    monitors.create("churn-watch", deployment="churn-prod", window_seconds=3600)
    monitored.log(make_customers(3000, 11)[FEATURES], NOW - timedelta(minutes=50), prefix="a")
    calm = monitors.run("churn-watch", end=NOW)
    assert calm.status == "ok"
    assert calm.rows == 3000
    assert calm.report["model"] == "churn"
    assert calm.report["reference"] == "churn/customers@1"
    assert calm.values["drift.share"] == 0.0
    assert set(calm.report["drift"]["features"]) == set(FEATURES)  # not the label column
    assert monitors.get("churn-watch").config.baseline is not None

    later = NOW + timedelta(hours=1)
    monitored.log(_shifted(3000, 12)[FEATURES], later - timedelta(minutes=50), prefix="b")
    shifted = monitors.run("churn-watch", end=later)
    assert shifted.status == "drift"
    assert set(shifted.report["drift"]["drifted"]) == {"tenure", "monthly_fee", "plan"}
    assert shifted.values["drift.share"] == 0.75
    assert shifted.values["drift.drifted.tickets"] == 0.0
    # outputs move too: the baseline from the first window says so before any label
    assert shifted.values["prediction.drift"] == 1.0
    assert 0 <= shifted.values["prediction.share.True"] <= 1
    # fees far above the training maximum are out of range
    assert shifted.values["quality.out_of_range.monthly_fee"] > 0.2
    assert calm.values["quality.out_of_range.monthly_fee"] < 0.01
    history = monitors.history("churn-watch")
    assert [r.status for r in history] == ["ok", "drift"]


def test_quality_counts_nulls_and_unseen_categories(monitored: Traffic) -> None:
    monitors = monitored.services.monitors
    monitors.create("churn-watch", deployment="churn-prod")
    frame = make_customers(1000, 5)[FEATURES].astype(object)
    frame.loc[:99, "tickets"] = None
    frame.loc[100:149, "plan"] = "enterprise"
    monitored.log(frame, NOW - timedelta(minutes=10), prefix="q")
    result = monitors.run("churn-watch", end=NOW)
    assert result.values["quality.null_rate.tickets"] == pytest.approx(0.1)
    assert result.values["quality.unseen.plan"] == pytest.approx(0.05)
    assert result.values["quality.null_rate.max"] == pytest.approx(0.1)


def test_performance_from_feedback_and_kpis(monitored: Traffic) -> None:
    services = monitored.services
    services.monitors.create("churn-watch", deployment="churn-prod", config={"tolerance": 0.05})
    data = make_customers(1500, 21)
    ids = monitored.log(data[FEATURES], NOW - timedelta(minutes=30), prefix="p")
    # the truth: the model is right for the first 600 and wrong for the rest
    predicted = monitored.pipe.predict(data[FEATURES])
    labels = [
        (rid, str(bool(p)) if i < 600 else str(not bool(p)))
        for i, (rid, p) in enumerate(zip(ids, predicted, strict=True))
    ]
    services.deployments.store_feedback("churn-prod", labels)
    services.kpis.log("churn-prod", "retained_customers", 410, NOW - timedelta(minutes=20))
    services.kpis.log("churn-prod", "retained_customers", 380, NOW - timedelta(minutes=5))
    result = services.monitors.run("churn-watch", end=NOW)
    assert result.values["performance.labelled"] == 1500
    assert result.values["performance.accuracy"] == pytest.approx(0.4)
    assert result.values["performance.degraded"] == 1.0
    assert result.values["performance.drop.accuracy"] == pytest.approx(0.4)
    assert result.values["performance.change_point"] == 1.0
    assert result.values["kpi.retained_customers"] == 380
    assert result.values["kpi.retained_customers.mean"] == 395


def test_due_monitors_run_once_across_workers(monitored: Traffic, settings: Settings) -> None:
    first = monitored.services.monitors
    first.create("churn-watch", deployment="churn-prod", schedule="*/15 * * * *")
    assert first.run_due(NOW) == []  # next run is 12:15
    other = build_services(settings, clock=lambda: NOW)
    try:
        at = NOW + timedelta(minutes=16)
        ran = first.run_due(at) + other.monitors.run_due(at)
    finally:
        other.close()
    assert len(ran) == 1
    monitor = first.get("churn-watch")
    assert monitor.next_run_at == datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    assert monitor.last_run_at is not None


def test_report_is_self_contained(monitored: Traffic, clock: list[datetime]) -> None:
    monitors = monitored.services.monitors
    monitors.create("churn-watch", deployment="churn-prod")
    monitored.log(make_customers(800, 3)[FEATURES], NOW - timedelta(minutes=30), prefix="a")
    monitors.run("churn-watch", end=NOW)
    monitored.log(_shifted(800, 4)[FEATURES], NOW + timedelta(minutes=30), prefix="b")
    monitors.run("churn-watch", end=NOW + timedelta(hours=1))
    clock[0] = NOW + timedelta(hours=1)
    report = monitors.report("churn-watch", last_seconds=86400)
    assert [t["status"] for t in report["timeline"]] == ["ok", "drift"]
    assert report["latest"]["report"]["drift"]["features"]["tenure"]["drifted"]
    html = render_html(report)
    assert html.count("<svg") >= len(FEATURES) + 3
    assert "tenure" in html
    external = {part for part in html.split('"') if part.startswith(("http://", "https://"))}
    assert external <= {"http://www.w3.org/2000/svg"}  # nothing to fetch: works offline
    assert "<script" not in html


def test_run_reports_several_models_needing_a_choice(monitored: Traffic) -> None:
    monitored.services.deployments.register_replica(
        "churn-prod",
        models={"churn": {"alias": "production"}, "other": {"alias": "production"}},
        strategy="single",
        replica_id="r2",
        address="http://127.0.0.1:2",
        host="test",
        pid=2,
    )
    monitored.services.monitors.create("churn-watch", deployment="churn-prod")
    with pytest.raises(InvalidInputError, match="--model"):
        monitored.services.monitors.run("churn-watch", end=NOW)
