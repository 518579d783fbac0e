"""The page groups of the UI, one module each, in the order of the navigation.

A page group module has a ``router`` (an ``APIRouter`` whose routes each
declare a permission, as API routes do) and may have ``NAV``, the
navigation entries it adds.
"""

from __future__ import annotations

from types import ModuleType

from werft.ui.pages import (
    approvals,
    audit,
    deployments,
    models,
    overview,
    pipelines,
    runs,
    signin,
)

PAGE_GROUPS: tuple[ModuleType, ...] = (
    overview,
    runs,
    models,
    approvals,
    deployments,
    pipelines,
    audit,
    signin,
)
