"""The prediction log: WAL appends, rolling into Parquet segments, crash recovery."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from werft.errors import ConflictError, InvalidInputError
from werft.monitoring.histograms import FeatureSpec, reference_spec
from werft.serving.predlog import PredictionLog, PredictionRecord, SegmentInfo
from werft.serving.segments import PROBA_SPEC
from werft.store.artifacts import ArtifactStore
from werft.tracking.datasets import profile_frame

DEPLOYMENT = "churn"
T0 = 1_700_000_000_000


def _record(i: int, **changes: Any) -> PredictionRecord:
    fields: dict[str, Any] = {
        "request_id": f"req-{i:05d}",
        "time_ms": T0 + i,
        "model": "churn",
        "version": 1,
        "variant": "primary",
        "inputs": {"age": 20 + i % 50, "city": ["Bern", "Zug"][i % 2]},
        "prediction": ["no", "yes"][i % 2],
        "probabilities": {"no": 0.75, "yes": 0.25} if i % 2 == 0 else {"no": 0.2, "yes": 0.8},
    }
    return PredictionRecord(**(fields | changes))


class Harness:
    """A real local artifact store and the segments ``on_segment`` received."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spool = root / "spool"
        self.store = ArtifactStore(str(root / "artifacts"))
        self.segments: list[SegmentInfo] = []
        self.shipped = threading.Event()
        self.failures = 0  # on_segment raises this many more times

    def on_segment(self, info: SegmentInfo) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("metadata database unreachable")
        self.segments.append(info)
        self.shipped.set()

    def log(self, **options: Any) -> PredictionLog:
        return PredictionLog(
            DEPLOYMENT, self.spool, self.store, on_segment=self.on_segment, **options
        )

    def table(self, info: SegmentInfo) -> pa.Table:
        path = self.root / "downloads" / info.segment_id
        self.store.get_file(info.digest, path)
        return pq.read_table(path)

    def request_ids(self) -> list[str]:
        return [rid for info in self.segments for rid in self.table(info)["request_id"].to_pylist()]

    def wal_files(self) -> list[Path]:
        return sorted((self.spool / DEPLOYMENT).glob("*.wal"))

    def wait_for_segments(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.segments) < count:
            assert self.shipped.wait(max(0.0, deadline - time.monotonic())), "no segment shipped"
            self.shipped.clear()


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


@pytest.fixture
def closing() -> Iterator[Callable[[PredictionLog], PredictionLog]]:
    """Close every log a test opened, also when it fails."""
    logs: list[PredictionLog] = []

    def track(log: PredictionLog) -> PredictionLog:
        logs.append(log)
        return log

    yield track
    for log in logs:
        log.close()


# --- append and roll ------------------------------------------------------------------


def test_roll_ships_every_record_as_parquet(harness: Harness) -> None:
    log = harness.log()
    records = [_record(i) for i in range(6)]
    records[4] = _record(4, model="churn-b", version=3, variant="canary", inputs={"age": 30.5})
    records[5] = _record(5, version=2, variant="shadow", prediction="no", probabilities=None)
    log.append(records[:2])
    log.append(records[2:])
    assert log.pending_rows == 6

    info = log.roll()

    assert info is not None and harness.segments == [info]
    assert (info.deployment, info.rows, info.start_ms, info.end_ms) == (DEPLOYMENT, 6, T0, T0 + 5)
    assert (info.request_id_min, info.request_id_max) == ("req-00000", "req-00005")
    assert info.models == {"churn": [1, 2], "churn-b": [3]}
    table = harness.table(info)
    assert table.column_names == [
        "request_id", "time", "model", "version", "variant", "prediction",
        "proba:no", "proba:yes", "in:age", "in:city",
    ]  # fmt: skip
    assert table.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    assert table["request_id"].to_pylist() == [r.request_id for r in records]
    assert table["variant"].to_pylist()[4:] == ["canary", "shadow"]
    assert table["in:age"].to_pylist() == [20.0, 21.0, 22.0, 23.0, 30.5, 25.0]
    assert table["in:city"].to_pylist() == ["Bern", "Zug", "Bern", "Zug", None, "Zug"]
    assert table["proba:yes"].to_pylist() == [0.25, 0.8, 0.25, 0.8, 0.25, None]
    assert table["time"][0].as_py().timestamp() * 1000 == T0
    assert log.pending_rows == 0 and harness.wal_files() == []
    assert log.roll() is None  # nothing new


