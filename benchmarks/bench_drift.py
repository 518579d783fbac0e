#!/usr/bin/env python3
"""werft.drift vs Evidently's DataDriftPreset vs a plain SciPy pass, on one machine.

Usage::

    bash benchmarks/setup-peers.sh evidently   # once: Evidently into benchmarks/.venv-evidently
    python benchmarks/bench_drift.py           # 100,000 and 1,000,000 rows (~5 minutes)
    python benchmarks/bench_drift.py --quick   # 20,000 rows, a smoke run

The data is synthetic and deterministic (``SEED``): 15 numeric and 5
categorical features, 6 of them shifted in the current table (2 numeric means
by half a standard deviation, 2 numeric scales by 1.5-1.6, 2 categorical
frequency tables). Both tables are written to Parquet once per size. Each tool
then runs in a subprocess of its own (``_drift_worker.py``), so its peak RSS is
its own: it reads the Parquet into pandas, runs once untimed on 2,000 rows,
and times the drift computation alone. werft also runs with the string columns
as Python objects (``werft-object``), which is how pandas 2, and so Evidently,
holds them. One table goes to stdout, progress to stderr, every number to
``benchmarks/results/drift.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_drift_worker.py"
EVIDENTLY_PYTHON = HERE / ".venv-evidently" / "bin" / "python"
RESULTS_PATH = HERE / "results" / "drift.json"
SEED = 20_261_127

SHIFTED = ["num_00", "num_01", "num_02", "num_03", "cat_0", "cat_1"]
TARGETS = {100_000: 30.0, 1_000_000: 50.0}  # werft at least this many times faster than Evidently

# Repeats per size: werft and werft-object, scipy, evidently.
REPEATS = {100_000: (7, 5, 3), 1_000_000: (5, 3, 1)}
QUICK_SIZE = 20_000


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table_pair(rows: int, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference and the current table; the features in SHIFTED differ."""
    rng = np.random.default_rng(seed)

    def numeric(current: bool) -> dict[str, np.ndarray]:
        n = rows
        columns = {
            "num_00": rng.normal(50 + (5 if current else 0), 10, n),  # mean +0.5 sd
            "num_01": rng.lognormal(3, 0.5, n) * (1.5 if current else 1.0),  # scale x1.5
            "num_02": rng.uniform(0, 100, n) + (15 if current else 0),  # mean +0.52 sd
            "num_03": rng.normal(0, 1.6 if current else 1.0, n),  # scale x1.6
            "num_04": rng.normal(-20, 3, n),
            "num_05": rng.exponential(2.0, n),
            "num_06": rng.gamma(2.0, 3.0, n),
            "num_07": rng.poisson(30, n).astype(np.int64),
            "num_08": rng.beta(2, 5, n),
            "num_09": np.where(rng.random(n) < 0.3, rng.normal(-2, 1, n), rng.normal(3, 1, n)),
            "num_10": rng.standard_t(3, n),
            "num_11": rng.integers(0, 1000, n),
            "num_12": rng.normal(1e6, 5e3, n),
            "num_13": rng.lognormal(0, 1, n),
            "num_14": rng.normal(0, 1, n),
        }
        missing = rng.random(n) < 0.05  # some nulls, as real data has
        columns["num_04"] = np.where(missing, np.nan, columns["num_04"])
        return columns

    def categorical(current: bool) -> dict[str, np.ndarray]:
        def draw(levels: list[str], shares: list[float]) -> np.ndarray:
            p = np.array(shares) / np.sum(shares)
            return np.array(levels, dtype=object)[rng.choice(len(levels), rows, p=p)]

        plans = ["basic", "plus", "pro", "enterprise"]
        regions = [f"region-{i}" for i in range(10)]
        zipf = [1 / (i + 1) for i in range(10)]
        return {
            "cat_0": draw(plans, [0.3, 0.3, 0.25, 0.15] if current else [0.5, 0.3, 0.15, 0.05]),
            "cat_1": draw(regions, zipf[::-1] if current else zipf),
            "cat_2": draw(["a", "b", "c"], [0.6, 0.3, 0.1]),
            "cat_3": draw([f"device-{i}" for i in range(6)], [1, 2, 3, 3, 2, 1]),
            "cat_4": draw([f"channel-{i:02d}" for i in range(20)], [1.0] * 20),
        }

    frames = []
    for current in (False, True):
        frames.append(pd.DataFrame({**numeric(current), **categorical(current)}))
    return frames[0], frames[1]


