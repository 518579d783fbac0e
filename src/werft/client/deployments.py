"""Deployments, replicas, segments, feedback and serving statistics over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from werft.client._base import ClientBase, _q
from werft.deploy.entities import Deployment, Segment, ServingStats, ServingWindow


class DeploymentsClient(ClientBase):
    """The deployment part of :class:`~werft.client.http.WerftClient`."""

    # --- deployments ------------------------------------------------------------------

    def register_replica(self, deployment: str, **fields: Any) -> Deployment:
        data = self._json("POST", f"/deployments/{_q(deployment)}/replicas", fields)
        return Deployment.model_validate(data)

    def heartbeat(
        self,
        replica_id: str,
        *,
        status: str,
        serving: Mapping[str, Any],
        stats: ServingStats | None = None,
    ) -> None:
        body: dict[str, Any] = {"status": status, "serving": dict(serving)}
        if stats is not None:
            body["stats"] = stats.model_dump(mode="json")
        self._json("PUT", f"/replicas/{_q(replica_id)}/heartbeat", body)

    def serving_window(self, deployment: str, start_ms: int, end_ms: int) -> ServingWindow:
        params = {"start_ms": start_ms, "end_ms": end_ms}
        data = self._json("GET", f"/deployments/{_q(deployment)}/stats", params=params)
        return ServingWindow.model_validate(data)

    def list_deployments(self) -> list[Deployment]:
        return [Deployment.model_validate(d) for d in self._json("GET", "/deployments")]

    def get_deployment(self, name: str) -> Deployment:
        return Deployment.model_validate(self._json("GET", f"/deployments/{_q(name)}"))

    def record_segment(self, deployment: str, segment: Mapping[str, Any]) -> None:
        body = {"segment": dict(segment)}
        self._json("POST", f"/deployments/{_q(deployment)}/segments", body)

    def list_segments(
        self,
        deployment: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        request_id: str | None = None,
    ) -> list[Segment]:
        params = {
            k: v
            for k, v in {"start_ms": start_ms, "end_ms": end_ms, "request_id": request_id}.items()
            if v is not None
        }
        data = self._json("GET", f"/deployments/{_q(deployment)}/segments", params=params)
        return [Segment.model_validate(item) for item in data]

    def store_feedback(self, deployment: str, labels: Sequence[tuple[str, str]]) -> int:
        body = {"labels": [list(pair) for pair in labels]}
        return int(self._json("POST", f"/deployments/{_q(deployment)}/feedback", body)["stored"])

    def get_feedback(self, deployment: str, request_ids: Sequence[str]) -> dict[str, str]:
        body = {"request_ids": list(request_ids)}
        url = f"/deployments/{_q(deployment)}/feedback/lookup"
        result: dict[str, str] = self._json("POST", url, body)
        return result