def test_histograms_count_the_served_rows(harness: Harness) -> None:
    log = harness.log()
    log.append([_record(i) for i in range(9)] + [_record(9, variant="shadow")])
    info = log.roll()

    assert info is not None
    assert set(info.histograms) == {"in:age", "in:city", "prediction", "proba:no", "proba:yes"}
    for name, hist in info.histograms.items():
        assert hist.name == name
        assert hist.total == hist.nulls + sum(hist.counts) == 9  # the shadow row is left out
    prediction = info.histograms["prediction"]
    assert (prediction.categories, prediction.counts) == (["no", "yes"], [5, 4, 0])
    assert info.histograms["proba:yes"].edges == PROBA_SPEC.edges
    assert info.histograms["proba:yes"].counts == [0, 0, 0, 5, 0, 0, 0, 0, 0, 4, 0, 0]
    assert SegmentInfo.model_validate_json(info.model_dump_json()) == info


def test_histograms_use_the_reference_bins(harness: Harness) -> None:
    training = pd.DataFrame({"age": np.arange(20, 70), "city": ["Bern"] * 40 + ["Basel"] * 10})
    reference = reference_spec(profile_frame(training).model_dump(mode="json"))
    log = harness.log()
    log.reference = reference  # as the server does once it knows the model's training data
    log.append([_record(i, inputs={"age": 15 + i}) for i in range(10)])
    info = log.roll()

    assert info is not None
    age, city = info.histograms["in:age"], info.histograms["in:city"]
    assert age.edges == reference["age"].edges
    assert (age.counts[0], sum(age.counts[1:])) == (5, 5)  # 15..19 are below the training range
    assert (city.categories, city.nulls) == (["Bern", "Basel"], 10)  # never sent: all null


def test_regression_outputs_get_bins_of_their_own(harness: Harness) -> None:
    log = harness.log()
    log.append([_record(i, prediction=float(i), probabilities=None) for i in range(11)])
    info = log.roll()

    assert info is not None
    prediction = info.histograms["prediction"]
    assert (prediction.kind, prediction.edges) == ("numeric", [float(i) for i in range(11)])
    assert prediction.counts == [0] + [1] * 9 + [2, 0]


def test_mixed_and_nested_inputs_do_not_stop_a_roll(harness: Harness) -> None:
    log = harness.log()
    log.append(
        [
            _record(0, inputs={"x": 1, "tags": ["a"], "flag": True}, prediction={}),
            _record(1, inputs={"x": "one", "tags": ["b", "c"], "flag": 2, "meta": {"k": 1}}),
            _record(2, inputs={"x": np.float64(2.5)}, prediction=np.int64(1)),
        ]
    )
    info = log.roll()

    assert info is not None
    table = harness.table(info)
    assert table["in:x"].to_pylist() == ["1", "one", "2.5"]  # JSON text once types mix
    assert table["in:tags"].to_pylist() == [["a"], ["b", "c"], None]  # lists of scalars stay
    assert table["in:meta"].to_pylist() == [None, '{"k":1}', None]  # objects become JSON
    assert table["prediction"].to_pylist() == ["{}", "yes", "1"]
    assert "in:tags" not in info.histograms  # lists are stored, not binned


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(), st.text(max_size=4)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=5,
)
_records = st.builds(
    PredictionRecord,
    request_id=st.text(max_size=8),
    time_ms=st.integers(0, 2**50),
    model=st.sampled_from(["a", "b"]),
    version=st.integers(1, 3),
    variant=st.sampled_from(["primary", "canary", "shadow"]),
    inputs=st.dictionaries(st.sampled_from(["age", "city", "x"]), _values, max_size=3),
    prediction=_values,
    probabilities=st.none()
    | st.dictionaries(st.sampled_from(["no", "yes"]), st.floats() | st.integers(0, 1)),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(_records, min_size=1, max_size=5))
