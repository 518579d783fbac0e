"""Drift: does the current data come from the same distribution as the reference?

Per feature, one statistic decides; the dataset drifts when the share of
drifting features reaches ``share_threshold`` (default 0.5). The defaults
mirror Evidently's, so results are comparable:

=============  ===========================  ==================================
feature        reference <= 1000 values     reference > 1000 values
=============  ===========================  ==================================
numeric        ``ks``: two-sample           ``wasserstein``: Wasserstein-1
               Kolmogorov-Smirnov test,     distance divided by the reference
               drift when p < 0.05          standard deviation, drift >= 0.1
categorical    ``chi2``: chi-square test,   ``jensenshannon``: Jensen-Shannon
               drift when p < 0.05          distance (natural log), >= 0.1
=============  ===========================  ==================================

Why distances for large samples: a test's p-value measures how sure we are
that the distributions differ at all, not how much. At a million rows
Kolmogorov-Smirnov and chi-square call differences that matter to no model
significant (a mean shift of 0.005 standard deviations), so every feature
would drift every day. A distance measures the size of the change, and its
threshold says how big a change matters, whatever the sample size.

A numeric feature with at most 5 distinct values (flags, small counts) is
compared like a categorical one, as Evidently does. ``psi`` (population
stability index, drift when >= 0.1) is available for both kinds: numeric
features on reference decile bins plus the outer buckets, categorical ones
on their categories, an empty bucket counting as a share of 0.0001. Any
feature can take another method and threshold (``methods``, ``thresholds``).

Differences from Evidently, on purpose: chi-square is the two-sample test of
homogeneity (Evidently tests the current counts against the reference shares
as if those were exact, which raises false alarms far above 5% when both
samples are of similar size); with two categories it is the same as
Evidently's z-test. Large numeric samples are counted on a fine grid instead
of sorted (see :mod:`werft.monitoring.grid`; the Wasserstein distance is
within 0.0024 of the exact one). The KS test always sorts, so its D is exact
at any size (the p-value is SciPy's: exact up to 10,000 values, asymptotic above).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, computed_field

from werft.errors import InvalidInputError
from werft.monitoring import compare, samples
from werft.monitoring.compare import Outcome
from werft.monitoring.histograms import FeatureHistogram
from werft.monitoring.reference import reference_histograms
from werft.monitoring.samples import TableLike

__all__ = [
    "DEFAULT_THRESHOLDS",
    "METHODS",
    "SMALL_SAMPLE",
    "DriftReport",
    "FeatureDrift",
    "Method",
    "drift",
    "drift_from_histograms",
    "reference_histograms",
]

Method = Literal["ks", "psi", "wasserstein", "chi2", "jensenshannon"]
METHODS: tuple[Method, ...] = get_args(Method)

SMALL_SAMPLE = 1000
"""Up to this many reference values, the defaults are tests (ks, chi2); above, distances."""

DEFAULT_THRESHOLDS: dict[Method, float] = {
    "ks": 0.05,
    "chi2": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
"""p-value thresholds for the tests (drift when p < it), distance thresholds for the rest."""

P_VALUE_METHODS: frozenset[Method] = frozenset({"ks", "chi2"})
NUMERIC_ONLY: frozenset[Method] = frozenset({"ks", "wasserstein"})


class FeatureDrift(BaseModel):
    """One feature's verdict and the evidence for it.

    ``statistic`` is the test statistic (KS D, chi-square) or the distance
    (PSI, normalised Wasserstein, Jensen-Shannon); ``p_value`` is set for the
    tests only. ``threshold`` is a p-value threshold for the tests (drift when
    ``p_value < threshold``) and a distance threshold otherwise (drift when
    ``statistic >= threshold``). ``reference_rows`` and ``current_rows``
    count the values compared (not missing). ``reference`` and ``current``
    are the two distributions on the same bins, for reports and charts.
    ``note`` says what was special, e.g. a numeric feature compared by value.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["numeric", "categorical"]
    method: Method
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    reference: FeatureHistogram
    current: FeatureHistogram
    note: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reason(self) -> str:
        """Why the verdict, for a person: ``"wasserstein 0.23 >= 0.1"``, ``"ks p=0.31 >= 0.05"``."""
        if self.p_value is not None:
            sign = "<" if self.p_value < self.threshold else ">="
            text = f"{self.method} p={self.p_value:.3g} {sign} {self.threshold:g}"
        else:
            sign = ">=" if self.statistic >= self.threshold else "<"
            text = f"{self.method} {self.statistic:.3g} {sign} {self.threshold:g}"
        return f"{text} ({self.note})" if self.note else text


