"""Model packages: a self-contained, verifiable folder per trained model.

Layout::

    werft-model.yaml         the manifest (PackageManifest), not hashed itself
    model/...                the model, written by its flavor (skops or cloudpickle)
    input_example.parquet    a few input rows, the signature's source
    model.onnx               optional, when an ONNX form agreed with the native model

The manifest records every other file's sha256 and one ``content_hash`` over them, which the
registry stores.  Loading verifies every hash before a single byte is deserialised.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from werft.errors import IntegrityError, InvalidInputError, NotFoundError
from werft.registry.environment import (
    ModelEnvironmentWarning,
    installed_version,
    python_version,
    warn_on_mismatch,
)
from werft.registry.flavors import Flavor, flavor_for, get_flavor
from werft.registry.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    PackageManifest,
    content_hash,
    file_digest,
    read_manifest,
    write_manifest,
)
from werft.registry.onnx_form import OnnxInfo, OnnxModel, convert_to_onnx
from werft.registry.signature import Signature, infer_signature

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "ModelEnvironmentWarning",
    "OnnxInfo",
    "PackageManifest",
    "PackagedModel",
    "build_package",
    "load_package",
    "read_manifest",
    "verify_package",
]

MODEL_DIR = "model"
INPUT_EXAMPLE_NAME = "input_example.parquet"


def _hash_folder(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): file_digest(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != MANIFEST_NAME
    }


def _prepare_folder(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInputError(
            f"package folder {folder} exists and is not an empty folder; "
            "build a package into a new or empty folder"
        )
    folder.mkdir(parents=True, exist_ok=True)


def _write_contents(
    flavor: Flavor,
    model: Any,
    folder: Path,
    signature: Signature,
    example: pd.DataFrame,
    *,
    onnx: bool,
) -> OnnxInfo | None:
    flavor.save(model, folder / MODEL_DIR)
    example.to_parquet(folder / INPUT_EXAMPLE_NAME, index=False)
    return convert_to_onnx(model, signature, example, folder) if onnx else None


def build_package(
    model: Any,
    folder: Path,
    *,
    input_example: pd.DataFrame,
    source_run: str | None = None,
    onnx: bool = False,
    category_levels: Mapping[str, Sequence[str]] | None = None,
) -> PackageManifest:
    """Package a fitted model into a new or empty folder.

    Args:
        model: The fitted model (any flavor's kind).
        folder: Where to write the package; must not exist or be empty.
        input_example: A few rows of model input with named columns.
        source_run: The run that produced the model.
        onnx: Also convert to ONNX; a model that cannot be converted is still packaged and
            the reason is recorded in ``manifest.onnx``.
        category_levels: Complete category levels per column (e.g. from the training dataset's
            profile), added to the levels seen in the example.

    Returns:
        The manifest written to ``folder/werft-model.yaml``.

    Raises:
        TypeError: No flavor can package this kind of model.
        InvalidInputError: The folder is not empty, or the example is not a DataFrame.
    """
    flavor = flavor_for(model)
    signature = infer_signature(input_example, model, category_levels=category_levels)
    _prepare_folder(folder)
    written = False
    try:
        example = input_example[signature.column_names]
        onnx_info = _write_contents(flavor, model, folder, signature, example, onnx=onnx)
        files = _hash_folder(folder)
        manifest = PackageManifest(
            format_version=FORMAT_VERSION,
            flavor=flavor.name,
            model_class=f"{type(model).__module__}.{type(model).__qualname__}",
            signature=signature,
            requirements=flavor.requirements(model),
            python_version=python_version(),
            source_run=source_run,
            created_at=datetime.now(UTC),
            werft_version=installed_version("werft") or "unknown",
            files=files,
            content_hash=content_hash(files),
            input_example=INPUT_EXAMPLE_NAME,
            onnx=onnx_info,
        )
        write_manifest(folder, manifest)
        written = True
    finally:
        if not written:  # the folder was empty: leave it so, not half-written
            for child in folder.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    return manifest


def _listed_file(folder: Path, relative: str) -> Path:
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or ".." in parts or "\\" in relative:
        raise IntegrityError(f"the manifest lists an unsafe path {relative!r}")
    return folder.joinpath(*parts)


def _check_hashes(folder: Path, manifest: PackageManifest, expected: str | None) -> None:
    if content_hash(manifest.files) != manifest.content_hash:
        raise IntegrityError(
            f"the file list in {folder / MANIFEST_NAME} does not match its content_hash; "
            "the manifest was modified"
        )
    if expected is not None and manifest.content_hash != expected:
        raise IntegrityError(
            f"package content hash is {manifest.content_hash}, expected {expected}; "
            "this is not the package that was registered"
        )
    required = [manifest.input_example]
    if manifest.onnx is not None and manifest.onnx.file is not None:
        required.append(manifest.onnx.file)
    for relative in required:
        if relative not in manifest.files:
            raise IntegrityError(f"the manifest names {relative} but does not list its hash")


def verify_package(folder: Path, expected_content_hash: str | None = None) -> PackageManifest:
    """Check every file of a package against its manifest, without deserialising anything.

    Args:
        folder: The package folder.
        expected_content_hash: The content hash the registry recorded, when known.

    Returns:
        The verified manifest.

    Raises:
        IntegrityError: A file is missing, changed or unlisted (in ``model/``), or the content
            hash differs from the manifest's or the expected one.
        NotFoundError: The folder has no manifest.
        InvalidInputError: The manifest is malformed or from a newer package format.
    """
    manifest = read_manifest(folder)
    _check_hashes(folder, manifest, expected_content_hash)
    for relative, recorded in sorted(manifest.files.items()):
        path = _listed_file(folder, relative)
        if not path.is_file():
            raise IntegrityError(f"package file {relative} is missing")
        actual = file_digest(path)
        if actual != recorded:
            raise IntegrityError(
                f"package file {relative} has digest {actual} but the manifest records "
                f"{recorded}; the package was modified or corrupted"
            )
    model_dir = folder / MODEL_DIR
    for path in sorted(model_dir.rglob("*")) if model_dir.is_dir() else []:
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and relative not in manifest.files:
            raise IntegrityError(f"package file {relative} is not listed in the manifest")
    return manifest


class PackagedModel:
    """A loaded package: the native model, its manifest, and predictions checked against both.

    Attributes:
        manifest: The verified manifest.
        model: The native model object (a scikit-learn Pipeline, an XGBClassifier...).
        uses_onnx: True when predictions come from the package's ONNX form via onnxruntime.
    """

    def __init__(
        self,
        manifest: PackageManifest,
        model: Any,
        *,
        onnx_model: OnnxModel | None = None,
        folder: Path | None = None,
    ) -> None:
        """Wrap a loaded model; pass ``onnx_model`` to predict with ONNX instead."""
        self.manifest = manifest
        self.model = model
        self.folder = folder
        self._onnx = onnx_model
        self.uses_onnx = onnx_model is not None

    @property
    def signature(self) -> Signature:
        """The model's signature."""
        return self.manifest.signature

    @property
    def flavor(self) -> str:
        """The flavor that saved the model."""
        return self.manifest.flavor

    def _frame(self, data: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(data, pd.DataFrame):
            raise InvalidInputError("model input must be a pandas DataFrame with named columns")
        names = self.signature.column_names
        missing = [name for name in names if name not in data.columns]
        if missing:
            raise InvalidInputError(f"model input lacks columns {missing}; the model needs {names}")
        return data[names]

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        """Predict labels (classifiers) or values; extra columns are ignored.

        Raises:
            InvalidInputError: ``data`` is not a DataFrame or lacks a signature column.
        """
        frame = self._frame(data)
        if self._onnx is not None:
            return self._onnx.predict(frame)
        return np.asarray(self.model.predict(frame))

    def predict_proba(self, data: pd.DataFrame) -> np.ndarray:
        """Class probabilities, in the order of ``signature.output.classes``.

        Raises:
            InvalidInputError: The model is not a classifier with ``predict_proba``, or the
                input is not acceptable.
        """
        output = self.signature.output
        if output.kind != "classifier" or output.probability_columns is None:
            raise InvalidInputError(
                f"the model ({self.manifest.model_class}) is not a classifier with "
                "predict_proba; use predict"
            )
        frame = self._frame(data)
        if self._onnx is not None:
            return self._onnx.predict_proba(frame)
        return np.asarray(self.model.predict_proba(frame))

    def predict_with_proba(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels and, for classifiers, probabilities — the preprocessing runs once.

        Serving needs both for every request; a pipeline's transform steps are
        most of the cost, so they run once and feed the final estimator's
        ``predict`` and ``predict_proba`` (exactly what ``Pipeline`` does twice).
        """
        output = self.signature.output
        if output.kind != "classifier" or output.probability_columns is None:
            return self.predict(data), None
        frame = self._frame(data)
        if self._onnx is not None:
            return self._onnx.predict(frame), self._onnx.predict_proba(frame)
        steps = getattr(self.model, "steps", None)
        if steps and len(steps) > 1:
            features = self.model[:-1].transform(frame)
            final = steps[-1][1]
            return np.asarray(final.predict(features)), np.asarray(final.predict_proba(features))
        return np.asarray(self.model.predict(frame)), np.asarray(self.model.predict_proba(frame))

    def input_example(self) -> pd.DataFrame:
        """The rows stored with the package (used to warm a model up before serving)."""
        if self.folder is None:
            raise NotFoundError("this model was not loaded from a package folder")
        return pd.read_parquet(self.folder / self.manifest.input_example)

    def __repr__(self) -> str:
        """A short description: class, flavor, and whether ONNX is used."""
        engine = "onnx" if self.uses_onnx else "native"
        return f"PackagedModel({self.manifest.model_class}, flavor={self.flavor}, {engine})"


def _onnx_form(folder: Path, manifest: PackageManifest) -> OnnxModel | None:
    info = manifest.onnx
    if info is None or not info.converted or info.file is None:
        return None
    try:
        import onnxruntime  # noqa: F401 -- only to learn whether the ONNX form is usable
    except ImportError:
        warnings.warn(
            "the package has an ONNX form but onnxruntime is not installed; predicting with "
            "the native model — install werft[onnx] to use it",
            ModelEnvironmentWarning,
            stacklevel=3,
        )
        return None
    model_bytes = _listed_file(folder, info.file).read_bytes()
    # Re-check the bytes actually used: the file could have changed since verification.
    if f"sha256:{hashlib.sha256(model_bytes).hexdigest()}" != manifest.files[info.file]:
        raise IntegrityError(f"package file {info.file} changed while the package was loaded")
    return OnnxModel(model_bytes, manifest.signature)


def load_package(
    folder: Path,
    *,
    trust: bool = False,
    trusted_types: Sequence[str] = (),
    expected_content_hash: str | None = None,
    prefer_onnx: bool = False,
) -> PackagedModel:
    """Verify a package, check its environment, and load its model.

    Args:
        folder: The package folder.
        trust: Allow formats that run code when loaded (the generic Python flavor's pickle).
        trusted_types: Type names to trust in a skops file beyond werft's allowlist.
        expected_content_hash: The content hash the registry recorded, when known.
        prefer_onnx: Predict with the package's ONNX form when it has one.

    Returns:
        The loaded model.

    Raises:
        IntegrityError: The package does not match its manifest or the expected hash.
        PermissionDeniedError: The model needs trust (pickle) or an untrusted type.
        InvalidInputError: The manifest is malformed, from a newer format, or names an
            unknown flavor.

    Warns:
        ModelEnvironmentWarning: An installed package's major or minor version differs from
            the one recorded in the manifest.
    """
    manifest = verify_package(folder, expected_content_hash)
    flavor = get_flavor(manifest.flavor)
    warn_on_mismatch(manifest.requirements, manifest.python_version)
    model = flavor.load(folder / MODEL_DIR, trust=trust, trusted_types=trusted_types)
    onnx_model = _onnx_form(folder, manifest) if prefer_onnx else None
    return PackagedModel(manifest, model, onnx_model=onnx_model, folder=folder)