def test_any_json_records_roll_into_a_segment(
    harness: Harness, records: list[PredictionRecord]
) -> None:
    reference = {
        "age": FeatureSpec(kind="numeric", edges=[0.0, 50.0, 100.0]),
        "city": FeatureSpec(kind="categorical", categories=["Bern"]),
    }
    log = harness.log(reference=reference)
    log.append(records)

    info = log.roll()

    assert info is not None and info.rows == len(records)
    assert harness.table(info)["request_id"].to_pylist() == [r.request_id for r in records]
    for hist in info.histograms.values():
        assert hist.total == sum(r.variant != "shadow" for r in records)


def test_fsync_mode_logs_the_same(harness: Harness) -> None:
    log = harness.log(fsync=True)
    log.append([_record(1), _record(2)])
    info = log.roll()
    assert info is not None and harness.request_ids() == ["req-00001", "req-00002"]


def test_pending_ids_are_the_unshipped_ones(harness: Harness) -> None:
    log = harness.log()
    log.append([_record(1), _record(2)])
    assert log.pending_ids(["req-00002", "nope", "req-00001"]) == ["req-00002", "req-00001"]
    log.roll()
    assert log.pending_ids(["req-00001"]) == []


def test_invalid_records_are_rejected_before_anything_is_written(harness: Harness) -> None:
    log = harness.log()
    with pytest.raises(InvalidInputError, match="variant 'blue'"):
        _record(1, variant="blue")
    with pytest.raises(InvalidInputError, match="wrong type"):
        _record(1, version="3")
    with pytest.raises(InvalidInputError, match="not JSON-compatible"):
        log.append([_record(1), _record(2, inputs={"x": object()})])
    assert log.pending_rows == 0 and log.roll() is None


def test_a_closed_log_refuses_appends(harness: Harness) -> None:
    log = harness.log()
    log.append([_record(1)])
    log.close()
    assert [s.rows for s in harness.segments] == [1]
    with pytest.raises(ConflictError, match="closed"):
        log.append([_record(2)])
    log.close()  # twice is fine


# --- rolling in the background --------------------------------------------------------


@pytest.mark.parametrize(
    "options", [{"roll_rows": 10}, {"roll_bytes": 2000}], ids=["rows", "bytes"]
)
def test_background_roll_by_size(
    harness: Harness, closing: Callable[[PredictionLog], PredictionLog], options: dict[str, Any]
) -> None:
    log = closing(harness.log(**options))
    log.start()
    log.append([_record(i) for i in range(9)])
    log.append([_record(i) for i in range(9, 20)])
    harness.wait_for_segments(1)
    assert harness.segments[0].rows == 20


def test_background_roll_by_age(
    harness: Harness, closing: Callable[[PredictionLog], PredictionLog]
) -> None:
    log = closing(harness.log(roll_seconds=0.2))
    log.start()
    started = time.monotonic()
    log.append([_record(1)])
    harness.wait_for_segments(1)
    assert time.monotonic() - started >= 0.2
    log.append([_record(2)])  # a new WAL, a new timer
    harness.wait_for_segments(2)
    assert [s.rows for s in harness.segments] == [1, 1]


# --- never losing a record ------------------------------------------------------------


def test_failed_recording_keeps_the_wal_for_the_next_roll(harness: Harness) -> None:
    log = harness.log()
    log.append([_record(i) for i in range(3)])
    harness.failures = 1
    with pytest.raises(ConnectionError):
        log.roll()
    assert len(harness.wal_files()) == 1 and log.pending_rows == 3

    log.append([_record(i) for i in range(3, 5)])
    newest = log.roll()

    assert [s.rows for s in harness.segments] == [3, 2]  # the old WAL first, each once
    assert newest == harness.segments[-1]
    assert sorted(harness.request_ids()) == [f"req-{i:05d}" for i in range(5)]
    assert harness.wal_files() == [] and log.pending_rows == 0


