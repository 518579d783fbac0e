"""The REST API over real HTTP: status codes, problem documents, streaming."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert set(body) >= {"type", "title", "status", "detail", "code"}
    return body  # type: ignore[no-any-return]


def _run(api: httpx.Client, project: str = "churn") -> str:
    api.put(f"/projects/{project}").raise_for_status()
    response = api.post(f"/projects/{project}/runs", json={"name": "r"})
    assert response.status_code == 201
    return str(response.json()["id"])


def test_openapi_and_docs_are_served(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    assert "/api/v1/projects/{key}/runs/search" in schema["paths"]
    assert api.get("/docs").status_code == 200
    assert api.get("/health").json()["status"] == "ok"


def test_unknown_objects_are_404_naming_them(api: httpx.Client) -> None:
    assert "'ghost'" in str(_problem(api.get("/projects/ghost"), 404, "not_found")["detail"])
    assert "'abc'" in str(_problem(api.get("/runs/abc"), 404, "not_found")["detail"])
    _problem(api.get("/no/such/route"), 404, "not_found")


def test_conflicting_param_is_409_with_both_values(api: httpx.Client) -> None:
    run_id = _run(api)
    assert api.post(f"/runs/{run_id}/params", json={"params": {"depth": "3"}}).status_code == 204
    body = _problem(
        api.post(f"/runs/{run_id}/params", json={"params": {"depth": "4"}}), 409, "conflict"
    )
    assert "'3'" in str(body["detail"]) and "'4'" in str(body["detail"])


def test_logging_to_finished_run_is_409(api: httpx.Client) -> None:
    run_id = _run(api)
    assert api.patch(f"/runs/{run_id}", json={"status": "finished"}).status_code == 200
    metric = {"metrics": [{"key": "loss", "value": 1.0, "step": 0, "timestamp": 1}]}
    _problem(api.post(f"/runs/{run_id}/metrics", json=metric), 409, "conflict")


def test_invalid_filter_is_400_with_position(api: httpx.Client) -> None:
    _run(api)
    body = _problem(
        api.post("/projects/churn/runs/search", json={"filter": "metrics.auc >> 1"}),
        400,
        "invalid_input",
    )
    assert "character" in str(body["detail"])


def test_malformed_bodies_are_422_problems_not_500(api: httpx.Client) -> None:
    run_id = _run(api)
    body = _problem(
        api.post(f"/runs/{run_id}/metrics", json={"metrics": [{"key": "x", "value": "high"}]}),
        422,
        "invalid_input",
    )
    assert "metrics.0.value" in str(body["detail"])
    _problem(
        api.post(
            f"/runs/{run_id}/params",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ),
        422,
        "invalid_input",
    )
    _problem(api.patch(f"/runs/{run_id}", json={"status": "running"}), 400, "invalid_input")
    _problem(api.get("/projects", params={"limit": 0}), 422, "invalid_input")


def test_nan_and_infinity_round_trip_as_strings(api: httpx.Client) -> None:
    run_id = _run(api)
    points = [
        {"key": "m", "value": "NaN", "step": 0, "timestamp": 1},
        {"key": "m", "value": "Infinity", "step": 1, "timestamp": 2},
        {"key": "m", "value": "-Infinity", "step": 2, "timestamp": 3},
    ]
    assert api.post(f"/runs/{run_id}/metrics", json={"metrics": points}).json() == {"logged": 3}
    history = api.get(f"/runs/{run_id}/metrics/m/history").json()["items"]
    assert [p["value"] for p in history] == ["NaN", "Infinity", "-Infinity"]


def test_large_upload_streams_in_chunks(api: httpx.Client) -> None:
    run_id = _run(api)
    chunk = bytes(range(256)) * 4096  # 1 MiB
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for _ in range(64):
            digest.update(chunk)
            yield chunk

    response = api.put(f"/runs/{run_id}/artifacts/big/model.bin", content=body())
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["size"] == 64 * 2**20 and info["digest"] == f"sha256:{digest.hexdigest()}"
    with api.stream("GET", f"/runs/{run_id}/artifacts/big/model.bin") as download:
        assert download.headers["x-werft-digest"] == info["digest"]
        received = hashlib.sha256()
        for part in download.iter_bytes():
            received.update(part)
    assert received.hexdigest() == digest.hexdigest()


def test_escaping_artifact_path_is_400(api: httpx.Client) -> None:
    run_id = _run(api)
    response = api.put(f"/runs/{run_id}/artifacts/a/%2E%2E/%2E%2E/etc/passwd", content=b"x")
    _problem(response, 400, "invalid_input")


@pytest.mark.parametrize("limit", [1, 2])
def test_project_listing_uses_cursors(api: httpx.Client, limit: int) -> None:
    for key in ("a", "b", "c"):
        api.post("/projects", json={"key": key}).raise_for_status()
    keys, cursor = [], None
    while True:
        params: dict[str, object] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/projects", params=params).json()
        keys += [p["key"] for p in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert keys == ["a", "b", "c"]
