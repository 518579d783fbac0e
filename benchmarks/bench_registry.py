#!/usr/bin/env python3
"""werft vs MLflow on this machine: loading a registered model, ONNX vs native predict.

Usage::

    bash benchmarks/setup-peers.sh            # once: MLflow into benchmarks/.venv-mlflow
    python benchmarks/bench_registry.py       # full mode: 50,000 training rows (~6 minutes)
    python benchmarks/bench_registry.py --quick   # smoke run: 5,000 rows, fewer repetitions

One gradient-boosting pipeline (ColumnTransformer + GradientBoostingClassifier) is trained on
a deterministic synthetic churn table, logged and registered by each tool, and aliased
``production``.  Then, in fresh processes:

* werft: ``werft.load_model("models:/churn-gbm@production")`` in local mode, cold (empty
  model cache: download, verify, deserialise) and warm (cache filled: verify, deserialise),
  and the same against a ``werft server`` (remote mode);
* MLflow: ``mlflow.sklearn.load_model("models:/churn-gbm@production")`` against a local
  ``sqlite:///`` store, for the model saved with skops (MLflow 3's default) and with
  cloudpickle.

In this process it then times ``predict`` on 1 row and 1,000 rows with the native model and
with its ONNX form (``prefer_onnx=True``).  One table goes to stdout, progress to stderr, and
every number (with each repetition) to ``benchmarks/results/registry.json``.  Without the
MLflow venv the script says how to create it and still measures werft.

Shared helpers (servers, free ports, medians, environment cleaning) come from
``bench_tracking.py`` next to this file.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_tracking import (
    HERE,
    VENV_PYTHON,
    clean_env,
    cpu_model,
    dig,
    last_json_line,
    progress,
    summary,
    werft_server,
    werft_tree,
)

MLFLOW_WORKER = HERE / "_mlflow_registry_worker.py"
RESULTS_PATH = HERE / "results" / "registry.json"

SEED = 20_240_611
MODEL_NAME = "churn-gbm"
ALIAS = "production"
URI = f"models:/{MODEL_NAME}@{ALIAS}"
CATEGORICAL = ["plan", "region"]
NUMERIC = ["tenure", "monthly_fee", "tickets"]
LABEL = "churn"
PREDICT_ROWS = 1_000

# Runs in a fresh interpreter per measurement; settings come from WERFT_HOME / WERFT_URL.
WERFT_LOAD_CHILD = """\
import json, sys, time
t0 = time.perf_counter()
import werft
t1 = time.perf_counter()
model = werft.load_model(sys.argv[1], prefer_onnx=sys.argv[2] == "onnx")
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "uses_onnx": model.uses_onnx}))
"""


@dataclass(frozen=True)
class Mode:
    """Sizes and repetition counts of one benchmark mode."""

    name: str
    rows: int
    load_rounds: int
    predict_1_repeats: int
    predict_many_repeats: int
    predict_warmup: int


FULL = Mode(
    name="full",
    rows=50_000,
    load_rounds=11,
    predict_1_repeats=200,
    predict_many_repeats=50,
    predict_warmup=20,
)
QUICK = Mode(
    name="quick",
    rows=5_000,
    load_rounds=3,
    predict_1_repeats=50,
    predict_many_repeats=10,
    predict_warmup=5,
)


# --- data and model ------------------------------------------------------------------


def churn_table(rows: int, seed: int = SEED) -> pd.DataFrame:
    """A synthetic churn table: 3 numeric and 2 categorical features and a 0/1 label.

    The label is drawn from a fixed logistic formula (short tenure, high fee, many tickets,
    the basic plan and the south region raise the churn probability), so it is noisy but
    learnable.  The same ``seed`` always gives the same table.
    """
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, rows)
    fee = np.round(np.clip(rng.normal(65.0, 20.0, rows), 10.0, 150.0), 2)
    tickets = rng.poisson(1.2, rows)
    plan = rng.choice(["basic", "standard", "premium", "family"], rows, p=[0.4, 0.3, 0.2, 0.1])
    region = rng.choice(["north", "south", "east", "west", "central"], rows)
    logit = (
        -1.0
        - 0.04 * tenure
        + 0.02 * (fee - 65.0)
        + 0.45 * tickets
        + np.select([plan == "basic", plan == "premium"], [0.6, -0.5], 0.0)
        + np.where(region == "south", 0.3, 0.0)
    )
    label = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame(
        {
            "tenure": tenure,
            "monthly_fee": fee,
            "tickets": tickets,
            "plan": plan,
            "region": region,
            LABEL: label,
        }
    )


def build_pipeline(seed: int = SEED) -> Any:
    """ColumnTransformer (one-hot + scaling) then GradientBoostingClassifier(100, depth 3).

    The same as ``_mlflow_registry_worker.build_pipeline``; keep the two identical.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("num", StandardScaler(), NUMERIC),
        ]
    )
    clf = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed)
    return Pipeline([("prep", prep), ("clf", clf)])


