"""werft.drift: verdicts, defaults, known answers, the histogram path and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats as sps
from scipy.spatial import distance

import werft
from werft.errors import InvalidInputError, NotFoundError
from werft.monitoring.drift import (
    DriftReport,
    FeatureDrift,
    drift,
    drift_from_histograms,
    reference_histograms,
)
from werft.monitoring.grid import GRID_BINS, GRID_SIGMAS
from werft.monitoring.histograms import FeatureHistogram, histogram, histograms, reference_spec
from werft.tracking.datasets import profile_frame

SHIFTED = ["n0", "n1", "n2", "n3", "c0", "c1"]
LEVELS = np.array(["a", "b", "c", "d"])


def frame(rows: int, *, seed: int, shifted: bool = False) -> pd.DataFrame:
    """15 numeric and 5 categorical features; shifted: 4 numeric and 2 categorical change."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(15):
        values = rng.normal(10.0 * i, 1.0 + i, rows)
        if shifted and i < 2:
            values += 0.5 * (1.0 + i)  # half a standard deviation
        elif shifted and i < 4:
            values = 10.0 * i + (values - 10.0 * i) * 1.6  # wider
        data[f"n{i}"] = values
    for j in range(5):
        shares = [0.25, 0.3, 0.25, 0.2] if shifted and j < 2 else [0.4, 0.3, 0.2, 0.1]
        data[f"c{j}"] = LEVELS[rng.choice(4, rows, p=shares)]
    return pd.DataFrame(data)


def test_the_six_shifted_features_of_twenty_are_flagged() -> None:
    report = drift(frame(20_000, seed=1), frame(20_000, seed=2, shifted=True))
    assert sorted(report.drifted) == sorted(SHIFTED)
    assert report.share == 0.3 and not report.dataset_drift
    assert report.reference_rows == report.current_rows == 20_000
    methods = {f.method for f in report.features.values()}
    assert methods == {"wasserstein", "jensenshannon"}  # > 1000 values: distances
    assert drift(frame(20_000, seed=1), frame(20_000, seed=2, shifted=True), share_threshold=0.3)
    assert drift(frame(20_000, seed=1), frame(20_000, seed=3)).drifted == []


def test_small_samples_are_tested_and_methods_follow_the_sample_size() -> None:
    report = drift(frame(600, seed=4), frame(600, seed=5, shifted=True))
    assert {f.method for f in report.features.values()} == {"ks", "chi2"}
    assert set(SHIFTED) <= set(report.drifted)
    f = report.features["n0"]
    assert f.p_value is not None and f.p_value < 0.05 and f.threshold == 0.05
    assert f.reason.startswith("ks p=") and "< 0.05" in f.reason


def test_known_answers_against_scipy_on_the_exact_path() -> None:
    ref, cur = frame(800, seed=6), frame(900, seed=7, shifted=True)
    report = drift(
        ref,
        cur,
        methods={"n0": "wasserstein", "c0": "jensenshannon", "n4": "psi"},
        thresholds={"n0": 0.2},
    )
    ks = sps.ks_2samp(ref["n1"], cur["n1"])
    assert report.features["n1"].statistic == pytest.approx(ks.statistic)
    assert report.features["n1"].p_value == pytest.approx(ks.pvalue)
    w = sps.wasserstein_distance(ref["n0"], cur["n0"]) / np.std(ref["n0"])
    assert report.features["n0"].statistic == pytest.approx(w, rel=1e-12)
    assert report.features["n0"].threshold == 0.2 and report.features["n0"].p_value is None
    table = pd.crosstab(
        np.r_[np.zeros(800), np.ones(900)], np.r_[ref["c2"].to_numpy(), cur["c2"].to_numpy()]
    )
    chi2 = sps.chi2_contingency(table.to_numpy(), correction=False)
    assert report.features["c2"].statistic == pytest.approx(chi2.statistic)
    assert report.features["c2"].p_value == pytest.approx(chi2.pvalue)
    shares = [ref["c0"].value_counts().reindex(LEVELS), cur["c0"].value_counts().reindex(LEVELS)]
    expected_js = distance.jensenshannon(*(s.to_numpy(dtype=float) for s in shares))
    assert report.features["c0"].statistic == pytest.approx(expected_js)
    psi = report.features["n4"]
    assert psi.method == "psi" and psi.threshold == 0.1 and psi.statistic < 0.1


