"""The local backend: the domain services in this process, no server."""

from __future__ import annotations

from werft.config import Settings
from werft.sdk.local.deployments import LocalDeployments
from werft.sdk.local.governance import LocalGovernance
from werft.sdk.local.monitoring import LocalMonitoring
from werft.sdk.local.pipelines import LocalPipelines
from werft.sdk.local.registry import LocalRegistry
from werft.sdk.local.tracking import LocalTracking
from werft.services import build_services


class LocalBackend(
    LocalTracking,
    LocalRegistry,
    LocalDeployments,
    LocalMonitoring,
    LocalGovernance,
    LocalPipelines,
):
    """Implements :class:`werft.sdk.backend.Backend` on in-process services."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBackend:
        return cls(build_services(settings))