def predict_sample(table: pd.DataFrame) -> pd.DataFrame:
    """The 1,000 feature rows the predict timings and agreement checks use (fixed seed)."""
    features = table.drop(columns=[LABEL])
    count = min(PREDICT_ROWS, len(features))
    return features.sample(n=count, random_state=SEED).reset_index(drop=True)


# --- werft: train, log, register ------------------------------------------------------


def werft_train_and_register(table: pd.DataFrame, home: Path) -> tuple[Any, dict[str, Any]]:
    """Fit the pipeline, ``log_model`` it (with ONNX) into a run, alias the new version."""
    import werft

    features, label = table.drop(columns=[LABEL]), table[LABEL]
    pipe = build_pipeline()
    start = time.perf_counter()
    pipe.fit(features, label)
    fit_s = time.perf_counter() - start
    werft.configure(home=str(home))
    start = time.perf_counter()
    with werft.start_run(project="bench", name="train-gbm"):
        info = werft.log_model(
            pipe,
            name="model",
            input_example=features.head(20),
            register=MODEL_NAME,
            onnx=True,
        )
    assert info.version is not None
    werft.set_alias(MODEL_NAME, ALIAS, version=info.version.version)
    log_s = time.perf_counter() - start
    onnx = info.manifest.onnx
    return pipe, {
        "fit_seconds": fit_s,
        "log_register_seconds": log_s,
        "run_id": info.run_id,
        "version": info.version.version,
        "content_hash": info.manifest.content_hash,
        "files": info.files,
        "onnx": onnx.model_dump(mode="json") if onnx else None,
    }


# --- predict timings (in this process) ------------------------------------------------


PREDICT_BLOCKS = 5
"""Each variant's timed calls are split into this many blocks, run in rotation."""


def time_calls(variants: dict[str, Callable[[], Any]], repeats: int, warmup: int) -> dict[str, Any]:
    """Seconds per call of each variant, after ``warmup`` untimed calls of each.

    The timed calls run in blocks, the variants taking turns block by block, so a burst of
    noise from the shared machine is spread over all of them instead of falling on one.
    Blocks rather than single calls, with a short pause between them: onnxruntime's
    thread pool spin-waits for a while after each run, which on 2 cores would slow down
    whichever variant ran right after it.
    """
    for func in variants.values():
        for _ in range(warmup):
            func()
    gc.collect()
    times: dict[str, list[float]] = {name: [] for name in variants}
    per_block = [len(part) for part in np.array_split(np.arange(repeats), PREDICT_BLOCKS)]
    for block in per_block:
        for name, func in variants.items():
            time.sleep(0.02)
            func()  # one untimed call after the pause
            for _ in range(block):
                start = time.perf_counter()
                func()
                times[name].append(time.perf_counter() - start)
    return {name: summary(values) for name, values in times.items()}


def bare_onnx_sessions(run_id: str, tmp: Path) -> dict[str, Any]:
    """onnxruntime sessions on the package's model.onnx, opened without werft.

    ``default`` uses onnxruntime's defaults (one intra-op thread per core, as werft's
    ``OnnxModel`` does); ``1_thread`` pins it to one thread, to show what the thread pool
    is worth on this machine.
    """
    import onnxruntime

    import werft

    path = werft.download_artifact(run_id, "model/model.onnx", tmp / "bare-model.onnx")
    single = onnxruntime.SessionOptions()
    single.intra_op_num_threads = 1
    single.inter_op_num_threads = 1
    return {
        "default": onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]),
        "1_thread": onnxruntime.InferenceSession(
            str(path), sess_options=single, providers=["CPUExecutionProvider"]
        ),
    }