def test_close_leaves_unrecorded_wals_for_recover(harness: Harness) -> None:
    log = harness.log()
    log.append([_record(1)])
    harness.failures = 1
    with pytest.raises(ConnectionError):
        log.close()
    assert len(harness.wal_files()) == 1

    shipped = harness.log().recover()

    assert [s.rows for s in shipped] == [1] and harness.wal_files() == []


def test_a_retried_segment_keeps_its_id_and_digest(harness: Harness) -> None:
    attempts: list[SegmentInfo] = []

    def fail_once(info: SegmentInfo) -> None:
        attempts.append(info)
        if len(attempts) == 1:
            raise ConnectionError("database unreachable")

    log = PredictionLog(DEPLOYMENT, harness.spool, harness.store, on_segment=fail_once)
    log.append([_record(i) for i in range(4)])
    with pytest.raises(ConnectionError):
        log.roll()
    log.roll()

    first, second = attempts
    assert (first.segment_id, first.digest) == (second.segment_id, second.digest)


def test_recover_skips_a_wal_held_by_a_live_log(
    harness: Harness, closing: Callable[[PredictionLog], PredictionLog]
) -> None:
    live = closing(harness.log())
    live.append([_record(1)])

    assert harness.log().recover() == []
    assert len(harness.wal_files()) == 1
    live.append([_record(2)])  # still its own file
    assert live.roll() is not None and harness.request_ids() == ["req-00001", "req-00002"]


def test_recover_drops_an_unfinished_last_line(harness: Harness) -> None:
    wal = harness.spool / DEPLOYMENT / "4242-0123456789abcdef.wal"
    wal.parent.mkdir(parents=True)
    complete = json.dumps(dataclasses.asdict(_record(1)))
    wal.write_text(complete + "\n" + '{"request_id": "req-00002", "ti')

    shipped = harness.log().recover()

    assert [(s.segment_id, s.rows) for s in shipped] == [("4242-0123456789abcdef", 1)]
    assert harness.request_ids() == ["req-00001"] and harness.wal_files() == []


_CHILD = """
import sys
from pathlib import Path
from werft.serving.predlog import PredictionLog, PredictionRecord
from werft.store.artifacts import ArtifactStore

root = Path(sys.argv[1])
log = PredictionLog("churn", root / "spool", ArtifactStore(str(root / "artifacts")),
                    on_segment=lambda info: None)
for i in range(1_000_000):
    rid = f"req-{i:07d}"
    log.append([PredictionRecord(request_id=rid, time_ms=i, model="churn", version=1,
                                 variant="primary", inputs={"x": i, "pad": "x" * 500},
                                 prediction="yes", probabilities=None)])
    print("acked", rid, flush=True)
"""


def test_acked_predictions_survive_kill_9(harness: Harness) -> None:
    command = [sys.executable, "-c", _CHILD, str(harness.root)]
    acked: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        try:
            for line in child.stdout:
                acked.append(line.split()[1])
                if len(acked) == 300:
                    os.kill(child.pid, signal.SIGKILL)  # mid-stream: it appends until now
                    break
            acked += [line.split()[1] for line in child.stdout if line.startswith("acked ")]
        finally:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    shipped = harness.log().recover()

    assert len(shipped) == 1 and harness.wal_files() == []
    logged = harness.request_ids()
    assert set(acked) <= set(logged)
    assert len(logged) == len(set(logged)) and len(logged) - len(acked) <= 1  # the last one


def test_concurrent_appends_lose_and_duplicate_nothing(
    harness: Harness, closing: Callable[[PredictionLog], PredictionLog]
) -> None:
    log = closing(harness.log(roll_rows=1500))
    log.start()

    def worker(thread: int) -> None:
        for start in range(0, 2500, 5):
            log.append([_record(thread * 10_000 + start + i) for i in range(5)])

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()

    logged = harness.request_ids()
    assert len(logged) == len(set(logged)) == 10_000
    assert sum(s.rows for s in harness.segments) == 10_000 and len(harness.segments) > 1
