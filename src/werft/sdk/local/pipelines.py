"""Training pipelines and their runs in process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werft.pipelines.entities import (
    CodeVersion,
    NewPipelineRun,
    Pipeline,
    PipelineRun,
    PipelineRunUpdate,
)
from werft.sdk.local._base import LocalBase


class LocalPipelines(LocalBase):
    """The pipelines part of :class:`~werft.sdk.local.LocalBackend`."""

    def sync_pipeline(self, project: str, spec: Mapping[str, Any], code: CodeVersion) -> Pipeline:
        return self.services.pipelines.sync(project, dict(spec), code)

    def get_pipeline(self, project: str) -> Pipeline:
        return self.services.pipelines.get(project)

    def create_pipeline_run(self, project: str, new: NewPipelineRun) -> PipelineRun:
        return self.services.pipelines.create_run(project, new)

    def update_pipeline_run(self, run_id: int, change: PipelineRunUpdate) -> PipelineRun:
        return self.services.pipelines.update(run_id, change)

    def get_pipeline_run(self, run_id: int) -> PipelineRun:
        return self.services.pipelines.get_run(run_id)

    def list_pipeline_runs(
        self,
        project: str | None = None,
        *,
        training_run_id: str | None = None,
        limit: int = 50,
    ) -> list[PipelineRun]:
        return self.services.pipelines.list_runs(
            project, training_run_id=training_run_id, limit=limit
        )

    def cancel_pipeline_run(self, run_id: int) -> PipelineRun:
        return self.services.pipelines.request_cancel(run_id)
