"""Deployments, replicas, segments, feedback and serving statistics in process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from werft.deploy.entities import Deployment, Segment, ServingStats, ServingWindow
from werft.sdk.local._base import LocalBase


class LocalDeployments(LocalBase):
    """The deployments part of :class:`~werft.sdk.local.LocalBackend`."""

    # deployments
    def register_replica(self, deployment: str, **fields: Any) -> Deployment:
        return self.services.deployments.register_replica(deployment, **fields)

    def heartbeat(
        self,
        replica_id: str,
        *,
        status: str,
        serving: Mapping[str, Any],
        stats: ServingStats | None = None,
    ) -> None:
        self.services.deployments.heartbeat(replica_id, status=status, serving=serving, stats=stats)

    def serving_window(self, deployment: str, start_ms: int, end_ms: int) -> ServingWindow:
        return self.services.deployments.serving_window(deployment, start_ms, end_ms)

    def list_deployments(self) -> list[Deployment]:
        return self.services.deployments.list_deployments()

    def get_deployment(self, name: str) -> Deployment:
        return self.services.deployments.get(name)

    def record_segment(self, deployment: str, segment: Mapping[str, Any]) -> None:
        self.services.deployments.record_segment(deployment, segment)

    def list_segments(
        self,
        deployment: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        request_id: str | None = None,
    ) -> list[Segment]:
        return self.services.deployments.segments(
            deployment, start_ms=start_ms, end_ms=end_ms, request_id=request_id
        )

    def store_feedback(self, deployment: str, labels: Sequence[tuple[str, str]]) -> int:
        return self.services.deployments.store_feedback(deployment, labels)

    def get_feedback(self, deployment: str, request_ids: Sequence[str]) -> dict[str, str]:
        return self.services.deployments.feedback(deployment, request_ids)
