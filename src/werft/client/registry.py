"""Models, versions, aliases, promotions, approvals, cards, use cases and gates over HTTP."""

from __future__ import annotations

from typing import Any

from werft.client._base import ClientBase, _q
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
from werft.registry.uris import check_model_name
from werft.tracking.entities import Page


class RegistryClient(ClientBase):
    """The registry part of :class:`~werft.client.http.WerftClient`, releases included."""

    # --- registry ---------------------------------------------------------------------

    def create_model(self, name: str, project: str, *, description: str = "") -> RegisteredModel:
        body = {"name": name, "project": project, "description": description}
        return RegisteredModel.model_validate(self._json("POST", "/models", body))

    def get_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.model_validate(self._json("GET", f"/models/{_q(name)}"))

    def list_models(
        self, *, project: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page[RegisteredModel]:
        params: dict[str, Any] = {"limit": limit}
        if project:
            params["project"] = project
        if cursor:
            params["cursor"] = cursor
        return Page[RegisteredModel].model_validate(self._json("GET", "/models", params=params))

    def create_model_version(self, name: str, **fields: Any) -> ModelVersion:
        check_model_name(name)  # a '/' in the name would otherwise change the URL
        data = self._json("POST", f"/models/{_q(name)}/versions", fields)
        return ModelVersion.model_validate(data)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        data = self._json("GET", f"/models/{_q(name)}/versions/{int(version)}")
        return ModelVersion.model_validate(data)

    def list_model_versions(
        self, name: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[ModelVersion]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        data = self._json("GET", f"/models/{_q(name)}/versions", params=params)
        return Page[ModelVersion].model_validate(data)

    def set_version_status(self, name: str, version: int, status: VersionStatus) -> ModelVersion:
        url = f"/models/{_q(name)}/versions/{int(version)}"
        return ModelVersion.model_validate(self._json("PATCH", url, {"status": status.value}))

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        data = self._json("GET", f"/models/{_q(name)}/aliases/{_q(alias)}")
        return ModelVersion.model_validate(data)

    def set_alias(self, name: str, alias: str, version: int, *, actor: str = "") -> ModelVersion:
        body = {"version": version, "actor": actor}
        data = self._json("PUT", f"/models/{_q(name)}/aliases/{_q(alias)}", body)
        return ModelVersion.model_validate(data)

    def delete_alias(self, name: str, alias: str, *, actor: str = "", reason: str = "") -> None:
        url = f"/models/{_q(name)}/aliases/{_q(alias)}"
        params = {"actor": actor, "reason": reason} if reason else {"actor": actor}
        self._json("DELETE", url, params=params)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        params = {"alias": alias} if alias else {}
        data = self._json("GET", f"/models/{_q(name)}/alias-history", params=params)
        return [AliasEvent.model_validate(item) for item in data]

    # --- promotion and approvals -----------------------------------------------------

    def promote(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        reason: str = "",
        override_reason: str | None = None,
    ) -> PromotionResult:
        body = {"alias": alias, "reason": reason, "override_reason": override_reason}
        data = self._json("POST", f"/models/{_q(name)}/versions/{int(version)}/promote", body)
        return PromotionResult.model_validate(data)

    def list_approvals(
        self, *, status: str | None = None, model: str | None = None
    ) -> list[Approval]:
        params = {k: v for k, v in (("status", status), ("model", model)) if v is not None}
        data = self._json("GET", "/approvals", params=params)
        return [Approval.model_validate(item) for item in data]

    def get_approval(self, approval_id: int) -> Approval:
        return Approval.model_validate(self._json("GET", f"/approvals/{int(approval_id)}"))

    def _decide(self, approval_id: int, action: str, comment: str) -> Approval:
        data = self._json("POST", f"/approvals/{int(approval_id)}/{action}", {"comment": comment})
        return Approval.model_validate(data)

    def approve(self, approval_id: int, *, comment: str = "") -> Approval:
        return self._decide(approval_id, "approve", comment)

    def reject(self, approval_id: int, *, comment: str) -> Approval:
        return self._decide(approval_id, "reject", comment)

    def cancel_approval(self, approval_id: int, *, comment: str = "") -> Approval:
        return self._decide(approval_id, "cancel", comment)

    def rollback(self, name: str, alias: str) -> ModelVersion:
        data = self._json("POST", f"/models/{_q(name)}/aliases/{_q(alias)}/rollback")
        return ModelVersion.model_validate(data)

    def model_card(self, name: str, version: int) -> ModelCard:
        url = f"/models/{_q(name)}/versions/{int(version)}/card"
        return ModelCard.model_validate(self._json("GET", url, params={"format": "json"}))

    def model_lineage(self, name: str, version: int) -> Lineage:
        data = self._json("GET", f"/models/{_q(name)}/versions/{int(version)}/lineage")
        return Lineage.model_validate(data)

    def versions_trained_on(self, dataset_version_id: str) -> list[ModelVersion]:
        data = self._json("GET", f"/dataset-versions/{_q(dataset_version_id)}/model-versions")
        return [ModelVersion.model_validate(item) for item in data]

    # --- use cases and gates ----------------------------------------------------------

    def sync_use_case(self, spec: UseCase, *, digest: str | None = None) -> UseCaseSync:
        params = {"digest": digest} if digest else {}
        url = f"/projects/{_q(spec.key)}/use-case"
        data = self._json("PUT", url, spec.model_dump(mode="json"), params=params)
        return UseCaseSync.model_validate(data)

    def get_use_case(self, project: str) -> SyncedUseCase:
        return SyncedUseCase.model_validate(self._json("GET", f"/projects/{_q(project)}/use-case"))

    def record_gate_report(self, name: str, version: int, evaluation: GateEvaluation) -> GateReport:
        check_model_name(name)
        url = f"/models/{_q(name)}/versions/{int(version)}/gate-reports"
        return GateReport.model_validate(
            self._json("POST", url, evaluation.model_dump(mode="json"))
        )

    def list_gate_reports(self, name: str, version: int) -> list[GateReport]:
        url = f"/models/{_q(name)}/versions/{int(version)}/gate-reports"
        return [GateReport.model_validate(item) for item in self._json("GET", url)]
