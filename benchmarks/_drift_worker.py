"""One tool's drift computation in a process of its own (driven by bench_drift.py).

Usage: ``python _drift_worker.py TOOL REFERENCE.parquet CURRENT.parquet REPEATS``
with TOOL ``werft``, ``werft-object`` (string columns as Python objects, the
form pandas 2 gives Evidently), ``scipy`` or ``evidently``. Reads both
tables into pandas first, runs once untimed on their first 2,000 rows (imports,
caches), then times REPEATS runs on the whole tables. Prints one JSON line:
seconds per run, peak RSS after loading and at the end, the flagged features.

Runs under werft's interpreter (werft, werft-object, scipy) or under
``benchmarks/.venv-evidently/bin/python`` (evidently), which has no werft:
so only the standard library, numpy and pandas at the top.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

WARMUP_ROWS = 2000
Flagger = Callable[[pd.DataFrame, pd.DataFrame], list[str]]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def werft_flagger() -> tuple[Flagger, str]:
    import werft

    def flag(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
        return list(werft.drift(reference, current).drifted)

    return flag, f"werft {werft.__version__}"


def scipy_flagger() -> tuple[Flagger, str]:
    """The plain pass: ks_2samp per numeric column, chi-square on category counts."""
    import scipy
    from scipy import stats

    def flag(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
        flagged = []
        for name in reference.columns:
            ref, cur = reference[name], current[name]
            if pd.api.types.is_numeric_dtype(ref.dtype):
                p_value = stats.ks_2samp(ref.dropna().to_numpy(), cur.dropna().to_numpy()).pvalue
            else:
                counts = pd.concat([ref.value_counts(), cur.value_counts()], axis=1).fillna(0)
                p_value = stats.chi2_contingency(counts.to_numpy().T).pvalue
            if p_value < 0.05:
                flagged.append(str(name))
        return flagged

    return flag, f"scipy {scipy.__version__}"


def evidently_flagger() -> tuple[Flagger, str]:
    """Evidently's DataDriftPreset with its defaults, from DataFrames with declared column types."""
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    def flag(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
        numeric = [str(c) for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
        definition = DataDefinition(
            numerical_columns=numeric,
            categorical_columns=[str(c) for c in reference.columns if str(c) not in numeric],
        )
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        flagged = []
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if not config.get("type", "").endswith(":ValueDrift"):
                continue
            value, threshold = float(metric["value"]), float(config["threshold"])
            by_p_value = "p_value" in config["method"]
            if (value < threshold) if by_p_value else (value >= threshold):
                flagged.append(config["column"])
        return flagged

    return flag, f"evidently {evidently.__version__}"


def main() -> int:
    tool, reference_path, current_path, repeats = sys.argv[1:5]
    if tool == "werft-object":
        with warnings.catch_warnings():  # the option is deprecated in pandas 3, not yet gone
            warnings.simplefilter("ignore")
            pd.set_option("future.infer_string", False)  # strings as objects, as in pandas 2
    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    loaded_mb = peak_mb()
    make: dict[str, Callable[[], tuple[Flagger, str]]] = {
        "werft": werft_flagger,
        "werft-object": werft_flagger,
        "scipy": scipy_flagger,
        "evidently": evidently_flagger,
    }
    flag, version = make[tool]()
    flag(reference.head(WARMUP_ROWS), current.head(WARMUP_ROWS))
    seconds: list[float] = []
    flagged: list[str] = []
    for _ in range(int(repeats)):
        start = time.perf_counter()
        flagged = flag(reference, current)
        seconds.append(time.perf_counter() - start)
    result: dict[str, Any] = {
        "tool": tool,
        "version": version,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "string_dtype": str(reference.select_dtypes(exclude="number").dtypes.iloc[0]),
        "seconds": seconds,
        "loaded_mb": loaded_mb,
        "peak_mb": peak_mb(),
        "flagged": sorted(flagged),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
