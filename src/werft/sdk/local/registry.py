"""Models, versions, aliases, promotions, approvals, cards, use cases and gates in process."""

from __future__ import annotations

from typing import Any

from werft.gates.entities import GateEvaluation, GateReport
from werft.governance.approval_entities import Approval, PromotionResult
from werft.governance.card_entities import ModelCard
from werft.governance.usecases.entities import SyncedUseCase, UseCaseSync
from werft.governance.usecases.spec import UseCase
from werft.registry.entities import (
    AliasEvent,
    Lineage,
    ModelVersion,
    RegisteredModel,
    VersionStatus,
)
from werft.sdk.local._base import LocalBase
from werft.tracking.entities import Page


class LocalRegistry(LocalBase):
    """The registry part of :class:`~werft.sdk.local.LocalBackend`."""

    # registry
    def create_model(self, name: str, project: str, *, description: str = "") -> RegisteredModel:
        return self.services.registry.create_model(name, project, description=description)

    def get_model(self, name: str) -> RegisteredModel:
        return self.services.registry.get_model(name)

    def list_models(
        self, *, project: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page[RegisteredModel]:
        return self.services.registry.list_models(project=project, limit=limit, cursor=cursor)

    def create_model_version(self, name: str, **fields: Any) -> ModelVersion:
        return self.services.registry.create_version(name, **fields)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self.services.registry.get_version(name, version)

    def list_model_versions(
        self, name: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[ModelVersion]:
        return self.services.registry.list_versions(name, limit=limit, cursor=cursor)

    def set_version_status(self, name: str, version: int, status: VersionStatus) -> ModelVersion:
        return self.services.registry.set_status(name, version, status)

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        return self.services.registry.get_alias(name, alias)

    def set_alias(self, name: str, alias: str, version: int, *, actor: str = "") -> ModelVersion:
        return self.services.registry.set_alias(name, alias, version, actor=actor)

    def delete_alias(self, name: str, alias: str, *, actor: str = "", reason: str = "") -> None:
        self.services.registry.delete_alias(name, alias, actor=actor, reason=reason)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        return self.services.registry.alias_history(name, alias)

    # promotion and approvals
    def promote(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        reason: str = "",
        override_reason: str | None = None,
    ) -> PromotionResult:
        return self.services.promotions.promote(
            name, version, alias, reason=reason, override_reason=override_reason
        )

    def list_approvals(
        self, *, status: str | None = None, model: str | None = None
    ) -> list[Approval]:
        return self.services.promotions.list_requests(status=status, model=model)

    def get_approval(self, approval_id: int) -> Approval:
        return self.services.promotions.get(approval_id)

    def approve(self, approval_id: int, *, comment: str = "") -> Approval:
        return self.services.promotions.approve(approval_id, comment=comment)

    def reject(self, approval_id: int, *, comment: str) -> Approval:
        return self.services.promotions.reject(approval_id, comment=comment)

    def cancel_approval(self, approval_id: int, *, comment: str = "") -> Approval:
        return self.services.promotions.cancel(approval_id, comment=comment)

    def rollback(self, name: str, alias: str) -> ModelVersion:
        return self.services.promotions.rollback(name, alias)

    def model_card(self, name: str, version: int) -> ModelCard:
        return self.services.cards.build(name, version)

    def model_lineage(self, name: str, version: int) -> Lineage:
        return self.services.registry.lineage(name, version)

    def versions_trained_on(self, dataset_version_id: str) -> list[ModelVersion]:
        return self.services.registry.versions_trained_on(dataset_version_id)

    # use cases and gates
    def sync_use_case(self, spec: UseCase, *, digest: str | None = None) -> UseCaseSync:
        return self.services.use_cases.sync(spec, digest)

    def get_use_case(self, project: str) -> SyncedUseCase:
        return self.services.use_cases.get_synced(project)

    def record_gate_report(self, name: str, version: int, evaluation: GateEvaluation) -> GateReport:
        return self.services.gates.record(name, version, evaluation)

    def list_gate_reports(self, name: str, version: int) -> list[GateReport]:
        return self.services.gates.list_reports(name, version)