def run_worker(python: Path | str, tool: str, paths: tuple[Path, Path], repeats: int) -> Any:
    command = [str(python), str(WORKER), tool, str(paths[0]), str(paths[1]), str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_size(rows: int, tmp: Path, repeats: tuple[int, int, int]) -> dict[str, Any]:
    progress(f"{rows:,} rows: generating and writing Parquet")
    reference, current = table_pair(rows)
    paths = (tmp / f"reference-{rows}.parquet", tmp / f"current-{rows}.parquet")
    reference.to_parquet(paths[0], index=False)
    current.to_parquet(paths[1], index=False)
    del reference, current
    results: dict[str, Any] = {}
    plan: list[tuple[str, Path | str, int]] = [
        ("werft", sys.executable, repeats[0]),
        ("werft-object", sys.executable, repeats[0]),
        ("scipy", sys.executable, repeats[1]),
    ]
    if EVIDENTLY_PYTHON.exists():
        plan.append(("evidently", EVIDENTLY_PYTHON, repeats[2]))
    else:
        progress("no Evidently venv: run `bash benchmarks/setup-peers.sh evidently` to compare")
    for tool, python, count in plan:
        progress(f"{rows:,} rows: {tool}, {count} timed run(s)")
        result = run_worker(python, tool, paths, count)
        result["median_s"] = statistics.median(result["seconds"])
        results[tool] = result
        progress(f"  {result['median_s']:.3f} s, peak {result['peak_mb']:.0f} MB")
    return results


def fmt_s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def markdown(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def memory(result: dict[str, Any] | None) -> str:
    """Peak RSS, and in brackets the peak while reading the data, before the drift computation."""
    return f"{result['peak_mb']:.0f} ({result['loaded_mb']:.0f})" if result else "-"


def render(results: dict[int, dict[str, Any]]) -> str:
    main = [
        [
            "rows",
            "werft",
            "scipy pass",
            "evidently",
            "evidently / werft",
            "target",
            "werft peak MB (data)",
            "evidently peak MB (data)",
            "flagged: werft / scipy / evidently",
            "werft = the 6 shifted",
        ]
    ]
    objects = [["rows", "werft, object strings", "evidently / werft", "peak MB (data)", "flagged"]]
    for size, by_tool in results.items():
        werft, scipy_ = by_tool["werft"], by_tool["scipy"]
        evidently, obj = by_tool.get("evidently"), by_tool["werft-object"]
        target = TARGETS.get(size)
        main.append(
            [
                f"{size:,}",
                fmt_s(werft["median_s"]),
                fmt_s(scipy_["median_s"]),
                fmt_s(evidently["median_s"]) if evidently else "-",
                f"{evidently['median_s'] / werft['median_s']:.0f}x" if evidently else "-",
                f">= {target:.0f}x" if target else "-",
                memory(werft),
                memory(evidently),
                " / ".join(
                    str(len(t["flagged"])) if t else "-" for t in (werft, scipy_, evidently)
                ),
                "yes" if werft["flagged"] == sorted(SHIFTED) else "NO",
            ]
        )
        objects.append(
            [
                f"{size:,}",
                fmt_s(obj["median_s"]),
                f"{evidently['median_s'] / obj['median_s']:.0f}x" if evidently else "-",
                memory(obj),
                "the 6 shifted" if obj["flagged"] == sorted(SHIFTED) else ", ".join(obj["flagged"]),
            ]
        )
    return markdown(main) + "\n\n" + markdown(objects)


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "python": platform.python_version(), "platform": platform.platform()}


def main() -> int:
    parser = argparse.ArgumentParser(description="werft.drift vs Evidently vs SciPy.")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE:,} rows only")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="JSON results file")
    args = parser.parse_args()
    sizes = {QUICK_SIZE: (3, 3, 1)} if args.quick else REPEATS
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="werft-bench-drift-") as tmp:
        for size, repeats in sizes.items():
            results[size] = bench_size(size, Path(tmp), repeats)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), "shifted": SHIFTED, "targets": TARGETS, "results": results}
    args.output.write_text(json.dumps(payload, indent=2, default=str))
    print(render(results))
    print(
        "medians; peak RSS of each tool's process, in brackets its peak while reading the\n"
        "Parquet into pandas (before any drift computation); second table: werft given the\n"
        "string columns as Python objects, as pandas 2 holds them for Evidently.\n"
        f"All runs in {args.output}"
    )
    exact = all(r["werft"]["flagged"] == sorted(SHIFTED) for r in results.values())
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
