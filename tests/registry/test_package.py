"""Model packages: build, verify before deserialising, load, and warn about environments."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import skops.io
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBClassifier

from werft.errors import IntegrityError, InvalidInputError, NotFoundError, PermissionDeniedError
from werft.registry.manifest import content_hash, file_digest
from werft.registry.package import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    ModelEnvironmentWarning,
    PackagedModel,
    build_package,
    load_package,
    read_manifest,
    verify_package,
)


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], n),
            "a": rng.normal(size=n),
            "b": rng.integers(0, 10, n),
        }
    )


def label(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["a"] + (frame["color"] == "red")) > 0.5).to_numpy(int)


def pipeline(final: Any) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore"), ["color"]),
            ("scale", StandardScaler(), ["a", "b"]),
        ]
    )
    train = make_frame(300, seed=1)
    return Pipeline([("pre", pre), ("model", final)]).fit(train, label(train))


class LinearScore:
    """A generic Python model."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self.lock: Any = None

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return data["a"].to_numpy() * self.weight


@pytest.fixture(scope="module")
def classifier() -> Pipeline:
    return pipeline(HistGradientBoostingClassifier(max_iter=10))


@pytest.fixture
def package(classifier: Pipeline, tmp_path: Path) -> Path:
    folder = tmp_path / "pkg"
    build_package(classifier, folder, input_example=make_frame(5, seed=2), source_run="run-1")
    return folder


def _rewrite_manifest(folder: Path, **changes: Any) -> None:
    path = folder / MANIFEST_NAME
    raw = yaml.safe_load(path.read_text())
    raw.update(changes)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def _forbid_deserialising(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("deserialisation must not start before verification")

    monkeypatch.setattr(skops.io, "load", refuse)
    monkeypatch.setattr(skops.io, "get_untrusted_types", refuse)
    monkeypatch.setattr(cloudpickle, "load", refuse)


def test_build_writes_a_verifiable_manifest(classifier: Pipeline, package: Path) -> None:
    manifest = read_manifest(package)
    assert manifest.format_version == FORMAT_VERSION
    assert manifest.flavor == "sklearn"
    assert manifest.model_class == "sklearn.pipeline.Pipeline"
    assert manifest.source_run == "run-1"
    assert manifest.input_example == "input_example.parquet"
    assert set(manifest.files) == {"model/model.skops", "input_example.parquet"}
    assert manifest.files["model/model.skops"] == file_digest(package / "model/model.skops")
    assert manifest.content_hash == content_hash(manifest.files)
    assert {"scikit-learn", "skops", "numpy"} <= manifest.requirements.keys()
    assert manifest.onnx is None
    assert manifest.signature.output.classes == [0, 1]
    assert verify_package(package, manifest.content_hash) == manifest
    example = pd.read_parquet(package / "input_example.parquet")
    assert list(example.columns) == ["color", "a", "b"]


def test_load_predicts_like_the_original(classifier: Pipeline, package: Path) -> None:
    loaded = load_package(package, expected_content_hash=read_manifest(package).content_hash)
    assert isinstance(loaded, PackagedModel)
    assert loaded.flavor == "sklearn"
    assert not loaded.uses_onnx
    fresh = make_frame(40, seed=9)
    reordered = fresh[["b", "a", "color"]].assign(extra=1)  # order and extras do not matter
    assert np.array_equal(loaded.predict(reordered), classifier.predict(fresh))
    assert np.array_equal(loaded.predict_proba(fresh), classifier.predict_proba(fresh))


def test_pipeline_ending_in_xgboost_records_xgboost(tmp_path: Path) -> None:
    model = pipeline(XGBClassifier(n_estimators=5))
    manifest = build_package(model, tmp_path / "pkg", input_example=make_frame(5, seed=2))
    assert manifest.flavor == "sklearn"
    assert "xgboost" in manifest.requirements
    fresh = make_frame(30, seed=4)
    loaded = load_package(tmp_path / "pkg")
    assert np.array_equal(loaded.predict_proba(fresh), model.predict_proba(fresh))


def test_python_model_needs_trust_to_load(tmp_path: Path) -> None:
    build_package(LinearScore(2.0), tmp_path / "pkg", input_example=make_frame(5, seed=2))
    with pytest.raises(PermissionDeniedError, match="trust=True"):
        load_package(tmp_path / "pkg")
    loaded = load_package(tmp_path / "pkg", trust=True)
    fresh = make_frame(10, seed=5)
    assert np.array_equal(loaded.predict(fresh), fresh["a"].to_numpy() * 2.0)
    with pytest.raises(InvalidInputError, match="not a classifier"):
        loaded.predict_proba(fresh)


def test_input_must_have_the_signature_columns(package: Path) -> None:
    loaded = load_package(package)
    with pytest.raises(InvalidInputError, match=r"lacks columns \['color'\]"):
        loaded.predict(make_frame(5, seed=3).drop(columns="color"))


def test_folder_must_be_new_or_empty(classifier: Pipeline, package: Path) -> None:
    with pytest.raises(InvalidInputError, match="not an empty folder"):
        build_package(classifier, package, input_example=make_frame(5, seed=2))


def test_unsupported_model_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="supported kinds"):
        build_package(object(), tmp_path / "pkg", input_example=make_frame(5, seed=2))
    assert not (tmp_path / "pkg").exists()


