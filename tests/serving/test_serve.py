"""werft serve over real HTTP: predictions, validation, metrics, feedback, hot swap, canary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd
import pytest

import werft
from werft.quickstart import make_customers
from werft.serving.runtime import ServedModel
from werft.serving.server import ServeTarget

Served = Any  # the conftest's Served: url, process, backend, register


def churn_frame(n: int, seed: int) -> pd.DataFrame:
    return make_customers(n, seed).drop(columns="churn")


def _rows(n: int, seed: int = 3) -> list[dict[str, object]]:
    return churn_frame(n, seed).to_dict("records")  # type: ignore[return-value]


def test_predict_records_and_split_match_the_model(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model()
    rows = _rows(50)
    body = client.post(served.url + "/predict", json={"rows": rows}).json()
    assert body["model"] == "churn" and body["version"] == 1 and len(body["predictions"]) == 50
    assert len(body["row_ids"]) == 50 and len(body["probabilities"][0]) == 2
    model = werft.load_model("models:/churn/1")
    expected = model.predict(churn_frame(50, 3)).tolist()
    assert body["predictions"] == expected
    columns = ["tickets", "monthly_fee", "plan", "tenure"]
    split = {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}
    assert client.post(served.url + "/predict", json=split).json()["predictions"] == expected
    single = client.post(served.url + "/models/churn/predict", json={"rows": rows[:1]}).json()
    assert single["predictions"] == expected[:1] and "row_ids" not in single


def test_bad_input_is_422_listing_rows_and_fields(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model()
    good = {"tenure": 5, "plan": "pro", "monthly_fee": 3.0, "tickets": 1}
    bad = [
        {k: v for k, v in good.items() if k != "monthly_fee"},  # missing monthly_fee
        good | {"tenure": "five"},  # wrong type
        good | {"plan": "platinum"},  # unseen category
        good | {"extra": 1},  # unknown column
    ]
    response = client.post(served.url + "/predict", json={"rows": bad})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert {(0, "monthly_fee"), (1, "tenure"), (2, "plan"), (3, "extra")} <= errors
    broken = client.post(
        served.url + "/predict", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_input"
    assert client.post(served.url + "/models/ghost/predict", json={}).status_code == 404
    metrics = client.get(served.url + "/metrics").text
    assert 'werft_validation_failures_total{field="plan",model="churn"}' in metrics


def test_health_readiness_metrics_and_deployment_record(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model()
    assert client.get(served.url + "/healthz").json() == {"status": "ok"}
    ready = client.get(served.url + "/readyz").json()
    assert ready["ready"] is True and ready["models"]["churn"]["versions"] == {"primary": 1}
    client.post(served.url + "/predict", json={"rows": _rows(3)})
    metrics = client.get(served.url + "/metrics").text
    for name in (
        "werft_requests_total",
        "werft_request_latency_seconds_bucket",
        "werft_batch_rows_bucket",
        "werft_model_info",
        "werft_predictions_total",
        "werft_prediction_score_bucket",
    ):
        assert name in metrics
    deployment = served.backend.get_deployment("churn")
    assert deployment.models["churn"]["alias"] == "production"
    assert [r.alive for r in deployment.replicas] == [True]


def test_request_counts_reach_the_store_with_the_heartbeat(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model()
    good = {"tenure": 5, "plan": "pro", "monthly_fee": 3.0, "tickets": 1}
    for seed in range(6):
        ok = client.post(served.url + "/predict", json={"rows": _rows(2, seed=seed)})
        assert ok.status_code == 200
    invalid = [
        [good | {"plan": "platinum"}],
        [{k: v for k, v in good.items() if k != "tenure"}, good | {"plan": "platinum"}],
        [good | {"tenure": "five"}, good | {"tenure": "six"}],  # one field, counted once
    ]
    for rows in invalid:
        assert client.post(served.url + "/predict", json={"rows": rows}).status_code == 422
    broken = client.post(
        served.url + "/predict", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400  # rejected, but names no field

    served.stop()  # the last heartbeat sends whatever the periodic ones have not

    window = served.backend.serving_window("churn", 0, time.time_ns() // 1_000_000 + 1)
    assert (window.requests, window.errors, window.rejected) == (10, 0, 4)
    assert window.rejected_fields == {"plan": 2, "tenure": 2}
    assert window.replicas == 1 and window.error_rate == 0.0
    assert window.latency_p50 is not None and window.latency_p99 is not None
    assert 0 < window.latency_p50 <= window.latency_p99 <= 5.0


def test_feedback_stores_known_ids_and_reports_unknown(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model()
    one = client.post(served.url + "/predict", json={"rows": _rows(1)}).json()
    many = client.post(served.url + "/predict", json={"rows": _rows(2)}).json()
    items = [
        {"request_id": one["request_id"], "label": "True"},
        {"request_id": many["row_ids"][1], "label": "False"},
        {"request_id": "0000deadbeef", "label": "True"},
    ]
    result = client.post(served.url + "/feedback", json=items).json()
    assert result == {"stored": 2, "unknown": ["0000deadbeef"]}
    stored = served.backend.get_feedback("churn", [one["request_id"], many["row_ids"][1]])
    assert stored == {one["request_id"]: "True", many["row_ids"][1]: "False"}


def test_prediction_log_ships_segments_with_histograms(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model()
    ids = [
        client.post(served.url + "/predict", json={"rows": _rows(1, seed=s)}).json()["request_id"]
        for s in range(20)
    ]
    deadline = time.monotonic() + 20
    while True:
        segments = served.backend.list_segments("churn")
        if sum(s.rows for s in segments) >= 20 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sum(s.rows for s in segments) == 20
    assert segments[0].request_id_min <= min(ids)
    tenure = segments[0].histograms["in:tenure"]
    assert sum(tenure["counts"]) + tenure["nulls"] == tenure["total"]


def test_hot_swap_under_load_fails_no_request(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model()
    versions = [1] + [served.register(c) for c in (0.5, 0.2, 0.1, 0.05)]
    live: list[tuple[float, int]] = [(time.monotonic(), 1)]
    results: list[tuple[float, float, int]] = []
    failures: list[str] = []
    stop = False

    async def load() -> None:
        async with httpx.AsyncClient(timeout=30) as http:

            async def worker() -> None:
                while not stop:
                    started = time.monotonic()
                    response = await http.post(served.url + "/predict", json={"rows": _rows(1)})
                    if response.status_code != 200:
                        failures.append(response.text)
                    else:
                        results.append((started, time.monotonic(), response.json()["version"]))

            await asyncio.gather(*(worker() for _ in range(8)))

    async def move() -> None:
        nonlocal stop
        for i in range(10):
            version = versions[(i + 1) % len(versions)]
            await asyncio.to_thread(werft.set_alias, "churn", "production", version)
            live.append((time.monotonic(), version))
            await asyncio.sleep(0.5)
        stop = True

    async def main() -> None:
        await asyncio.gather(load(), move())

    asyncio.run(main())
    assert failures == [] and len(results) > 100
    seen = {version for _, _, version in results}
    assert len(seen) >= 3  # the server really followed the alias
    for started, ended, version in results:
        # The answering version was the alias target during the request, or the one just
        # before it (the server follows the alias within one poll interval).
        current = max(i for i, (t, _) in enumerate(live) if t <= started)
        allowed = {v for i, (t, v) in enumerate(live) if i >= current - 1 and t <= ended}
        assert version in allowed
    swaps = client.get(served.url + "/metrics").text
    assert "werft_model_swaps_total" in swaps


def test_canary_share_within_tolerance(serve_model: Callable[..., Served]) -> None:
    served = serve_model(canary=0.2)
    counts = {1: 0, 2: 0}

    async def send(http: httpx.AsyncClient, requests: int) -> None:
        for _ in range(requests):
            response = await http.post(served.url + "/predict", json={"rows": _rows(1)})
            counts[response.json()["version"]] += 1

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            await asyncio.gather(*(send(http, 125) for _ in range(16)))

    asyncio.run(main())
    assert sum(counts.values()) == 2000
    share = counts[2] / 2000
    assert 0.16 < share < 0.24  # 20 % +- 4 points (about 4.5 standard deviations)


def test_shadow_answers_are_logged_not_returned(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model(shadow=True)
    for seed in range(5):
        body = client.post(served.url + "/predict", json={"rows": _rows(1, seed)}).json()
        assert body["version"] == 1
    route = served.process.routes["churn"]
    shadow: ServedModel = route.served["shadow"]
    assert shadow.version == 2
    deadline = time.monotonic() + 20
    while sum(s.rows for s in served.backend.list_segments("churn")) < 10:
        assert time.monotonic() < deadline, "shadow rows never reached the log"
        time.sleep(0.1)
    segments = served.backend.list_segments("churn")
    assert {m: sorted(v) for s in segments for m, v in s.models.items()} == {"churn": [1, 2]}


@pytest.mark.parametrize("policy", ["pass"])
def test_unseen_categories_can_pass_and_be_counted(
    serve_model: Callable[..., Served], client: httpx.Client, policy: str
) -> None:
    served = serve_model(unseen_categories=policy)
    row = {"tenure": 5, "plan": "platinum", "monthly_fee": 30.0, "tickets": 0}
    assert client.post(served.url + "/predict", json={"rows": [row]}).status_code == 200
    metrics = client.get(served.url + "/metrics").text
    assert 'werft_unseen_categories_total{field="plan",model="churn"} 1.0' in metrics


def test_several_models_in_one_server_fail_independently(
    serve_model: Callable[..., Served], client: httpx.Client
) -> None:
    served = serve_model(also=(ServeTarget("ghost", "production"),))
    ready = client.get(served.url + "/readyz")
    assert ready.status_code == 503
    models = ready.json()["models"]
    assert models["churn"]["ready"] is True and models["ghost"]["ready"] is False
    assert "ghost" in models["ghost"]["error"]
    down = client.post(served.url + "/models/ghost/predict", json={"rows": _rows(1)})
    assert down.status_code == 503 and "not loaded" in down.json()["detail"]
    up = client.post(served.url + "/models/churn/predict", json={"rows": _rows(1)})
    assert up.status_code == 200 and up.json()["model"] == "churn"
