"""Training pipelines and their runs over HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werft.client._base import ClientBase, _q
from werft.pipelines.entities import (
    CodeVersion,
    NewPipelineRun,
    Pipeline,
    PipelineRun,
    PipelineRunUpdate,
)


class PipelinesClient(ClientBase):
    """The pipelines part of :class:`~werft.client.http.WerftClient`."""

    def sync_pipeline(self, project: str, spec: Mapping[str, Any], code: CodeVersion) -> Pipeline:
        body = {"spec": dict(spec), "code": code.model_dump(mode="json")}
        return Pipeline.model_validate(self._json("PUT", f"/projects/{_q(project)}/pipeline", body))

    def get_pipeline(self, project: str) -> Pipeline:
        return Pipeline.model_validate(self._json("GET", f"/projects/{_q(project)}/pipeline"))

    def create_pipeline_run(self, project: str, new: NewPipelineRun) -> PipelineRun:
        path = f"/projects/{_q(project)}/pipeline-runs"
        return PipelineRun.model_validate(self._json("POST", path, new.model_dump(mode="json")))

    def update_pipeline_run(self, run_id: int, change: PipelineRunUpdate) -> PipelineRun:
        # Only what is reported: a field left None stays as it is on the server.
        body = change.model_dump(mode="json", exclude_none=True)
        return PipelineRun.model_validate(self._json("PATCH", f"/pipeline-runs/{run_id}", body))

    def get_pipeline_run(self, run_id: int) -> PipelineRun:
        return PipelineRun.model_validate(self._json("GET", f"/pipeline-runs/{run_id}"))

    def list_pipeline_runs(
        self,
        project: str | None = None,
        *,
        training_run_id: str | None = None,
        limit: int = 50,
    ) -> list[PipelineRun]:
        params: dict[str, Any] = {"limit": limit}
        if training_run_id is not None:
            params["training_run_id"] = training_run_id
        path = "/pipeline-runs" if project is None else f"/projects/{_q(project)}/pipeline-runs"
        return [PipelineRun.model_validate(r) for r in self._json("GET", path, params=params)]

    def cancel_pipeline_run(self, run_id: int) -> PipelineRun:
        return PipelineRun.model_validate(self._json("POST", f"/pipeline-runs/{run_id}/cancel"))
