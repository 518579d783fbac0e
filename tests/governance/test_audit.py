"""The audit chain: appended in the change's transaction, and tampering is found and named."""

from __future__ import annotations

import itertools
import threading

import pytest
import sqlalchemy as sa

from werft.governance.actor import acting_as
from werft.governance.audit import GENESIS, AuditLog, append
from werft.services import Services
from werft.tracking._rows import utcnow


def _append(services: Services, n: int, *, prefix: str = "run") -> None:
    for i in range(n):
        with services.db.session() as session:
            append(
                session,
                f"{prefix}.created",
                object_type=prefix,
                object_id=f"{prefix}-{i}",
                project="churn",
                payload={"i": i, "note": "ünïcode"},
                at=utcnow(),
            )


def test_entries_chain_and_verify(services: Services) -> None:
    with acting_as("anna"):
        _append(services, 5)
    log = AuditLog(services.db)
    events = log.list_events()
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert {e.actor for e in events} == {"anna"}
    assert log.verify().ok and log.verify().checked == 5
    assert [e.object_id for e in log.list_events(object_id="run-3")] == ["run-3"]


def test_a_rolled_back_change_leaves_no_entry(services: Services) -> None:
    with pytest.raises(RuntimeError), services.db.session() as session:
        append(session, "run.created", object_type="run", object_id="x", at=utcnow())
        raise RuntimeError("the change failed")
    assert AuditLog(services.db).list_events() == []


@pytest.mark.parametrize(
    ("tamper", "bad", "words"),
    [
        ("UPDATE audit_events SET payload = '{\"i\": 99}' WHERE id = 3", 3, "changed"),
        ("DELETE FROM audit_events WHERE id = 2", 2, "removed"),
        ("UPDATE audit_events SET actor = 'mallory' WHERE id = 4", 4, "changed"),
    ],
)
def test_tampering_is_detected_and_named(
    services: Services, tamper: str, bad: int, words: str
) -> None:
    _append(services, 5)
    with services.db.session() as session:
        session.execute(sa.text(tamper))
    result = AuditLog(services.db).verify()
    assert not result.ok
    assert result.first_bad_id == bad
    assert words in result.problem


def test_reordering_is_detected(services: Services) -> None:
    _append(services, 4)
    with services.db.session() as session:  # entries 2 and 3 trade places
        for statement in (
            "UPDATE audit_events SET id = 1000 WHERE id = 2",
            "UPDATE audit_events SET id = 2 WHERE id = 3",
            "UPDATE audit_events SET id = 3 WHERE id = 1000",
        ):
            session.execute(sa.text(statement))
    result = AuditLog(services.db).verify()
    assert not result.ok and result.first_bad_id == 2


def test_concurrent_appends_never_fork_the_chain(services: Services) -> None:
    threads = [
        threading.Thread(target=_append, args=(services, 10), kwargs={"prefix": f"p{t}"})
        for t in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = AuditLog(services.db).verify()
    assert result.ok and result.checked == 40