class DriftReport(BaseModel):
    """Every feature's verdict and the dataset's.

    ``skipped`` names the features that could not be compared and why (no
    values on one side, a date column, a column in only one table).
    """

    model_config = ConfigDict(frozen=True)

    features: dict[str, FeatureDrift]
    drifted: list[str]
    share: float
    share_threshold: float
    dataset_drift: bool
    reference_rows: int
    current_rows: int
    skipped: dict[str, str] = {}

    def table(self) -> str:
        """A plain-text summary: one line per feature, then the verdict."""
        header = ("feature", "type", "method", "statistic", "threshold", "p-value", "verdict")
        lines = [header] + [
            (
                f.name,
                f.kind,
                f.method,
                f"{f.statistic:.4g}",
                f"{f.threshold:g}",
                "" if f.p_value is None else f"{f.p_value:.3g}",
                "DRIFT" if f.drifted else "ok",
            )
            for f in self.features.values()
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        text = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
        ]
        text += [f"{name}: skipped, {why}" for name, why in self.skipped.items()]
        text.append(self.verdict)
        return "\n".join(line.rstrip() for line in text)

    @property
    def verdict(self) -> str:
        """``"dataset drift: 6 of 20 features drifted (30%), threshold 50%"``."""
        head = "dataset drift" if self.dataset_drift else "no dataset drift"
        return (
            f"{head}: {len(self.drifted)} of {len(self.features)} features drifted "
            f"({self.share:.0%}), threshold {self.share_threshold:.0%}"
        )


def drift(
    reference: TableLike,
    current: TableLike,
    *,
    columns: Sequence[str] | None = None,
    methods: Mapping[str, Method] | None = None,
    thresholds: Mapping[str, float] | None = None,
    categorical: Sequence[str] | None = None,
    share_threshold: float = 0.5,
) -> DriftReport:
    """Compare two tables column by column (see the module docstring for the statistics).

    Args:
        reference: The data the model was trained on: a pandas DataFrame, a
            pyarrow Table or the path of a .parquet or .csv file.
        current: The data to check, in the same forms.
        columns: The features to compare; default every column in both tables.
        methods: Per feature, a method instead of the default.
        thresholds: Per feature, a threshold instead of the method's default.
        categorical: Numeric columns to compare as categories (codes, ids).
        share_threshold: The share of drifting features at which the dataset drifts.

    Raises:
        InvalidInputError: A named column is missing, a table is empty, or an
            option is malformed; the message names what to change.
        NotFoundError: A path does not exist.
    """
    ref, cur = samples.load(reference, "reference"), samples.load(current, "current")
    _check_share(share_threshold)
    ref_rows, cur_rows = samples.rows(ref), samples.rows(cur)
    for side, count in (("reference", ref_rows), ("current", cur_rows)):
        if count == 0:
            raise InvalidInputError(f"the {side} table has no rows; drift needs data on both sides")
    selected, skipped = _select(samples.names(ref), samples.names(cur), columns)
    _check_names("categorical", categorical or (), selected)
    _check_names("methods", methods or {}, selected)
    _check_names("thresholds", thresholds or {}, selected)
    forced = set(categorical or ())
    features: dict[str, FeatureDrift] = {}
    for name in selected:
        outcome = compare.columns(
            name, samples.column(ref, name), samples.column(cur, name), name in forced
        )
        if isinstance(outcome, str):
            skipped[name] = outcome
        else:
            features[name] = _decide(name, outcome, methods, thresholds)
    return _report(features, skipped, share_threshold, ref_rows, cur_rows)


def drift_from_histograms(
    reference: Mapping[str, FeatureHistogram],
    current: Mapping[str, FeatureHistogram],
    *,
    methods: Mapping[str, Method] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = 0.5,
) -> DriftReport:
    """Compare histograms: the monitoring path, where no raw rows are kept.

    ``current`` is typically the sum of a window's prediction-log segment
    histograms, counted on the reference's bins. Statistics come from the
    bins: values spread evenly within each bin, the outer buckets reaching to
    the observed minimum or maximum. KS's D is then exact at the bin edges (a
    lower bound of the raw D) and its p-value asymptotic; the Wasserstein
    distance is as accurate as the bins are narrow. Numeric features are not
    compared by value here: the bins do not show distinct values.

    Args:
        reference: Feature name to reference histogram, e.g. from :func:`reference_histograms`.
        current: Feature name to current histogram; features in only one mapping are skipped.
        methods: As for :func:`drift`.
        thresholds: As for :func:`drift`.
        share_threshold: As for :func:`drift`.

    Raises:
        InvalidInputError: A feature's histograms are of different kinds or
            on bins that cannot be matched, or an option is malformed.
    """
    _check_share(share_threshold)
    selected = [name for name in reference if name in current]
    skipped = {name: "only in the reference" for name in reference if name not in current}
    skipped |= {name: "only in the current data" for name in current if name not in reference}
    _check_names("methods", methods or {}, selected)
    _check_names("thresholds", thresholds or {}, selected)
    features: dict[str, FeatureDrift] = {}
    for name in selected:
        outcome = compare.histograms(name, reference[name], current[name])
        if isinstance(outcome, str):
            skipped[name] = outcome
        else:
            features[name] = _decide(name, outcome, methods, thresholds)
    ref_rows = max((h.total for h in reference.values()), default=0)
    cur_rows = max((h.total for h in current.values()), default=0)
    return _report(features, skipped, share_threshold, ref_rows, cur_rows)


