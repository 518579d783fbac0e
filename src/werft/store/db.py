"""Engine, transactions and schema upgrades for the metadata store.

SQLite is the embedded default and must survive many processes writing at
once (8 training scripts logging into one laptop store): WAL journal, a long
busy timeout, and ``BEGIN IMMEDIATE`` for write transactions so that a reader
never has to upgrade its lock half-way (the one case where SQLite gives up
with "database is locked" instead of waiting).  PostgreSQL runs through
psycopg 3.
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from werft.errors import InvalidInputError, UnavailableError
from werft.store.migrations import HEAD_REVISION

SQLITE_BUSY_TIMEOUT_S = 120.0


def _normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver werft ships with the postgres extra.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("werft_write", True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """The metadata store's connection: one engine, short transactions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = _normalise_url(url)
        try:
            parsed = make_url(self.url)
        except exc.ArgumentError as err:
            raise InvalidInputError(
                f"database URL {url!r} is not a valid SQLAlchemy URL: {err}"
            ) from err
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        elif self.dialect == "postgresql":
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        try:
            self.engine = create_engine(self.url, **kwargs)
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as err:
            hint = " (install werft[postgres])" if self.dialect == "postgresql" else ""
            raise InvalidInputError(f"cannot use database URL {url!r}{hint}: {err}") from err
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self._reader = self.engine.execution_options(werft_write=False)

    @property
    def display_url(self) -> str:
        """The URL with any password masked."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A transaction scope: commits on success, rolls back on error.

        Driver errors that mean "the database is not there" become
        :class:`UnavailableError`; everything else propagates for the caller
        (the store's services) to translate.
        """
        bind = self.engine if write else self._reader
        try:
            with Session(bind, expire_on_commit=False) as session, session.begin():
                yield session
        except exc.OperationalError as err:
            raise UnavailableError(
                f"metadata store {self.display_url} is unavailable: {err.orig}"
            ) from err

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # --- schema -----------------------------------------------------------------

    def current_revision(self) -> str | None:
        """The schema revision the database is at (None for an empty database)."""
        try:
            with self.engine.connect() as conn:
                has_table = self.engine.dialect.has_table(conn, "alembic_version")
                if not has_table:
                    return None
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
                return None if row is None else str(row[0])
        except exc.OperationalError as err:
            raise UnavailableError(
                f"metadata store {self.display_url} is unavailable: {err.orig}; "
                "check WERFT_DATABASE_URL"
            ) from err

    def ensure_schema(self) -> None:
        """Apply pending migrations, unless the schema is at head already.

        The check is one query, so processes that start often (every training
        script in local mode) never import Alembic once the schema is current.
        Concurrent starters serialise on a lock: a file lock beside a SQLite
        database, an advisory lock on PostgreSQL.
        """
        if self.current_revision() == HEAD_REVISION:
            return
        with self._migration_lock():
            if self.current_revision() != HEAD_REVISION:
                self.upgrade()

    def upgrade(self, revision: str = "head") -> None:
        """Run Alembic's upgrade to ``revision`` (what ``werft db upgrade`` does)."""
        from werft.store.migrations.runner import upgrade  # Alembic costs 0.3 s to import.

        upgrade(self.engine, revision)

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect == "sqlite":
            database = make_url(self.url).database
            if not database or database == ":memory:":
                yield
                return
            lock_path = Path(database).expanduser().with_suffix(".migrate.lock")
            with lock_path.open("w") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        elif self.dialect == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(7150212)"))
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(7150212)"))
                    conn.commit()
        else:
            yield