def test_large_sample_wasserstein_is_within_the_grid_tolerance() -> None:
    ref, cur = frame(30_000, seed=8), frame(25_000, seed=9, shifted=True)
    report = drift(ref, cur)
    for name in ("n0", "n3", "n7"):
        exact = sps.wasserstein_distance(ref[name], cur[name]) / np.std(ref[name])
        binned = report.features[name].statistic
        assert abs(binned - exact) <= 2 * GRID_SIGMAS / GRID_BINS


def test_no_false_alarms_beyond_the_expected_rate() -> None:
    rng = np.random.default_rng(10)
    seeds, alarms, distance_alarms = 200, 0, 0
    for _ in range(seeds):
        ref = pd.DataFrame(
            {
                "x": rng.normal(0, 1, 300),
                "y": rng.exponential(2.0, 300),
                "c": LEVELS[rng.choice(4, 300, p=[0.4, 0.3, 0.2, 0.1])],
            }
        )
        cur = pd.DataFrame(
            {
                "x": rng.normal(0, 1, 300),
                "y": rng.exponential(2.0, 300),
                "c": LEVELS[rng.choice(4, 300, p=[0.4, 0.3, 0.2, 0.1])],
            }
        )
        alarms += len(drift(ref, cur).drifted)
        # Distances: at 5,000 rows two samples of one distribution lie far below 0.1 apart
        # (just above 1,000 rows the normalised Wasserstein distance still alarms ~3% of the time).
        big_ref = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": LEVELS[rng.integers(0, 4, 5000)]})
        big_cur = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": LEVELS[rng.integers(0, 4, 5000)]})
        distance_alarms += len(drift(big_ref, big_cur).drifted)
    # p < 0.05 tests: 600 chances at 5% each; allow the mean plus 3.5 binomial standard deviations.
    trials = seeds * 3
    assert alarms <= trials * 0.05 + 3.5 * math.sqrt(trials * 0.05 * 0.95)
    assert distance_alarms == 0


def test_tables_arrow_parquet_and_csv_give_the_same_verdicts(tmp_path: Path) -> None:
    ref, cur = frame(3000, seed=11), frame(3000, seed=12, shifted=True)
    expected = drift(ref, cur)
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    for a, b in (
        (pa.Table.from_pandas(ref), pa.Table.from_pandas(cur)),
        (tmp_path / "ref.parquet", str(tmp_path / "cur.csv")),
    ):
        report = drift(a, b)
        assert report.drifted == expected.drifted
        for name, feature in report.features.items():
            assert feature.statistic == pytest.approx(expected.features[name].statistic)


def test_werft_drift_is_the_public_entry_point() -> None:
    assert werft.drift is drift
    assert "drift" in werft.__all__


def test_report_json_carries_the_reason_and_reads_back() -> None:
    report = drift(frame(2000, seed=13), frame(2000, seed=14, shifted=True), columns=["n0", "c4"])
    data = json.loads(report.model_dump_json())
    assert data["features"]["n0"]["reason"].startswith("wasserstein 0.")
    assert ">= 0.1" in data["features"]["n0"]["reason"]
    assert DriftReport.model_validate(data) == report
    text = report.table()
    assert "n0" in text and "DRIFT" in text and text.endswith("threshold 50%")
    feature = report.features["n0"]
    assert isinstance(feature, FeatureDrift) and feature.reference.spec == feature.current.spec
    assert feature.reference.total == 2000 and sum(feature.reference.counts) == 2000


def test_numeric_with_few_values_is_compared_by_value() -> None:
    rng = np.random.default_rng(15)
    ref = pd.DataFrame({"flag": rng.choice([0, 1], 5000, p=[0.7, 0.3])})
    cur = pd.DataFrame({"flag": rng.choice([0, 1, 2], 5000, p=[0.6, 0.3, 0.1])})
    feature = drift(ref, cur).features["flag"]
    assert feature.kind == "numeric" and feature.method == "jensenshannon"
    assert feature.note == "3 distinct values, compared by value"
    expected = distance.jensenshannon(
        [(ref.flag == v).sum() for v in (0, 1, 2)],
        [(cur.flag == v).sum() for v in (0, 1, 2)],
    )
    assert feature.statistic == pytest.approx(expected)
    assert drift(ref.head(500), cur.head(500)).features["flag"].method == "chi2"


