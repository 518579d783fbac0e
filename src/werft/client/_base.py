"""The plumbing of :class:`~werft.client.http.WerftClient`: connection, requests, errors.

Problem documents from the server become the same ``WerftError`` kinds the
services raise; downloads stream in chunks and are checked against their hash.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from werft import __version__
from werft.errors import ERROR_KINDS, IntegrityError, UnavailableError, WerftError
from werft.governance.actor import ACTOR_HEADER, current_actor
from werft.store.artifacts import CHUNK_SIZE

API = "/api/v1"


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            yield chunk


def _q(segment: str) -> str:
    return quote(segment, safe="")


class ClientBase:
    """The connection to a werft server that the domain clients send their requests on."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        """Connect to ``url``.

        Args:
            url: Base URL of the server, e.g. ``http://127.0.0.1:8080``.
            token: API token sent as a bearer token.
            timeout: Seconds to wait for each network operation (not the
                whole transfer, so large uploads do not time out).
            transport: An httpx transport, e.g. for tests against an app in process.
            http: A ready httpx client (e.g. Starlette's TestClient); wins over the rest.
        """
        self.url = url.rstrip("/")
        headers = {"user-agent": f"werft/{__version__}"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = http or httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        if http is not None:
            self._http.headers.update(headers)

    def close(self) -> None:
        self._http.close()

    # --- plumbing -------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # Who acts: the server records it when auth is off; with auth on the token decides.
        headers = {ACTOR_HEADER: quote(current_actor(), safe=""), **kwargs.pop("headers", {})}
        try:
            response = self._http.request(method, API + path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise UnavailableError(
                f"werft server at {self.url} is unreachable ({exc.__class__.__name__}: {exc}); "
                "is `werft server` running and WERFT_URL right?"
            ) from exc
        if response.is_error:
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> WerftError:
        try:
            problem = response.json()
            kind = ERROR_KINDS.get(str(problem.get("code")), WerftError)
            return kind(str(problem.get("detail") or problem.get("title")))
        except (ValueError, AttributeError):
            return WerftError(
                f"werft server answered {response.status_code}: {response.text[:200]}"
            )

    def _json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["content"] = orjson.dumps(body)
            kwargs["headers"] = {"content-type": "application/json"}
        response = self._request(method, path, **kwargs)
        return None if response.status_code == 204 else response.json()

    # --- downloads -------------------------------------------------------------------

    def _download(self, path: str, dest: Path, expected: str | None = None) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".werft-download-")
        try:
            with os.fdopen(fd, "wb") as out, self._http.stream("GET", API + path) as response:
                if response.is_error:
                    response.read()
                    raise self._error(response)
                expected = expected or response.headers.get("x-werft-digest", "")
                hasher = hashlib.sha256()
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    hasher.update(chunk)
                    out.write(chunk)
            if expected and expected != f"sha256:{hasher.hexdigest()}":
                raise IntegrityError(f"{path} arrived corrupt: its hash is not {expected}")
            os.replace(tmp_name, dest)
        except httpx.TransportError as exc:
            raise UnavailableError(f"download from {self.url} failed: {exc}") from exc
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        return dest

    # --- server -----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/health")
        return result
