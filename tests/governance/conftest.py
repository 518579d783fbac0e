"""Fixtures for promotion, approvals and model cards: versions, use cases, gate reports."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from werft.governance.actor import acting_as
from werft.services import Services
from werft.store.models import GateReportRow, ProjectRow, UseCaseRow
from werft.tracking._rows import utcnow
from werft.tracking.entities import Metric

MODEL = "churn-classifier"

USE_CASE_DIGEST = "sha256:" + "ef" * 32


@dataclass
class Release:
    """Builds what a promotion reads: registered versions, the use case, gate reports."""

    services: Services
    project: str = "churn"

    def version(self, *, gate: bool | None = True, name: str = MODEL) -> int:
        """Register a version (by ``dev``) trained in a run; ``gate``: passed, failed, none."""
        self.services.projects.get_or_create(self.project)
        with acting_as("dev"):
            run = self.services.runs.create(self.project, name="train")
            self.services.runs.log_params(run.id, {"depth": 3})
            self.services.runs.log_metrics(
                run.id, [Metric(key="auc", value=0.91, step=0, timestamp=1)]
            )
            data = self.services.datasets.register(
                self.project,
                "customers",
                {
                    "digest": "sha256:" + "12" * 32,
                    "row_count": 1000,
                    "schema": [{"name": "tenure", "dtype": "float64"}],
                    "profile": {},
                },
            )
            self.services.datasets.link_input(run.id, data.id, "training")
            made = self.services.registry.create_version(
                name,
                project=self.project,
                run_id=run.id,
                artifact_path="model",
                content_hash="sha256:" + "ab" * 32,
                files={},
                flavor="sklearn",
                model_class="sklearn.pipeline.Pipeline",
                signature={
                    "inputs": [{"name": "tenure", "dtype": "float64"}],
                    "output": {"kind": "classifier", "dtype": "int64"},
                },
                created_by="dev",
            )
        if gate is not None:
            self.gate(made.version, passed=gate, name=name)
        return made.version

    def gate(self, version: int, *, passed: bool, name: str = MODEL) -> int:
        """Store a gate report as `werft check` would."""
        version_id = self.services.registry.get_version(name, version).id
        checks = [
            {
                "name": "data.null_rate",
                "kind": "data",
                "passed": True,
                "value": 0.01,
                "threshold": 0.05,
                "op": "<=",
                "message": "no column has too many nulls",
            },
            {
                "name": "model.acceptance.roc_auc",
                "kind": "model",
                "passed": passed,
                "value": 0.91 if passed else 0.8,
                "threshold": 0.85,
                "op": ">=",
                "message": "" if passed else "roc_auc 0.8 < 0.85",
            },
        ]
        with self.services.db.session() as session:
            row = GateReportRow(
                model_version_id=version_id,
                passed=passed,
                data_digest="sha256:" + "cd" * 32,
                report={
                    "rows": 500,
                    "checks": checks,
                    "version_status": "validated",
                    "use_case_digest": USE_CASE_DIGEST,  # the werft.yaml use_case() stores
                },
                created_at=utcnow(),
                created_by="ci",
            )
            session.add(row)
            session.flush()
            return row.id

    def use_case(
        self,
        *,
        policy: Mapping[str, str] | None = None,
        approvers: Sequence[str] = ("anna", "ops-lead"),
        risk_class: str = "limited",
        **extra: Any,
    ) -> None:
        """Store the project's use case as the werft.yaml sync would."""
        project = self.services.projects.get_or_create(self.project)
        spec = {
            "key": self.project,
            "name": "Churn prediction for contract customers",
            "business_goal": "Reduce contract cancellations by reaching at-risk customers early",
            "owner": "sales-analytics",
            "risk_class": risk_class,
            "kpis": [{"name": "retained_customers", "unit": "count", "direction": "up"}],
            "acceptance": [{"metric": "roc_auc", "op": ">=", "value": 0.85}],
            "approvers": list(approvers),
            "policy": dict(policy or {"production": "approval", "staging": "automatic"}),
            **extra,
        }
        with self.services.db.session() as session:
            assert session.get(ProjectRow, project.id) is not None
            row = session.get(UseCaseRow, project.id)
            if row is None:
                session.add(
                    UseCaseRow(
                        project_id=project.id,
                        spec=spec,
                        digest=USE_CASE_DIGEST,
                        updated_at=utcnow(),
                        updated_by="anna",
                    )
                )
            else:
                row.spec = spec


@pytest.fixture
def release(services: Services) -> Release:
    return Release(services)


@pytest.fixture
def closed_url() -> str:
    """An http URL on a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