def bare_feeds(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The [n, 1] inputs the converted model takes, built once, outside the timing."""
    feeds = {c: frame[c].to_numpy(dtype=np.float32).reshape(-1, 1) for c in NUMERIC}
    feeds |= {c: frame[c].to_numpy(dtype=object).reshape(-1, 1) for c in CATEGORICAL}
    return feeds


def bench_predict(
    mode: Mode, pipe: Any, sample: pd.DataFrame, run_id: str, tmp: Path
) -> dict[str, Any]:
    """Native vs ONNX predict through ``werft.load_model``, plus bare references."""
    import werft

    native = werft.load_model(URI)
    onnx = werft.load_model(URI, prefer_onnx=True)
    result: dict[str, Any] = {
        "native_uses_onnx": native.uses_onnx,
        "onnx_uses_onnx": onnx.uses_onnx,
        "onnx_manifest": onnx.manifest.onnx.model_dump(mode="json") if onnx.manifest.onnx else None,
        "onnxruntime_threads": "default (intra-op = cores)",
    }
    if not onnx.uses_onnx:
        progress(f"WARNING: prefer_onnx=True did not give an ONNX model: {onnx.manifest.onnx}")

    # Agreement on the 1,000 rows: ONNX vs native labels and probabilities, and the loaded
    # native model vs the pipeline that was trained in memory.
    native_labels = native.predict(sample)
    onnx_labels = onnx.predict(sample)
    result["agreement"] = {
        "rows": len(sample),
        "onnx_vs_native_labels_pct": 100.0 * float(np.mean(onnx_labels == native_labels)),
        "onnx_vs_native_max_proba_diff": float(
            np.max(np.abs(onnx.predict_proba(sample) - native.predict_proba(sample)))
        ),
        "loaded_native_equals_trained": bool(np.array_equal(native_labels, pipe.predict(sample))),
    }
    result["labels"] = {"native": native_labels.tolist(), "onnx": onnx_labels.tolist()}

    sessions = bare_onnx_sessions(run_id, tmp) if onnx.uses_onnx else {}
    one, many = sample.iloc[[0]], sample
    cases: list[tuple[str, pd.DataFrame, int]] = [
        ("1_row", one, mode.predict_1_repeats),
        (f"{len(many)}_rows", many, mode.predict_many_repeats),
    ]
    timings: dict[str, Any] = {}
    for label, frame, repeats in cases:
        progress(f"predict {label}: {repeats} timed calls per variant, in rotating blocks")
        feeds = bare_feeds(frame)
        variants: dict[str, Callable[[], Any]] = {
            "werft_native": partial(native.predict, frame),
            "werft_onnx": partial(onnx.predict, frame),
            "bare_pipeline": partial(pipe.predict, frame),
        }
        if sessions:
            variants["bare_onnxruntime"] = partial(sessions["default"].run, None, feeds)
            variants["bare_onnxruntime_1_thread"] = partial(sessions["1_thread"].run, None, feeds)
        timings[label] = time_calls(variants, repeats, mode.predict_warmup)
    result["timings"] = timings
    return result


# --- load timings (fresh processes) ---------------------------------------------------


def werft_load_once(env: dict[str, str], engine: str, cwd: Path) -> dict[str, Any]:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", WERFT_LOAD_CHILD, URI, engine],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    process_s = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"werft load failed ({completed.returncode}):\n{completed.stderr}")
    result: dict[str, Any] = last_json_line(completed.stdout)
    result["process_s"] = process_s
    if completed.stderr.strip():
        result["stderr"] = completed.stderr[-2000:]
    return result


def mlflow_load_once(uri: str, store: Path, cwd: Path) -> dict[str, Any]:
    db = f"sqlite:///{store / 'mlflow.db'}"
    start = time.perf_counter()
    completed = subprocess.run(
        [str(VENV_PYTHON), str(MLFLOW_WORKER), "load", "--uri", uri],
        env=clean_env(MLFLOW_TRACKING_URI=db, MLFLOW_REGISTRY_URI=db),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    process_s = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(
            f"MLflow load failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    result: dict[str, Any] = last_json_line(completed.stdout)
    result["process_s"] = process_s
    return result


def mlflow_train(table: pd.DataFrame, sample: pd.DataFrame, store: Path) -> dict[str, Any]:
    """Train, log, register and alias the MLflow copies (skops and cloudpickle) in the venv."""
    store.mkdir()
    data, sample_path = store / "train.parquet", store / "sample.parquet"
    table.to_parquet(data, index=False)
    sample.to_parquet(sample_path, index=False)
    db = f"sqlite:///{store / 'mlflow.db'}"
    completed = subprocess.run(
        [
            str(VENV_PYTHON),
            str(MLFLOW_WORKER),
            "train",
            "--data",
            str(data),
            "--sample",
            str(sample_path),
            "--artifacts",
            str(store / "artifacts"),
            "--name",
            MODEL_NAME,
            "--seed",
            str(SEED),
        ],
        env=clean_env(MLFLOW_TRACKING_URI=db, MLFLOW_REGISTRY_URI=db),
        cwd=store,
        capture_output=True,
        text=True,
        timeout=1_800,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"MLflow train failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    result: dict[str, Any] = last_json_line(completed.stdout)
    return result


@dataclass
class LoadCase:
    """One kind of fresh-process load, measured once per round."""

    key: str
    run: Callable[[], dict[str, Any]]
    before: Callable[[], None] | None = None


def clear_cache(home: Path) -> Callable[[], None]:
    def clear() -> None:
        shutil.rmtree(home / "cache" / "models", ignore_errors=True)

    return clear


def load_cases(
    home: Path,
    client_home: Path,
    server_url: str | None,
    *,
    mlflow: dict[str, Any] | None,
    mlflow_store: Path,
    cwd: Path,
) -> list[LoadCase]:
    """Every load to time, in the order one round runs them."""
    local_env = clean_env(WERFT_HOME=str(home))
    cases = [
        LoadCase("werft_local_cold", lambda: werft_load_once(local_env, "native", cwd)),
        LoadCase("werft_local_warm", lambda: werft_load_once(local_env, "native", cwd)),
        LoadCase("werft_local_warm_onnx", lambda: werft_load_once(local_env, "onnx", cwd)),
    ]
    cases[0].before = clear_cache(home)
    if server_url:
        remote_env = clean_env(WERFT_HOME=str(client_home), WERFT_URL=server_url)
        cases += [
            LoadCase(
                "werft_remote_cold",
                lambda: werft_load_once(remote_env, "native", cwd),
                before=clear_cache(client_home),
            ),
            LoadCase("werft_remote_warm", lambda: werft_load_once(remote_env, "native", cwd)),
        ]
    if mlflow:
        for fmt in ("skops", "cloudpickle"):
            uri = mlflow["models"][fmt]["uri"]
            cases.append(
                LoadCase(
                    f"mlflow_{fmt}",
                    partial(mlflow_load_once, uri, mlflow_store, cwd),
                )
            )
    return cases


def bench_loads(mode: Mode, cases: Sequence[LoadCase]) -> dict[str, Any]:
    """One untimed warm-up round, then ``mode.load_rounds`` rounds of every case, interleaved.

    Interleaving spreads the machine's noise evenly over the tools instead of letting a slow
    minute fall on one of them.
    """
    raw: dict[str, list[dict[str, Any]]] = {case.key: [] for case in cases}
    warmup: dict[str, dict[str, Any]] = {}
    for round_ in range(mode.load_rounds + 1):
        label = "warm-up round (not counted)" if round_ == 0 else f"round {round_}"
        progress(f"loads, {label}/{mode.load_rounds}: {', '.join(c.key for c in cases)}")
        for case in cases:
            if case.before is not None:
                case.before()
            outcome = case.run()
            if round_ == 0:
                warmup[case.key] = outcome
            else:
                raw[case.key].append(outcome)
    result: dict[str, Any] = {"warmup_round": warmup}
    for key, outcomes in raw.items():
        result[key] = {
            "load_s": summary([o["load_s"] for o in outcomes]),
            "import_plus_load_s": summary([o["import_s"] + o["load_s"] for o in outcomes]),
            "import_s": summary([o["import_s"] for o in outcomes]),
            "process_s": summary([o["process_s"] for o in outcomes]),
            "runs": outcomes,
        }
    return result


# --- report --------------------------------------------------------------------------


def fmt_t(value: float | None) -> str:
    """A duration with a unit that keeps 3 significant digits readable."""
    if value is None:
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:,.0f} us"
    if value < 1:
        return f"{value * 1e3:,.2f} ms" if value < 0.1 else f"{value * 1e3:,.1f} ms"
    return f"{value:,.2f} s"


def fmt_speed(werft_s: float | None, baseline_s: float | None) -> str:
    """``N.Nx faster`` / ``N.Nx slower`` for werft against the baseline."""
    if not werft_s or not baseline_s:
        return "-"
    ratio = baseline_s / werft_s
    return f"{ratio:,.2f}x faster" if ratio >= 1 else f"{1 / ratio:,.2f}x slower"


HEADER = ["measure", "werft", "baseline", "werft is", "min: werft / baseline"]


def compare(label: str, werft: Any, baseline: Any) -> list[str]:
    """One table row from two ``summary`` dicts (either may be None): medians, ratio, minima."""

    def stat(part: Any, key: str) -> float | None:
        return part.get(key) if isinstance(part, dict) else None

    w_med, b_med = stat(werft, "median"), stat(baseline, "median")
    w_min, b_min = stat(werft, "min"), stat(baseline, "min")
    mins = "-" if w_min is None and b_min is None else f"{fmt_t(w_min)} / {fmt_t(b_min)}"
    return [label, fmt_t(w_med), fmt_t(b_med), fmt_speed(w_med, b_med), mins]


def build_rows(results: dict[str, Any]) -> list[list[str]]:
    """Table rows: measure, werft, baseline, werft against the baseline, the two minima."""
    r = results
    rounds = dig(r, "meta", "sizes", "load_rounds")

    def load(key: str, field: str = "load_s") -> Any:
        return dig(r, "load", key, field)

    def pred(case: str, name: str) -> Any:
        return dig(r, "predict", "timings", case, name)

    m_skops, m_pickle = load("mlflow_skops"), load("mlflow_cloudpickle")
    rows = [
        compare(
            f"load call, cold (empty cache) vs MLflow skops; median of {rounds}",
            load("werft_local_cold"),
            m_skops,
        ),
        compare(
            "load call, warm (cache filled) vs MLflow skops", load("werft_local_warm"), m_skops
        ),
        compare("load call, warm vs MLflow cloudpickle", load("werft_local_warm"), m_pickle),
        compare(
            "import + load, cold vs MLflow skops",
            load("werft_local_cold", "import_plus_load_s"),
            load("mlflow_skops", "import_plus_load_s"),
        ),
        compare(
            "import + load, warm vs MLflow cloudpickle",
            load("werft_local_warm", "import_plus_load_s"),
            load("mlflow_cloudpickle", "import_plus_load_s"),
        ),
        compare(
            "load call, warm, prefer_onnx=True vs native warm",
            load("werft_local_warm_onnx"),
            load("werft_local_warm"),
        ),
    ]
    if dig(r, "load", "werft_remote_cold"):
        rows += [
            compare(
                "load call, remote (werft server), cold vs MLflow skops",
                load("werft_remote_cold"),
                m_skops,
            ),
            compare(
                "load call, remote (werft server), warm vs MLflow skops",
                load("werft_remote_warm"),
                m_skops,
            ),
        ]
    one_n = dig(r, "predict", "timings", "1_row", "werft_onnx", "n")
    many_key = next((k for k in dig(r, "predict", "timings") or {} if k != "1_row"), "")
    many_n = dig(r, "predict", "timings", many_key, "werft_onnx", "n")
    many = f"{int(many_key.replace('_rows', '') or 0):,} rows"
    rows += [
        compare(
            f"predict 1 row: ONNX vs native (werft); median of {one_n}",
            pred("1_row", "werft_onnx"),
            pred("1_row", "werft_native"),
        ),
        compare(
            f"predict {many}: ONNX vs native (werft); median of {many_n}",
            pred(many_key, "werft_onnx"),
            pred(many_key, "werft_native"),
        ),
        compare(
            "predict 1 row: bare onnxruntime vs bare pipe.predict",
            pred("1_row", "bare_onnxruntime"),
            pred("1_row", "bare_pipeline"),
        ),
        compare(
            f"predict {many}: bare onnxruntime vs bare pipe.predict",
            pred(many_key, "bare_onnxruntime"),
            pred(many_key, "bare_pipeline"),
        ),
        compare(
            f"predict {many}: bare onnxruntime, 1 thread vs bare pipe.predict",
            pred(many_key, "bare_onnxruntime_1_thread"),
            pred(many_key, "bare_pipeline"),
        ),
    ]
    agreement = dig(r, "predict", "agreement") or {}
    cross = dig(r, "mlflow", "labels_equal_werft_native")
    rows += [
        [
            f"ONNX = native labels on {agreement.get('rows', 0):,} rows (max proba diff)",
            f"{agreement.get('onnx_vs_native_labels_pct', 0):.1f}%",
            f"({agreement.get('onnx_vs_native_max_proba_diff', float('nan')):.1e})",
            "-",
            "-",
        ],
        [
            "MLflow's model = werft's model (same labels on those rows)",
            "-",
            "-" if cross is None else ("yes" if cross else "NO"),
            "-",
            "-",
        ],
    ]
    return rows


def render_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    import sqlite3
    from importlib import metadata

    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }
    packages = ["werft", "scikit-learn", "skops", "skl2onnx", "onnx", "onnxruntime"]
    packages += ["numpy", "pandas", "pyarrow", "sqlalchemy", "httpx", "uvicorn"]
    for package in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            info[package] = metadata.version(package)
    return info


# --- main ----------------------------------------------------------------------------


PEER_ERRORS = (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError)


def run(mode: Mode, tmp: Path, use_server: bool) -> dict[str, Any]:
    import werft

    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": mode.name,
            "sizes": asdict(mode),
            "machine": machine_info(),
            "werft_tree": werft_tree(),
            "seed": SEED,
            "uri": URI,
        },
        "notes": [],
    }
    have_mlflow = VENV_PYTHON.exists()
    if not have_mlflow:
        note = (
            f"MLflow is not set up ({VENV_PYTHON} missing): run `bash benchmarks/setup-peers.sh`, "
            "then this script again, to compare with MLflow; werft was measured alone"
        )
        progress(note)
        results["notes"].append(note)

    table = churn_table(mode.rows)
    sample = predict_sample(table)
    results["data"] = {
        "rows": len(table),
        "churn_rate": float(table[LABEL].mean()),
        "predict_rows": len(sample),
    }
    home, client_home = tmp / "werft-home", tmp / "werft-client"
    progress(f"werft: fit on {len(table):,} rows, log_model(onnx=True), register, alias")
    pipe, results["werft"] = werft_train_and_register(table, home)
    progress(
        f"werft: fit {results['werft']['fit_seconds']:.1f} s, "
        f"log+register {results['werft']['log_register_seconds']:.1f} s, "
        f"onnx converted={dig(results, 'werft', 'onnx', 'converted')}"
    )

    mlflow_store = tmp / "mlflow"
    mlflow: dict[str, Any] | None = None
    if have_mlflow:
        progress("mlflow: fit, log_model (skops and cloudpickle), register, alias (in its venv)")
        try:
            mlflow = mlflow_train(table, sample, mlflow_store)
        except PEER_ERRORS as exc:
            note = f"MLflow training failed, left out: {exc.__class__.__name__}: {str(exc)[:2000]}"
            progress(note)
            results["notes"].append(note)
        if mlflow:
            results["meta"]["machine"]["mlflow"] = mlflow["versions"]["mlflow"]
            results["meta"]["mlflow_venv"] = mlflow["versions"]
            results["mlflow"] = mlflow

    progress("predict timings in this process")
    results["predict"] = bench_predict(mode, pipe, sample, results["werft"]["run_id"], tmp)
    if mlflow:
        werft_labels = results["predict"]["labels"]["native"]
        mlflow["labels_equal_werft_native"] = mlflow["sample_labels"] == werft_labels
        mlflow["max_proba_diff_vs_werft"] = float(
            np.max(np.abs(np.asarray(mlflow["sample_proba"]) - pipe.predict_proba(sample)[:, 1]))
        )
    werft.configure(home=str(tmp / "unused-home"))  # closes this process's SQLite engine

    logs = tmp / "logs"
    logs.mkdir()
    with contextlib.ExitStack() as stack:
        server_url = None
        if use_server:
            server = stack.enter_context(werft_server("werft server (registry)", home, logs))
            server_url = server.url
        cases = load_cases(
            home, client_home, server_url, mlflow=mlflow, mlflow_store=mlflow_store, cwd=tmp
        )
        results["load"] = bench_loads(mode, cases)
    return results


def checks_passed(results: dict[str, Any]) -> bool:
    """ONNX was used, the loaded model is the trained one, and every load gave the engine asked."""
    ok = bool(dig(results, "predict", "onnx_uses_onnx"))
    ok &= not dig(results, "predict", "native_uses_onnx")
    ok &= bool(dig(results, "predict", "agreement", "loaded_native_equals_trained"))
    for key, part in (dig(results, "load") or {}).items():
        if key.startswith("werft_") and isinstance(part, dict) and "runs" in part:
            ok &= all(run["uses_onnx"] == key.endswith("_onnx") for run in part["runs"])
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description="werft vs MLflow: model registry benchmarks.")
    parser.add_argument("--quick", action="store_true", help="5,000 rows, few repetitions")
    parser.add_argument(
        "--no-server", action="store_true", help="skip the werft server (remote mode) rows"
    )
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="JSON results file")
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    for key in [k for k in os.environ if k.startswith("WERFT_")]:
        progress(f"ignoring {key} from the environment")
        del os.environ[key]

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="werft-bench-reg-", ignore_cleanup_errors=True) as tmp:
        try:
            results = run(mode, Path(tmp), use_server=not args.no_server)
        finally:
            import werft

            werft.configure(home=str(Path(tmp) / "unused-home"))  # close before rmtree
    results["meta"]["total_seconds"] = time.perf_counter() - started
    results["checks_passed"] = checks_passed(results)
    rows = build_rows(results)
    results["table"] = [dict(zip(HEADER, row, strict=True)) for row in rows]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")

    meta = results["meta"]["machine"]
    tree = results["meta"]["werft_tree"]
    venv = results["meta"].get("mlflow_venv", {})
    dirty = " + uncommitted src changes" if tree["src_dirty"] else ""
    print(
        f"\nwerft {meta.get('werft')} ({tree['commit']}{dirty}) vs "
        f"MLflow {meta.get('mlflow', '(not installed)')} - {mode.name} mode, "
        f"{results['data']['rows']:,} training rows - {results['meta']['date']} - "
        f"{meta['nproc']} x {meta['cpu_model']}, Python {meta['python']}, "
        f"scikit-learn {meta.get('scikit-learn')} (MLflow venv {venv.get('scikit-learn', '-')}), "
        f"skops {meta.get('skops')} (venv {venv.get('skops', '-')}), "
        f"onnxruntime {meta.get('onnxruntime')}, skl2onnx {meta.get('skl2onnx')}"
    )
    print(render_table(rows))
    for note in results["notes"]:
        print(f"NOTE: {note}")
    if not results["checks_passed"]:
        print("CHECK FAILED: see 'predict' and 'load' in the JSON")
    print(
        "medians; load rows: fresh processes, the load call timed inside them, one warm-up "
        "round then the rounds interleaved across tools; predict: after warm-up, variants in "
        f"{PREDICT_BLOCKS} rotating blocks; ratios on medians. All values in {args.output}"
    )
    return 0 if results["checks_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