def test_forced_categories_match_int_and_float_codes() -> None:
    ref = pd.DataFrame({"code": np.tile([1, 2, 3, 4, 5, 6, 7], 300)})
    cur = pd.DataFrame({"code": np.r_[np.tile([1.0, 2, 3, 4, 5, 6, 7], 300), [np.nan]]})
    feature = drift(ref, cur, categorical=["code"]).features["code"]
    assert feature.kind == "categorical" and feature.statistic == pytest.approx(0.0, abs=1e-12)
    assert feature.reference.categories == ["1", "2", "3", "4", "5", "6", "7"]
    assert feature.current.nulls == 1 and feature.current_rows == 2100


def test_columns_that_cannot_be_compared_are_skipped_with_a_reason() -> None:
    ref = pd.DataFrame(
        {
            "x": np.arange(50.0),
            "empty": [None] * 50,
            "nan": np.full(50, np.nan),
            "when": pd.date_range("2024-01-01", periods=50),
            "only_ref": 1,
        }
    )
    cur = pd.DataFrame(
        {
            "x": np.arange(50.0) + 0.1,
            "empty": ["a"] * 50,
            "nan": np.full(50, np.inf),
            "when": pd.date_range("2024-02-01", periods=50),
            "only_cur": 1,
        }
    )
    report = drift(ref, cur)
    assert list(report.features) == ["x"]
    assert report.skipped["empty"] == "no values in the reference data (50 missing)"
    assert report.skipped["nan"] == "no values in the reference data (50 missing)"
    assert report.skipped["when"].startswith("a date or time column is not compared")
    assert report.skipped["only_ref"] == "only in the reference"
    assert report.skipped["only_cur"] == "only in the current data"
    mixed = drift(pd.DataFrame({"v": [1.0, 2.0]}), pd.DataFrame({"v": ["x", "y"]}))
    assert "pass categorical=['v']" in mixed.skipped["v"] and not mixed.dataset_drift


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["x", "nope"]}, "column 'nope' is not in the reference data"),
        ({"columns": []}, "columns is empty"),
        ({"methods": {"zz": "psi"}}, "methods names 'zz', which is not compared"),
        ({"methods": {"x": "kl"}}, "unknown drift method 'kl' for 'x'"),
        ({"methods": {"c": "ks"}}, "method 'ks' needs a numeric feature and 'c' is categorical"),
        ({"thresholds": {"x": 5.0}}, "p-value threshold for ks"),
        ({"thresholds": {"x": -1}}, "must be a positive number"),
        ({"categorical": ["y"]}, "categorical names 'y'"),
        ({"categorical": "c"}, "categorical must be a list of feature names, not the string 'c'"),
        ({"share_threshold": 0.0}, "share_threshold 0.0 must be in (0, 1]"),
    ],
)
def test_bad_options_say_what_to_change(kwargs: dict[str, object], message: str) -> None:
    ref = pd.DataFrame({"x": np.arange(10.0), "c": list("abababcabc")})
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        drift(ref, ref, **kwargs)  # type: ignore[arg-type]


def test_bad_tables_say_what_is_wrong(tmp_path: Path) -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(InvalidInputError, match="the current table has no rows"):
        drift(ref, ref.head(0))
    with pytest.raises(InvalidInputError, match="no column in common"):
        drift(ref, pd.DataFrame({"y": [1.0]}))
    with pytest.raises(InvalidInputError, match="the reference data is a list"):
        drift([1, 2], ref)
    with pytest.raises(NotFoundError, match="no such file"):
        drift(tmp_path / "missing.parquet", ref)


