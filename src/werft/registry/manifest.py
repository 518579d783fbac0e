"""The package manifest, ``werft-model.yaml``: what a package holds and how to check it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from werft.errors import InvalidInputError, NotFoundError
from werft.registry.onnx_form import OnnxInfo
from werft.registry.signature import Signature

FORMAT_VERSION = 1
"""The package layout this werft writes and the newest it reads."""
MANIFEST_NAME = "werft-model.yaml"
_CHUNK = 1 << 20


class PackageManifest(BaseModel):
    """What a package holds and how to check it.

    Attributes:
        format_version: The package layout version.
        flavor: The flavor that saved the model, e.g. ``"sklearn"``.
        model_class: The model's class, e.g. ``"sklearn.pipeline.Pipeline"``.
        signature: The model's inputs and output.
        requirements: Distribution -> version installed when the package was built.
        python_version: The Python version the package was built with.
        source_run: The run that produced the model, when known.
        created_at: When the package was built (UTC).
        werft_version: The werft version that built it.
        files: Relative path -> ``"sha256:<hex>"`` for every file except the manifest.
        content_hash: ``"sha256:<hex>"`` over the sorted ``"path\\tdigest\\n"`` lines of files.
        input_example: The input example's path in the package.
        onnx: The ONNX conversion's outcome, when one was asked for.
    """

    model_config = ConfigDict(frozen=True)

    format_version: int
    flavor: str
    model_class: str
    signature: Signature
    requirements: dict[str, str]
    python_version: str
    source_run: str | None
    created_at: datetime
    werft_version: str
    files: dict[str, str]
    content_hash: str
    input_example: str
    onnx: OnnxInfo | None = None


def file_digest(path: Path) -> str:
    """The ``sha256:<hex>`` digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def content_hash(files: Mapping[str, str]) -> str:
    """The ``sha256:<hex>`` over the sorted ``"path\\tdigest\\n"`` lines of a file listing."""
    lines = "".join(f"{path}\t{files[path]}\n" for path in sorted(files))
    return f"sha256:{hashlib.sha256(lines.encode()).hexdigest()}"


def write_manifest(folder: Path, manifest: PackageManifest) -> None:
    """Write the manifest as YAML into the package folder."""
    text = yaml.safe_dump(manifest.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    (folder / MANIFEST_NAME).write_text(text, encoding="utf-8")


def read_manifest(folder: Path) -> PackageManifest:
    """Read and validate a package's manifest (no file is checked or loaded).

    Raises:
        NotFoundError: The folder has no manifest.
        InvalidInputError: The manifest is malformed or from a newer package format.
    """
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise NotFoundError(f"{folder} has no {MANIFEST_NAME}; it is not a werft model package")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid YAML: {exc}") from exc
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInputError(f"{path} has no valid format_version; it is not a werft manifest")
    if version > FORMAT_VERSION:
        raise InvalidInputError(
            f"the model package was saved by a newer werft (format {version}); this werft "
            f"reads format {FORMAT_VERSION} — upgrade werft"
        )
    try:
        return PackageManifest.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInputError(f"{path} is not a valid werft model manifest: {exc}") from exc
