"""The model card: what werft recorded about a model version, in one document.

:class:`ModelCards` gathers the card's content — the use case, the version and
its signature, the training run with its data lineage and hashes, the gate
reports, the approvals, the overrides, the alias history and the
deployments that serve the model — as a :class:`ModelCard`;
:mod:`werft.governance.card_render` writes it as Markdown or as one
self-contained HTML page.

For a use case of ``risk_class: high`` the card follows the structure of the
technical documentation the EU AI Act asks for (Regulation (EU) 2024/1689,
Annex IV, points 1 to 9). werft fills each point with what it recorded and says
what people still have to write: design rationale, risk management,
standards and the declaration of conformity are not things a registry knows.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.governance.approvals import approvals_of
from werft.governance.card_entities import (
    AnnexSection,
    CardCheck,
    CardDeployment,
    CardGate,
    CardOverride,
    ModelCard,
)
from werft.governance.policy import StoredUseCase, load_use_case
from werft.registry._rows import get_model_row, get_version_row
from werft.registry.service import ModelRegistry
from werft.store.db import Database
from werft.store.models import (
    ApprovalRow,
    AuditEventRow,
    DeploymentRow,
    GateReportRow,
    MonitorRow,
)
from werft.tracking._rows import Clock, aware, utcnow


class ModelCards:
    """Builds model cards from the registry, the gates, approvals and the audit log."""

    def __init__(self, db: Database, *, registry: ModelRegistry, clock: Clock = utcnow) -> None:
        self._db = db
        self._registry = registry
        self._clock = clock

    def build(self, name: str, version: int) -> ModelCard:
        """The card of one model version.

        Raises:
            NotFoundError: No such model or version.
        """
        lineage = self._registry.lineage(name, version)
        history = self._registry.alias_history(name)
        with self._db.session(write=False) as session:
            model = get_model_row(session, name)
            row = get_version_row(session, model, version)
            use_case = load_use_case(session, model.project_id)
            approvals = approvals_of(
                session,
                list(
                    session.scalars(
                        select(ApprovalRow)
                        .where(ApprovalRow.model_version_id == row.id)
                        .order_by(ApprovalRow.id)
                    )
                ),
            )
            gates = _gates(session, row.id)
            overrides = _overrides(session, f"{name}/{version}")
            deployments = _deployments(session, name)
        card = ModelCard(
            generated_at=self._clock(),
            version=lineage.version,
            use_case=use_case,
            run_id=lineage.run_id,
            run_name=lineage.run_name,
            params=lineage.params,
            metrics=lineage.metrics,
            datasets=lineage.datasets,
            code=lineage.code,
            environment=lineage.environment,
            gates=gates,
            approvals=approvals,
            overrides=overrides,
            alias_history=history,
            deployments=deployments,
        )
        if use_case is not None and use_case.risk_class == "high":
            card = card.model_copy(update={"annex": annex_sections(card)})
        return card


def _gates(session: Session, version_id: str) -> list[CardGate]:
    gates = []
    for gate in session.scalars(
        select(GateReportRow)
        .where(GateReportRow.model_version_id == version_id)
        .order_by(GateReportRow.id)
    ):
        report = gate.report if isinstance(gate.report, dict) else {}
        checks = [
            CardCheck(
                name=str(check.get("name", "")),
                passed=bool(check.get("passed")),
                value=check.get("value", check.get("observed")),
                op=str(check.get("op") or ""),
                threshold=check.get("threshold"),
                message=str(check.get("message") or check.get("details") or ""),
                skipped=bool(check.get("skipped")),
            )
            for check in report.get("checks") or []
            if isinstance(check, dict)
        ]
        created_at = aware(gate.created_at)
        assert created_at is not None
        rows = report.get("rows")
        compared = report.get("compared_with")
        gates.append(
            CardGate(
                id=gate.id,
                passed=gate.passed,
                created_at=created_at,
                created_by=gate.created_by,
                data_digest=gate.data_digest,
                rows=rows if isinstance(rows, int) else None,
                compared_with=compared if isinstance(compared, int) else None,
                checks=checks,
            )
        )
    return gates


def _overrides(session: Session, object_id: str) -> list[CardOverride]:
    events = session.scalars(
        select(AuditEventRow)
        .where(
            AuditEventRow.action == "promotion.overridden",
            AuditEventRow.object_type == "model_version",
            AuditEventRow.object_id == object_id,
        )
        .order_by(AuditEventRow.id)
    )
    result = []
    for event in events:
        at = aware(event.at)
        assert at is not None
        payload = event.payload if isinstance(event.payload, dict) else {}
        result.append(
            CardOverride(
                at=at,
                actor=event.actor,
                alias=str(payload.get("alias", "")),
                gate=str(payload.get("gate", "")),
                reason=str(payload.get("reason", "")),
            )
        )
    return result


def _deployments(session: Session, name: str) -> list[CardDeployment]:
    result = []
    for row in session.scalars(select(DeploymentRow).order_by(DeploymentRow.name)):
        served = (row.models or {}).get(name)
        if not isinstance(served, dict):
            continue
        monitors = session.scalars(
            select(MonitorRow.name)
            .where(MonitorRow.deployment_id == row.id)
            .order_by(MonitorRow.name)
        ).all()
        result.append(
            CardDeployment(
                name=row.name,
                alias=str(served.get("alias", "")),
                strategy=row.strategy,
                monitors=list(monitors),
            )
        )
    return result


def annex_sections(card: ModelCard) -> list[AnnexSection]:
    """Annex IV, points 1 to 9: what werft recorded for each, and what people must add."""
    use_case = card.use_case or StoredUseCase()
    purpose = "intended purpose" if use_case.intended_use else ""
    general = [
        item
        for item in (
            purpose,
            "business goal and owner" if use_case.business_goal else "",
            "model version and its relation to previous versions (alias history)",
            "software versions (Python and packages of the training run)"
            if card.environment
            else "",
        )
        if item
    ]
    general_needs = (
        "" if use_case.intended_use else "the intended purpose (intended_use in werft.yaml); "
    ) + (
        "how the system interacts with other hardware and software, the forms in which it is "
        "placed on the market or put into service, the hardware it runs on, the user interface "
        "and the instructions for use"
    )
    development = [
        "training method: flavor, model class and parameters of the training run",
        "input and output specification (signature)",
    ]
    if card.datasets:
        development.append("training data: dataset versions with content hashes")
    if card.gates:
        development.append("validation and testing: gate reports with every check")
    control = ["human release control: approvals under the four-eyes rule"]
    if card.deployments:
        control.append("deployments serving the model")
    metrics = ["measured metrics of the training run"]
    if use_case.acceptance:
        metrics.insert(0, "acceptance criteria from the use case")
    monitoring = (
        ["monitors watching the deployments: " + ", ".join(_monitors(card))]
        if _monitors(card)
        else []
    )
    return [
        AnnexSection(
            number=1,
            title="General description of the AI system",
            recorded=general,
            needs=general_needs,
        ),
        AnnexSection(
            number=2,
            title="Detailed description of the elements of the AI system and of the process "
            "for its development",
            recorded=development,
            needs="the design choices and their rationale, the system architecture, the "
            "computational resources used, data provenance, labelling and cleaning, the "
            "assessment of human oversight measures, and cybersecurity measures",
        ),
        AnnexSection(
            number=3,
            title="Monitoring, functioning and control of the AI system",
            recorded=control,
            needs="capabilities and limitations in performance, including accuracy for the "
            "persons or groups the system is used on; foreseeable unintended outcomes and "
            "sources of risk; the human oversight measures in operation",
        ),
        AnnexSection(
            number=4,
            title="Appropriateness of the performance metrics",
            recorded=metrics,
            needs="why these metrics and thresholds are appropriate for the intended purpose",
        ),
        AnnexSection(
            number=5,
            title="Risk management system (Article 9)",
            recorded=[f"risk class: {use_case.risk_class or 'high'}"],
            needs="the risk management system: known and foreseeable risks, their estimation "
            "and evaluation, and the measures taken",
        ),
        AnnexSection(
            number=6,
            title="Relevant changes made through the lifecycle",
            recorded=[
                "versions and alias moves with who and when",
                "approval decisions with names and comments (point 3)",
                "gate overrides with their written reasons",
            ],
        ),
        AnnexSection(
            number=7,
            title="Harmonised standards applied",
            needs="the harmonised standards applied, or the other solutions adopted to meet the "
            "requirements",
        ),
        AnnexSection(
            number=8,
            title="EU declaration of conformity (Article 47)",
            needs="a copy of the EU declaration of conformity",
        ),
        AnnexSection(
            number=9,
            title="Evaluation of performance in the post-market phase (Article 72)",
            recorded=monitoring,
            needs="the post-market monitoring plan"
            + ("" if monitoring else "; no werft monitor watches a deployment of this model yet"),
        ),
    ]


def _monitors(card: ModelCard) -> list[str]:
    return [name for deployment in card.deployments for name in deployment.monitors]