def test_histogram_path_agrees_with_the_table_path() -> None:
    ref, cur = frame(5000, seed=16), frame(4000, seed=17, shifted=True)
    profile = profile_frame(ref)
    reference = reference_histograms(profile)
    assert {name: h.spec for name, h in reference.items()} == reference_spec(profile)
    for name, hist in reference.items():  # the profile's counts are the reference's own
        own = histogram(ref[name], hist.spec, name=name)
        assert own.counts == hist.counts and own.nulls == hist.nulls
        if hist.kind == "numeric":
            assert hist.std == pytest.approx(own.std) and hist.mean == pytest.approx(own.mean)
    current = histograms(cur, reference_spec(profile))
    windowed = drift_from_histograms(reference, current)
    assert sorted(windowed.drifted) == sorted(drift(ref, cur).drifted) == sorted(SHIFTED)
    assert windowed.reference_rows == 5000 and windowed.current_rows == 4000
    calm = drift_from_histograms(
        reference, histograms(frame(4000, seed=18), reference_spec(profile))
    )
    assert calm.drifted == []
    small = drift_from_histograms(
        reference_histograms(profile_frame(ref.head(800))),
        histograms(cur.head(700), reference_spec(profile_frame(ref.head(800)))),
    )
    assert {f.method for f in small.features.values()} == {"ks", "chi2"}
    assert {"n0", "c0"} <= set(small.drifted)


def test_histogram_path_handles_categories_and_refuses_other_bins() -> None:
    ref = FeatureHistogram(
        name="plan",
        kind="categorical",
        edges=None,
        categories=["a", "b"],
        counts=[60, 30, 10],
        nulls=0,
        total=100,
    )
    recounted = FeatureHistogram(
        name="plan",
        kind="categorical",
        edges=None,
        categories=["b", "z", "a"],
        counts=[30, 5, 60, 5],
        nulls=2,
        total=102,
    )
    feature = drift_from_histograms({"plan": ref}, {"plan": recounted}).features["plan"]
    assert feature.current.categories == ["a", "b"] and feature.current.counts == [60, 30, 10]
    assert feature.statistic == pytest.approx(0.0, abs=1e-12) and feature.method == "chi2"
    other = recounted.model_copy(update={"categories": ["b", "z", "y"]})
    with pytest.raises(InvalidInputError, match=r"does not count the reference categories \['a'\]"):
        drift_from_histograms({"plan": ref}, {"plan": other})
    numeric = histogram(
        [1.0, 2.0, 3.0], reference_spec(profile_frame(pd.DataFrame({"v": [1.0, 2.0, 3.0]})))["v"]
    )
    shifted = histogram(
        [1.0, 2.0], reference_spec(profile_frame(pd.DataFrame({"v": [0.0, 9.0]})))["v"]
    )
    with pytest.raises(InvalidInputError, match="counted on other bins than the reference"):
        drift_from_histograms({"v": numeric}, {"v": shifted})
    with pytest.raises(InvalidInputError, match="is categorical in the reference histogram"):
        drift_from_histograms({"v": ref}, {"v": numeric})
    empty = numeric.model_copy(update={"counts": [0] * len(numeric.counts), "nulls": 3})
    report = drift_from_histograms({"v": numeric, "w": numeric}, {"v": empty, "x": numeric})
    assert report.features == {} and not report.dataset_drift
    assert report.skipped == {
        "v": "no values in the current data (3 missing)",
        "w": "only in the reference",
        "x": "only in the current data",
    }


def test_reference_histograms_of_a_profile_with_gaps() -> None:
    ref = pd.DataFrame(
        {
            "x": [1.0, 2.0, np.nan, 4.0],
            "none": [np.nan] * 4,
            "when": pd.date_range("2024-01-01", periods=4),
            "flag": [True, False, None, True],
        }
    )
    profile = profile_frame(ref)
    reference = reference_histograms(profile.model_dump(mode="json"))
    assert set(reference) == {"x", "none", "flag"}  # dates have no bins
    assert reference["none"].counts == [0] and reference["none"].nulls == 4
    assert reference["flag"].categories == ["True", "False"] and reference["flag"].counts == [
        2,
        1,
        0,
    ]
    report = drift_from_histograms(reference, histograms(ref, reference_spec(profile)))
    assert report.skipped == {"none": "no values in the reference data (4 missing)"}
    assert report.drifted == []
    with pytest.raises(InvalidInputError, match="not a dataset profile"):
        reference_histograms({"columns": "nope"})


def test_numbers_near_the_float_limit_still_compare() -> None:
    rng = np.random.default_rng(19)
    ref = pd.DataFrame({"huge": rng.normal(0, 1e300, 20_000)})
    cur = pd.DataFrame({"huge": rng.normal(1e300, 1e300, 20_000)})
    feature = drift(ref, cur).features["huge"]
    assert feature.drifted and feature.statistic == pytest.approx(1.0, abs=0.05)
