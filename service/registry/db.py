"""Engines, sessions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, busy_seconds: float = 30, pool_size: int = 8) -> Engine:
    """``busy_seconds``: how long a SQLite writer waits for another's lock before giving
    up (the request then answers 503). ``pool_size``: PostgreSQL connections per process."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_seconds})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it doubles the round trips of the one-query scan page. A
    # connection broken by a server restart fails one request and is dropped
    # from the pool (SQLAlchemy invalidates it on disconnect errors); recycling
    # keeps connections younger than typical idle timeouts.
    # A fixed pool, no overflow: an overflow connection is opened for one request and
    # closed after it (a server process forked and torn down each time), which under a
    # scan campaign made most requests pay for a new connection. Requests beyond the pool
    # wait for a connection (at most pool_timeout, then 503): a few connections kept busy
    # serve more than many contending for the same cores.
    return create_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=10, pool_recycle=1800)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the public verification reads run beside a writer; foreign
    # keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_registry(settings: Settings) -> sessionmaker[Session]:
    """The registry of ``settings``, its schema migrated (the data dir created first)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.registry_url, settings.database_busy_seconds, settings.database_pool_size)
    migrate(engine)
    return session_factory(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_sessions(factory: sessionmaker[Session], pool_size: int = 8) -> sessionmaker[Session]:
    """Sessions for reads of one statement (the public scan page, lookups), in autocommit,
    so that a read is one round trip: no BEGIN before it, no ROLLBACK when its connection
    goes back. Never for a read-modify-write.

    On PostgreSQL a pool of its own whose connections are opened in autocommit: switching a
    shared pool's connection to autocommit for each read and back on its return (SQLAlchemy's
    ``execution_options(isolation_level=...)``) cost about 0.7 ms a read, more than the query.
    """
    engine = factory.kw["bind"]
    if engine.dialect.name == "postgresql":
        reads = create_engine(
            engine.url,
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,  # nothing to roll back in autocommit
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=10,
            pool_recycle=1800,
        )
    else:
        reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    return sessionmaker(reads, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(factory: sessionmaker[Session]) -> None:
    """One round trip to the database (raises when it is out of reach)."""
    with factory() as session:
        session.execute(text("SELECT 1"))


def schema_version(url: str, timeout_seconds: int = 5) -> str | None:
    """The migration the database at ``url`` is at (None: not migrated yet); raises
    ``SQLAlchemyError`` when it cannot be reached. Opens and closes its own engine."""
    engine = create_engine(
        url, connect_args={"connect_timeout": timeout_seconds} if url.startswith("postgresql") else {}
    )
    try:
        with engine.connect() as connection:
            try:
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except SQLAlchemyError:
                return None
    finally:
        engine.dispose()
