"""The metadata store: migrations, SQLite settings, concurrent writers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from werft.errors import InvalidInputError, UnavailableError
from werft.store.db import Database
from werft.store.migrations import HEAD_REVISION
from werft.store.migrations.runner import head_revision
from werft.store.models import Base


def test_head_constant_matches_alembic() -> None:
    assert head_revision() == HEAD_REVISION


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    db = Database(database_url)
    db.ensure_schema()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []


def test_ensure_schema_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    assert db.current_revision() is None
    db.ensure_schema()
    db.ensure_schema()
    assert db.current_revision() == HEAD_REVISION
    db.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.session(write=False) as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_bad_urls_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not a valid SQLAlchemy URL"):
        Database("not a url")
    unreachable = Database("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(UnavailableError, match="WERFT_DATABASE_URL"):
        unreachable.current_revision()


def _log_from_process(home: str, worker: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import werft

    try:
        werft.configure(home=home, metric_flush_size=200, metric_flush_interval=0.05)
        with werft.start_run(project="shared", name=f"worker-{worker}") as run:
            werft.log_params({"worker": worker, "lr": 0.1})
            for step in range(1000):
                werft.log_metric("loss", 1.0 / (step + 1), step=step)
            werft.set_tag("done", "yes")
        queue.put((worker, run.id, None))
    except Exception as exc:
        queue.put((worker, None, repr(exc)))


@pytest.mark.slow
def test_eight_processes_log_into_one_sqlite_store(tmp_path: Path) -> None:
    """No "database is locked" reaches the user, even on a fresh store."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    home = str(tmp_path / "home")
    procs = [ctx.Process(target=_log_from_process, args=(home, i, queue)) for i in range(8)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    errors = [r for r in results if r[2] is not None]
    assert errors == []

    import werft

    werft.configure(home=home)
    runs = werft.search_runs("shared", filter="tags.done = 'yes'")
    assert len(runs) == 8
    for run in runs:
        assert run.status.value == "finished"
        assert len(werft.get_metric_history(run.id, "loss")) == 1000
