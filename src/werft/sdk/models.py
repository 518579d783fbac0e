"""``werft.log_model`` and ``werft.load_model``: packages in, packages out.

A package is built locally (the model's files, its input example, a manifest
with per-file hashes), stored as the run's artifacts, and optionally registered
as the next version of a named model.  Loading downloads the package's blobs
(each verified against its hash), checks the manifest's content hash against
the registry's record and only then deserialises.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werft.errors import InvalidInputError, NotFoundError
from werft.registry.uris import parse_model_uri
from werft.sdk import fluent
from werft.sdk.environment import current_user

if TYPE_CHECKING:
    import pandas as pd

    from werft.registry.entities import ModelVersion
    from werft.registry.package import PackagedModel, PackageManifest
    from werft.sdk.backend import Backend


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` stored: where, which package, and the version if registered."""

    run_id: str
    artifact_path: str
    manifest: PackageManifest
    files: dict[str, str]
    version: ModelVersion | None

    @property
    def uri(self) -> str:
        """``runs:/<run id>/<path>``, or ``models:/name/N`` when registered."""
        if self.version is not None:
            return self.version.uri
        return f"runs:/{self.run_id}/{self.artifact_path}"


def _category_levels(backend: Backend, run_id: str) -> dict[str, list[str]]:
    """Complete category lists from the run's training dataset profile, when known."""
    run = backend.get_run(run_id)
    levels: dict[str, list[str]] = {}
    for item in run.inputs:
        if item.context != "training":
            continue
        version = backend.get_dataset_version(run.project, item.name, item.version)
        for column in version.profile.get("columns", []):
            stats = column.get("categorical")
            if stats and stats.get("other_count", 1) == 0:
                levels[column["name"]] = [value for value, _ in stats["top"]]
    return levels


def log_model(
    model: Any,
    name: str = "model",
    *,
    input_example: pd.DataFrame,
    register: str | None = None,
    onnx: bool = False,
    description: str = "",
) -> ModelInfo:
    """Package a fitted model into the active run, optionally registering a version.

    Args:
        model: A scikit-learn estimator or pipeline, an XGBoost or LightGBM
            model (scikit-learn API), or any object with ``predict(DataFrame)``.
        name: Artifact folder of the package in the run.
        input_example: A few rows of model input (a DataFrame with named
            columns): stored in the package and used to infer the signature.
        register: Register the package as the next version of this model name.
        onnx: Also convert to ONNX (``werft[onnx]``) and record whether the
            ONNX predictions agree with the native ones.
        description: Description of the registered version.

    Raises:
        TypeError: The model is of a kind werft cannot package.
    """
    from werft.registry.package import build_package

    run, backend = fluent._require_run(), fluent._backend()
    with tempfile.TemporaryDirectory(prefix="werft-model-") as tmp:
        folder = Path(tmp) / "package"
        manifest = build_package(
            model,
            folder,
            input_example=input_example,
            source_run=run.id,
            onnx=onnx,
            category_levels=_category_levels(backend, run.id),
        )
        files = {
            file.relative_to(folder).as_posix(): backend.log_artifact(
                run.id, file, f"{name}/{file.relative_to(folder).as_posix()}"
            ).digest
            for file in sorted(p for p in folder.rglob("*") if p.is_file())
        }
    version = None
    if register is not None:
        # The version snapshots the run's metrics: send the buffered ones first,
        # or a metric logged just before log_model would be missing from it.
        run.flush()
        version = backend.create_model_version(
            register,
            project=run.project,
            run_id=run.id,
            artifact_path=name,
            content_hash=manifest.content_hash,
            files=files,
            flavor=manifest.flavor,
            model_class=manifest.model_class,
            signature=manifest.signature.model_dump(mode="json"),
            onnx=manifest.onnx.model_dump(mode="json") if manifest.onnx else None,
            created_by=current_user(),
            description=description,
        )
    return ModelInfo(
        run_id=run.id, artifact_path=name, manifest=manifest, files=files, version=version
    )


def _run_package_files(backend: Backend, run_id: str, path: str) -> dict[str, str]:
    prefix = path.strip("/") + "/"
    files = {
        a.path.removeprefix(prefix): a.digest
        for a in backend.list_artifacts(run_id, path)
        if a.path.startswith(prefix)
    }
    if not files:
        raise NotFoundError(f"run {run_id} has no model package at {path!r}")
    return files


def _fetch(backend: Backend, files: Mapping[str, str], cache: Path, key: str) -> Path:
    """The package folder in the local cache, downloaded (and verified) once per content."""
    folder = cache / key.replace(":", "-")
    if folder.is_dir():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
    try:
        for relative, digest in files.items():
            backend.download_blob(digest, staging / relative)
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # another process won the race: use its copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def resolve_package(
    backend: Backend, uri: str
) -> tuple[dict[str, str], str | None, ModelVersion | None]:
    """The package files a URI names, the content hash to expect, and the version if registered."""
    ref = parse_model_uri(uri)
    if ref.run_id is not None:
        assert ref.path is not None
        return _run_package_files(backend, ref.run_id, ref.path), None, None
    assert ref.name is not None
    version = (
        backend.get_model_version(ref.name, ref.version)
        if ref.version is not None
        else backend.get_alias(ref.name, ref.alias or "")
    )
    return dict(version.files), version.content_hash, version


def load_from(
    backend: Backend,
    uri: str,
    cache: Path,
    *,
    trust: bool = False,
    trusted_types: Sequence[str] = (),
    prefer_onnx: bool = False,
) -> tuple[PackagedModel, ModelVersion | None]:
    """Load a package through ``backend`` (used by ``load_model`` and by ``werft serve``)."""
    from werft.registry.package import load_package  # deferred: pandas, skops: heavy

    files, expected, version = resolve_package(backend, uri)
    if "werft-model.yaml" not in files:
        raise InvalidInputError(f"{uri} is not a werft model package (no werft-model.yaml)")
    # The manifest lists every file's hash, so its own hash names the package.
    folder = _fetch(backend, files, cache, files["werft-model.yaml"])
    model = load_package(
        folder,
        trust=trust,
        trusted_types=trusted_types,
        expected_content_hash=expected,
        prefer_onnx=prefer_onnx,
    )
    return model, version


def load_model(
    uri: str,
    *,
    trust: bool = False,
    trusted_types: Sequence[str] = (),
    prefer_onnx: bool = False,
) -> PackagedModel:
    """Load a model package by URI, verified before anything is deserialised.

    Args:
        uri: ``models:/name/3``, ``models:/name@alias`` or ``runs:/<run id>/<path>``.
        trust: Allow a generic Python model (pickled code) to load.
        trusted_types: Extra types to allow in a scikit-learn-family package.
        prefer_onnx: Predict with the package's ONNX form when it has a verified one.

    Raises:
        IntegrityError: A file does not match its hash, or the package does
            not match the registered version.
    """
    cache = fluent._settings().home / "cache" / "models"
    model, _ = load_from(
        fluent._backend(),
        uri,
        cache,
        trust=trust,
        trusted_types=trusted_types,
        prefer_onnx=prefer_onnx,
    )
    return model
