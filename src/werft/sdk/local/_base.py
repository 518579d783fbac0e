"""What every part of :class:`~werft.sdk.local.LocalBackend` works on: the services."""

from __future__ import annotations

from werft.services import Services


class LocalBase:
    """The in-process services the domain parts of the local backend call."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def close(self) -> None:
        self.services.close()
