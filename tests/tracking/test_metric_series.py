"""A metric's history as two plain lists, for charts."""

from __future__ import annotations

import math

import pytest

from werft.errors import NotFoundError
from werft.services import Services
from werft.tracking.entities import Metric


def test_series_is_the_history_in_order_with_nan_kept(services: Services) -> None:
    services.projects.get_or_create("p")
    run = services.runs.create("p", name="r")
    services.runs.log_metrics(
        run.id,
        [
            Metric(key="loss", value=0.5, step=2, timestamp=3),
            Metric(key="loss", value=math.nan, step=1, timestamp=2),
            Metric(key="loss", value=0.9, step=0, timestamp=1),
            Metric(key="auc", value=0.7, step=0, timestamp=1),
        ],
    )
    steps, values = services.runs.get_metric_series(run.id, "loss")
    assert steps == [0, 1, 2]
    assert values[0] == 0.9 and math.isnan(values[1]) and values[2] == 0.5
    assert services.runs.get_metric_series(run.id, "nothing") == ([], [])
    with pytest.raises(NotFoundError):
        services.runs.get_metric_series("no-such-run", "loss")
