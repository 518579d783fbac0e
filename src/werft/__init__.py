"""werft: the on-premise MLOps platform in one package.

The tracking API works with no server (local mode, straight into
``~/.werft``) and against one (``WERFT_URL``), with the same calls::

    import werft

    with werft.start_run(project="churn", name="gbm-depth3") as run:
        werft.log_params({"depth": 3, "lr": 0.1})
        werft.log_metric("auc", 0.91)

Releasing follows the use case's policy and the four-eyes rule::

    result = werft.promote("churn-classifier", 8, to="production", reason="AUC +2pt")
    werft.approve(result.approval.id, comment="checked the slices")  # by someone else
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werft.sdk.fluent import (
    ActiveRun,
    active_run,
    configure,
    delete_alias,
    download_artifact,
    end_run,
    get_dataset_version,
    get_metric_history,
    get_model_version,
    get_run,
    list_artifacts,
    load_dataset,
    log_artifact,
    log_artifacts,
    log_dataset,
    log_kpi,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    maturity,
    search_runs,
    set_alias,
    set_tag,
    set_tags,
    start_run,
)
from werft.sdk.models import ModelInfo, load_model, log_model
from werft.sdk.promotion import (
    approve,
    cancel_approval,
    get_approval,
    list_approvals,
    promote,
    reject,
    rollback,
)

if TYPE_CHECKING:
    from werft.monitoring.drift import drift

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "ModelInfo",
    "__version__",
    "active_run",
    "approve",
    "cancel_approval",
    "configure",
    "delete_alias",
    "download_artifact",
    "drift",
    "end_run",
    "get_approval",
    "get_dataset_version",
    "get_metric_history",
    "get_model_version",
    "get_run",
    "list_approvals",
    "list_artifacts",
    "load_dataset",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dataset",
    "log_kpi",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "maturity",
    "promote",
    "reject",
    "rollback",
    "search_runs",
    "set_alias",
    "set_tag",
    "set_tags",
    "start_run",
]


def __getattr__(name: str) -> Any:
    # werft.drift needs pandas and pyarrow (~0.3 s): imported on first use, so that
    # `import werft` stays light (docs/decisions/0001).
    if name == "drift":
        from werft.monitoring.drift import drift

        globals()["drift"] = drift
        return drift
    raise AttributeError(f"module 'werft' has no attribute {name!r}")
