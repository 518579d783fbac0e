"""Every state change of tracking and the registry lands in the audit log with its actor."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import werft
from werft.config import Settings
from werft.governance.actor import acting_as
from werft.governance.audit import AuditLog
from werft.sdk.fluent import set_backend
from werft.sdk.local import LocalBackend
from werft.services import Services


@pytest.fixture
def sdk(services: Services, settings: Settings) -> Iterator[Services]:
    set_backend(LocalBackend(services), settings)
    yield services
    werft.configure()


def test_tracking_and_registry_changes_are_audited(sdk: Services) -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    with acting_as("anna"):
        with werft.start_run(project="churn") as run:
            werft.log_dataset(frame, name="customers", context="training")
            info = werft.log_model(
                LogisticRegression().fit(frame[["x"]], frame["y"]),
                input_example=frame[["x"]],
                register="churn",
            )
        assert info.version is not None
        werft.set_alias("churn", "staging", info.version.version)
        werft.delete_alias("churn", "staging")
        sdk.runs.delete(run.id)
    events = AuditLog(sdk.db).list_events()
    assert [e.action for e in events] == [
        "project.created",
        "run.created",
        "dataset_version.registered",
        "model_version.registered",
        "alias.moved",
        "alias.deleted",
        "run.deleted",
    ]
    assert {e.actor for e in events} == {"anna"}
    moved = events[4]
    assert moved.object_id == "churn@staging" and moved.payload == {"from": None, "to": 1}
    assert moved.project == "churn"
    assert AuditLog(sdk.db).verify().ok