def test_failed_build_leaves_the_folder_empty(tmp_path: Path) -> None:
    model = LinearScore(1.0)
    model.lock = threading.Lock()  # cannot be pickled
    with pytest.raises(TypeError):
        build_package(model, tmp_path / "pkg", input_example=make_frame(5, seed=2))
    assert list((tmp_path / "pkg").iterdir()) == []


def test_tampered_model_file_is_refused_before_deserialisation(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_file = package / "model" / "model.skops"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_file.write_bytes(bytes(data))
    _forbid_deserialising(monkeypatch)
    with pytest.raises(IntegrityError, match=r"model/model\.skops"):
        load_package(package)


def test_tampered_pickle_is_refused_before_unpickling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pkg"
    build_package(LinearScore(2.0), folder, input_example=make_frame(5, seed=2))
    with (folder / "model" / "model.cloudpickle").open("ab") as file:
        file.write(b"\x00")
    _forbid_deserialising(monkeypatch)
    with pytest.raises(IntegrityError, match=r"model/model\.cloudpickle"):
        load_package(folder, trust=True)


def test_missing_and_unlisted_files_are_integrity_errors(package: Path) -> None:
    (package / "model" / "extra.bin").write_bytes(b"surprise")
    with pytest.raises(IntegrityError, match=r"model/extra\.bin"):
        verify_package(package)
    (package / "model" / "extra.bin").unlink()
    (package / "input_example.parquet").unlink()
    with pytest.raises(IntegrityError, match=r"input_example\.parquet is missing"):
        verify_package(package)


def test_content_hash_must_match_the_expected_one(package: Path) -> None:
    with pytest.raises(IntegrityError, match=r"expected sha256:0{64}"):
        verify_package(package, expected_content_hash="sha256:" + "0" * 64)


def test_edited_file_list_breaks_the_content_hash(package: Path) -> None:
    files = read_manifest(package).files
    files["input_example.parquet"] = "sha256:" + "1" * 64
    _rewrite_manifest(package, files=files)
    with pytest.raises(IntegrityError, match="content_hash"):
        verify_package(package)


def test_unsafe_path_in_manifest_is_refused(package: Path) -> None:
    files = {**read_manifest(package).files, "../outside": "sha256:" + "2" * 64}
    _rewrite_manifest(package, files=files, content_hash=content_hash(files))
    with pytest.raises(IntegrityError, match="unsafe path"):
        verify_package(package)


def test_newer_format_is_refused_with_both_versions(package: Path) -> None:
    _rewrite_manifest(package, format_version=FORMAT_VERSION + 1)
    with pytest.raises(InvalidInputError) as caught:
        load_package(package)
    message = str(caught.value)
    assert f"format {FORMAT_VERSION + 1}" in message
    assert f"reads format {FORMAT_VERSION}" in message
    assert "upgrade werft" in message


def test_missing_manifest_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not a werft model package"):
        read_manifest(tmp_path)


def test_version_mismatch_warns_with_both_versions(package: Path) -> None:
    requirements = read_manifest(package).requirements
    installed = requirements["scikit-learn"]
    major, minor = installed.split(".")[:2]
    recorded = f"{major}.{int(minor) + 1}.0"
    # The manifest is not in its own file list: editing it keeps the files verifiable.
    _rewrite_manifest(package, requirements={**requirements, "scikit-learn": recorded})
    with pytest.warns(ModelEnvironmentWarning, match="scikit-learn") as caught:
        load_package(package)
    message = str(caught[0].message)
    assert recorded in message
    assert installed in message


def test_patch_difference_does_not_warn(package: Path) -> None:
    requirements = read_manifest(package).requirements
    major, minor = requirements["numpy"].split(".")[:2]
    _rewrite_manifest(package, requirements={**requirements, "numpy": f"{major}.{minor}.999"})
    load_package(package)  # filterwarnings=error turns any warning into a failure