def _decide(
    name: str,
    outcome: Outcome,
    methods: Mapping[str, Method] | None,
    thresholds: Mapping[str, float] | None,
) -> FeatureDrift:
    method = (methods or {}).get(name) or _default_method(outcome)
    if method not in METHODS:
        raise InvalidInputError(
            f"unknown drift method {method!r} for {name!r}; use one of {', '.join(METHODS)}"
        )
    if method in NUMERIC_ONLY and outcome.kind != "numeric":
        raise InvalidInputError(
            f"method {method!r} needs a numeric feature and {name!r} is categorical; "
            "use chi2, jensenshannon or psi"
        )
    threshold = _threshold(name, method, thresholds)
    statistic, p_value, note = compare.statistic(outcome, method)
    drifted = p_value < threshold if p_value is not None else statistic >= threshold
    return FeatureDrift(
        name=name,
        kind=outcome.kind,
        method=method,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=drifted,
        reference_rows=outcome.reference_rows,
        current_rows=outcome.current_rows,
        reference=outcome.reference,
        current=outcome.current,
        note=note,
    )


def _default_method(outcome: Outcome) -> Method:
    small = outcome.reference_rows <= SMALL_SAMPLE
    if outcome.kind == "categorical" or outcome.by_value is not None:
        return "chi2" if small else "jensenshannon"
    return "ks" if small else "wasserstein"


def _threshold(name: str, method: Method, thresholds: Mapping[str, float] | None) -> float:
    given = (thresholds or {}).get(name)
    if given is None:
        return DEFAULT_THRESHOLDS[method]
    if isinstance(given, bool) or not isinstance(given, int | float) or not given > 0:
        raise InvalidInputError(f"threshold {given!r} for {name!r} must be a positive number")
    if method in P_VALUE_METHODS and not given < 1:
        raise InvalidInputError(
            f"threshold {given!r} for {name!r} is a p-value threshold for {method}: "
            "it must be between 0 and 1 (drift when p < threshold)"
        )
    return float(given)


def _select(
    reference: list[str], current: list[str], columns: Sequence[str] | None
) -> tuple[list[str], dict[str, str]]:
    """The columns to compare, and (by default) those in only one table with the reason."""
    in_current = set(current)
    if columns is None:
        selected = [name for name in reference if name in in_current]
        skipped = {name: "only in the reference" for name in reference if name not in in_current}
        in_reference = set(reference)
        skipped |= {
            name: "only in the current data" for name in current if name not in in_reference
        }
        if not selected:
            raise InvalidInputError(
                "the tables have no column in common; reference has "
                f"{_listed(reference)}, current has {_listed(current)}"
            )
        return selected, skipped
    if isinstance(columns, str):
        raise InvalidInputError(f"columns must be a list of names, not the string {columns!r}")
    for side, present in (("reference", reference), ("current", current)):
        missing = [name for name in columns if name not in present]
        if missing:
            raise InvalidInputError(
                f"column {missing[0]!r} is not in the {side} data; "
                f"its columns are {_listed(present)}"
            )
    if not columns:
        raise InvalidInputError("columns is empty; name at least one column or leave it out")
    return list(dict.fromkeys(columns)), {}


def _check_names(
    option: str, given: Sequence[str] | Mapping[str, Any], selected: list[str]
) -> None:
    if isinstance(given, str):
        raise InvalidInputError(
            f"{option} must be a list of feature names, not the string {given!r}"
        )
    known = set(selected)
    for name in given:
        if name not in known:
            raise InvalidInputError(
                f"{option} names {name!r}, which is not compared; compared are {_listed(selected)}"
            )


def _check_share(share_threshold: float) -> None:
    if not 0 < share_threshold <= 1:
        raise InvalidInputError(
            f"share_threshold {share_threshold!r} must be in (0, 1]: the share of drifting "
            "features at which the dataset drifts"
        )


def _report(
    features: dict[str, FeatureDrift],
    skipped: dict[str, str],
    share_threshold: float,
    reference_rows: int,
    current_rows: int,
) -> DriftReport:
    drifted = [name for name, feature in features.items() if feature.drifted]
    share = len(drifted) / len(features) if features else 0.0
    return DriftReport(
        features=features,
        drifted=drifted,
        share=share,
        share_threshold=share_threshold,
        dataset_drift=bool(features) and share >= share_threshold,
        reference_rows=reference_rows,
        current_rows=current_rows,
        skipped=skipped,
    )


def _listed(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"[{shown}{more}]" if names else "none"
