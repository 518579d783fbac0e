"""Artifacts and blobs: streamed in and out in chunks, never held in memory."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from werft.governance import access
from werft.governance.roles import Role
from werft.server.deps import ServicesDep, require, require_any
from werft.server.schemas import BlobOut
from werft.store.artifacts import ArtifactStore, BlobInfo, parse_digest
from werft.tracking.entities import ArtifactInfo

router = APIRouter(tags=["artifacts"])


async def _receive(store: ArtifactStore, request: Request) -> BlobInfo:
    writer = store.writer()
    try:
        async for chunk in request.stream():
            if chunk:
                writer.write(chunk)
        return await run_in_threadpool(writer.commit)
    except BaseException:
        writer.abort()
        raise


@router.post("/blobs", status_code=201, dependencies=[require_any(Role.MEMBER)])
async def upload_blob(services: ServicesDep, request: Request) -> BlobOut:
    """Store the request body as a content-addressed blob (for dataset data)."""
    blob = await _receive(services.store, request)
    return BlobOut(digest=blob.digest, size=blob.size)


@router.get(
    "/blobs/{digest}", response_class=StreamingResponse, dependencies=[require_any(Role.VIEWER)]
)
def download_blob(services: ServicesDep, digest: str) -> StreamingResponse:
    """A blob's bytes by content hash (e.g. the files of a registered model package)."""
    parse_digest(digest)
    size = services.store.size(digest)
    return StreamingResponse(
        services.store.iter_chunks(digest),
        media_type="application/octet-stream",
        headers={"x-werft-digest": digest, "content-length": str(size)},
    )


@router.get("/runs/{run_id}/artifacts", dependencies=[require(Role.VIEWER, access.run())])
def list_artifacts(
    services: ServicesDep, run_id: str, prefix: str | None = None
) -> list[ArtifactInfo]:
    """A run's artifacts, optionally below a folder."""
    return services.artifacts.list(run_id, prefix)


@router.put(
    "/runs/{run_id}/artifacts/{path:path}", dependencies=[require(Role.MEMBER, access.run())]
)
async def upload_artifact(
    services: ServicesDep, run_id: str, path: str, request: Request
) -> ArtifactInfo:
    """Store the streamed request body as the run's artifact at ``path``."""
    # Refuse early, before a large body is read, when the run cannot take it.
    await run_in_threadpool(services.runs.get, run_id)
    blob = await _receive(services.store, request)
    return await run_in_threadpool(services.artifacts.record, run_id, path, blob)


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    response_class=StreamingResponse,
    dependencies=[require(Role.VIEWER, access.run())],
)
def download_artifact(services: ServicesDep, run_id: str, path: str) -> StreamingResponse:
    """The artifact's bytes; ``X-Werft-Digest`` carries the hash to check them against."""
    info = services.artifacts.get(run_id, path)
    chunks: Iterator[bytes] = services.store.iter_chunks(info.digest)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "x-werft-digest": info.digest,
            "content-length": str(info.size),
            "content-disposition": f'attachment; filename="{info.path.rsplit("/", 1)[-1]}"',
        },
    )
