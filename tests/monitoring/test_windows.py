"""Reading a window's rows from real prediction-log segments in a local artifact store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from werft.deploy.entities import Segment
from werft.monitoring.windows import read_window
from werft.serving.predlog import PredictionLog, PredictionRecord, SegmentInfo
from werft.store.artifacts import ArtifactStore

T0 = 1_700_000_000_000


def _record(i: int, **changes: Any) -> PredictionRecord:
    fields: dict[str, Any] = {
        "request_id": f"req-{i:05d}",
        "time_ms": T0 + 1000 * i,
        "model": "churn",
        "version": 1,
        "variant": "primary",
        "inputs": {"age": 20 + i, "city": ["Bern", "Zug"][i % 2]},
        "prediction": ["no", "yes"][i % 2],
        "probabilities": {"no": 0.7, "yes": 0.3} if i % 2 == 0 else {"no": 0.2, "yes": 0.8},
    }
    return PredictionRecord(**(fields | changes))


class Segments:
    """Segments shipped by a real PredictionLog, and a fetch that counts downloads."""

    def __init__(self, root: Path) -> None:
        self.store = ArtifactStore(str(root / "artifacts"))
        self.cache = root / "cache"
        self.infos: list[SegmentInfo] = []
        self.fetched: list[str] = []
        self.log = PredictionLog("churn", root / "spool", self.store, on_segment=self.infos.append)

    def ship(self, records: list[PredictionRecord]) -> None:
        self.log.append(records)
        assert self.log.roll() is not None

    @property
    def segments(self) -> list[Segment]:
        return [
            Segment(id=i.segment_id, **i.model_dump(exclude={"deployment", "segment_id"}))
            for i in self.infos
        ]

    def fetch(self, digest: str) -> Path:
        self.fetched.append(digest)
        path = self.cache / digest.replace(":", "-")
        if not path.exists():
            self.store.get_file(digest, path)
        return path


@pytest.fixture
def shipped(tmp_path: Path) -> Segments:
    segments = Segments(tmp_path)
    segments.ship([_record(i) for i in range(10)])  # T0 .. T0 + 9 s
    later = [_record(i, inputs={"age": f"{20 + i}y", "plan": "pro"}) for i in range(10, 20)]
    segments.ship(later)  # T0 + 10 s .. 19 s; age is text now, a new input
    segments.ship([_record(i) for i in range(30, 40)])  # T0 + 30 s .. 39 s
    return segments


def test_only_the_window_rows_of_overlapping_segments(shipped: Segments) -> None:
    table = read_window(
        shipped.segments, shipped.fetch, T0 + 5_000, T0 + 15_000, ["request_id", "time"]
    )
    assert table.column_names == ["request_id", "time"]
    assert table["request_id"].to_pylist() == [f"req-{i:05d}" for i in range(5, 15)]  # end: out
    assert len(shipped.fetched) == 2  # the third segment was never downloaded


def test_columns_by_name_and_prefix_across_differing_segments(shipped: Segments) -> None:
    table = read_window(
        shipped.segments, shipped.fetch, T0, T0 + 40_000, ["request_id", "proba:", "in:", "nope"]
    )
    probas, inputs = ["proba:no", "proba:yes"], ["in:age", "in:city", "in:plan"]
    assert table.column_names == ["request_id", *probas, *inputs]  # "nope": no segment has it
    assert table.num_rows == 30
    ages = table["in:age"].to_pylist()
    assert ages[:2] == ["20", "21"] and ages[10] == "30y"  # numbers and text: text
    assert table["in:plan"].to_pylist()[:10] == [None] * 10  # absent from the first segment
    assert table["in:plan"].to_pylist()[10:20] == ["pro"] * 10
    assert table["proba:yes"].type == pa.float64()


def test_every_column_by_default_and_time_only_for_filtering(shipped: Segments) -> None:
    everything = read_window(shipped.segments, shipped.fetch, T0 + 30_000, T0 + 31_000)
    assert everything.num_rows == 1 and "variant" in everything.column_names
    assert everything["time"][0].as_py().timestamp() * 1000 == T0 + 30_000
    ids = read_window(shipped.segments, shipped.fetch, T0 + 30_000, T0 + 35_000, ["request_id"])
    assert ids.column_names == ["request_id"] and ids.num_rows == 5


def test_an_empty_window_is_an_empty_table(shipped: Segments) -> None:
    assert read_window(shipped.segments, shipped.fetch, T0 + 20_000, T0 + 30_000).num_rows == 0
    assert read_window([], shipped.fetch, T0, T0 + 1).num_rows == 0
    assert shipped.fetched == []  # no segment overlaps [20 s, 30 s)
