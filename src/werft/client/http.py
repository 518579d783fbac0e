"""HTTP client for a werft server: the SDK's and CLI's remote backend.

Problem documents from the server become the same ``WerftError`` kinds the
services raise, so callers handle errors identically in local and remote
mode.  Uploads and downloads stream in chunks and never hold a file in memory.
"""

from __future__ import annotations

from werft.client.deployments import DeploymentsClient
from werft.client.governance import GovernanceClient
from werft.client.monitoring import MonitoringClient
from werft.client.pipelines import PipelinesClient
from werft.client.registry import RegistryClient
from werft.client.tracking import TrackingClient


class WerftClient(
    TrackingClient,
    RegistryClient,
    DeploymentsClient,
    MonitoringClient,
    GovernanceClient,
    PipelinesClient,
):
    """Typed access to ``/api/v1`` of a werft server."""
