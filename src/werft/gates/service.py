"""Gate reports on model versions: stored with the status change they cause, audited."""

from __future__ import annotations

from sqlalchemy import select

from werft.gates.entities import Check, CiRun, GateEvaluation, GateReport
from werft.governance import audit
from werft.governance.actor import current_actor
from werft.registry._rows import get_model_row, get_version_row
from werft.registry.entities import VersionStatus
from werft.store.db import Database
from werft.store.models import GateReportRow, ProjectRow
from werft.tracking._rows import Clock, aware, utcnow


def next_status(current: VersionStatus, passed: bool) -> VersionStatus:
    """A version's status after a gate: a pass validates a candidate, a failure
    sends a validated version back to candidate; approved, rejected and archived
    versions keep their status (a gate never overrides a decision)."""
    if passed and current is VersionStatus.CANDIDATE:
        return VersionStatus.VALIDATED
    if not passed and current is VersionStatus.VALIDATED:
        return VersionStatus.CANDIDATE
    return current


class GateService:
    """Store gate reports on versions and list them."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def record(self, name: str, version: int, evaluation: GateEvaluation) -> GateReport:
        """Store ``evaluation`` on the version, set its status, audit ``gate.evaluated``.

        The verdict is recomputed from the checks: a report passes when every check passed.

        Raises:
            NotFoundError: No such model or version.
        """
        with self._db.session() as session:
            model = get_model_row(session, name)
            row = get_version_row(session, model, version)
            passed, now, actor = evaluation.passed, self._clock(), current_actor()
            before = VersionStatus(row.status)
            after = next_status(before, passed)
            row.status = after.value
            report = evaluation.model_dump(mode="json", exclude={"data_digest"})
            report["version_status"] = after.value
            gate = GateReportRow(
                model_version_id=row.id,
                passed=passed,
                data_digest=evaluation.data_digest,
                report=report,
                created_at=now,
                created_by=actor,
            )
            session.add(gate)
            session.flush()
            project = session.get(ProjectRow, model.project_id)
            audit.append(
                session,
                "gate.evaluated",
                object_type="model_version",
                object_id=f"{name}/{version}",
                project=project.key if project is not None else None,
                payload={
                    "report_id": gate.id,
                    "passed": passed,
                    "data_digest": evaluation.data_digest,
                    "failed": [check.name for check in evaluation.failed],
                    "status": {"from": before.value, "to": after.value},
                },
                actor=actor,
                at=now,
            )
            return _report(gate, name, version)

    def list_reports(self, name: str, version: int) -> list[GateReport]:
        """The version's gate reports, newest first."""
        return self._newest(name, version, limit=None)

    def find_latest(self, name: str, version: int) -> GateReport | None:
        """The version's newest gate report, or None before its first check."""
        reports = self._newest(name, version, limit=1)
        return reports[0] if reports else None

    def _newest(self, name: str, version: int, *, limit: int | None) -> list[GateReport]:
        with self._db.session(write=False) as session:
            model = get_model_row(session, name)
            row = get_version_row(session, model, version)
            gates = session.scalars(
                select(GateReportRow)
                .where(GateReportRow.model_version_id == row.id)
                .order_by(GateReportRow.id.desc())
                .limit(limit)
            ).all()
            return [_report(gate, name, version) for gate in gates]


def _report(row: GateReportRow, name: str, version: int) -> GateReport:
    data = row.report
    created_at = aware(row.created_at)
    assert created_at is not None
    return GateReport(
        id=row.id,
        model=name,
        version=version,
        passed=row.passed,
        version_status=VersionStatus(data["version_status"]),
        data_digest=row.data_digest,
        rows=int(data.get("rows", 0)),
        checks=[Check.model_validate(check) for check in data.get("checks", [])],
        use_case=data.get("use_case"),
        use_case_digest=data.get("use_case_digest"),
        compared_with=data.get("compared_with"),
        ci=CiRun.model_validate(data["ci"]) if data.get("ci") else None,
        created_at=created_at,
        created_by=row.created_by,
    )
