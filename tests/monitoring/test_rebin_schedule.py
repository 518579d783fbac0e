"""Rebinning histograms onto one spec, and cron schedules and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from werft.errors import InvalidInputError
from werft.monitoring.histograms import FeatureSpec, default_spec_for, histogram
from werft.monitoring.rebin import merge_onto, rebin
from werft.monitoring.schedule import (
    check_schedule,
    format_duration,
    next_run,
    parse_duration,
)


def test_rebin_keeps_totals_and_approximates_the_true_counts() -> None:
    values = np.random.default_rng(0).normal(size=20_000)
    parts = [values[:7000], values[7000:]]
    target = FeatureSpec(kind="numeric", edges=[float(e) for e in np.linspace(-2, 2, 9)])
    hists = [histogram(p, default_spec_for(p), name="x") for p in parts]
    merged = merge_onto(hists, target)
    exact = histogram(values, target, name="x")
    assert merged.total == exact.total and sum(merged.counts) == 20_000
    assert merged.sum == pytest.approx(exact.sum)
    shares = np.array(merged.counts) / 20_000
    assert np.abs(shares - np.array(exact.counts) / 20_000).max() < 0.02


def test_rebin_of_the_same_spec_is_the_identity() -> None:
    spec = FeatureSpec(kind="numeric", edges=[0.0, 1.0, 2.0])
    hist = histogram([0.5, 1.5, 3.0, None], spec, name="x")
    assert rebin(hist, spec) is hist


def test_categorical_rebin_moves_unknown_categories_to_other() -> None:
    spec = FeatureSpec(kind="categorical", categories=["a", "b", "c"])
    hist = histogram(["a", "b", "b", "c", None], spec, name="p")
    moved = rebin(hist, FeatureSpec(kind="categorical", categories=["b", "d"]))
    assert moved.counts == [2, 0, 2]  # b, d, other (a and c)
    assert moved.nulls == 1 and moved.total == 5


def test_a_histogram_of_another_kind_counts_as_nulls() -> None:
    numeric = histogram([1.0, 2.0], FeatureSpec(kind="numeric", edges=[0.0, 3.0]), name="x")
    texts = histogram(["a"], FeatureSpec(kind="categorical", categories=["a"]), name="x")
    merged = merge_onto([numeric, numeric, texts], None)
    assert merged.kind == "numeric"
    assert merged.total == 5 and merged.nulls == 1


def test_durations() -> None:
    assert parse_duration("30s") == 30
    assert parse_duration("15m") == 900
    assert parse_duration("1h") == 3600
    assert parse_duration("2d") == 172_800
    assert parse_duration(90) == 90
    assert format_duration(3600) == "1h"
    assert format_duration(90) == "90s"
    with pytest.raises(InvalidInputError, match="30s, 15m"):
        parse_duration("soon")
    with pytest.raises(InvalidInputError, match="negative"):
        parse_duration(-1)


def test_schedules() -> None:
    at = datetime(2026, 11, 27, 12, 7, 30, tzinfo=UTC)
    assert next_run("*/15 * * * *", at) == datetime(2026, 11, 27, 12, 15, tzinfo=UTC)
    assert next_run("0 3 * * 1", at) == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday
    exact = datetime(2026, 11, 27, 12, 15, tzinfo=UTC)
    assert next_run("*/15 * * * *", exact) == exact + timedelta(minutes=15)
    assert check_schedule("  0  *  * * * ") == "0 * * * *"
    with pytest.raises(InvalidInputError, match="five fields"):
        check_schedule("@hourly")
    with pytest.raises(InvalidInputError, match="not valid cron"):
        check_schedule("61 * * * *")
