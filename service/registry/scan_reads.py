"""The public scan's registry read on the event loop, on PostgreSQL: a pool of asyncio
psycopg connections in autocommit, of its own, for the one indexed read behind a QR code.

Why not the threadpool, as every other read: under a scan campaign the hop to a thread
and back (and the GIL passed between the loop and forty threads) cost more than the
query. The read here is one prepared statement, one round trip, no ORM.

SQLite has no asyncio driver here: its reads stay in the threadpool (``None`` below).
"""

from __future__ import annotations

from typing import Any

from psycopg import OperationalError
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url

from service.registry.models import Certificate

_COLUMNS = ", ".join(column.name for column in Certificate.__table__.columns)
_BY_TOKEN = f"SELECT {_COLUMNS} FROM certificates WHERE token = %(token)s"  # noqa: S608 - the columns are the model's


class ScanReads:
    """``await by_token(token)``: the certificate row behind a QR token (attribute access,
    as a SQLAlchemy row), or None. ``open()`` at start-up, ``close()`` at shutdown."""

    def __init__(self, url: str, size: int, timeout_seconds: float = 5):
        self._pool = AsyncConnectionPool(
            _conninfo(url),
            min_size=min(2, size),  # grown to ``size`` as scans come in
            max_size=size,
            timeout=timeout_seconds,  # then PoolTimeout (psycopg's OperationalError): a 503
            max_lifetime=1800,
            kwargs={"autocommit": True, "row_factory": namedtuple_row},
            open=False,
        )

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def by_token(self, token: str) -> Any | None:
        try:
            return await self._read(token)
        except PoolTimeout:
            raise  # every connection busy (or none to be had) for the whole wait: no second wait
        except OperationalError:
            # A connection the server dropped (a restart, a failover) fails its next query.
            # Its pool mates most likely went with it: test them all, replace the dead, and
            # read once more (a read may be repeated); a second failure is the caller's 503.
            await self._pool.check()
            return await self._read(token)

    async def _read(self, token: str) -> Any | None:
        async with self._pool.connection() as connection:
            cursor = await connection.execute(_BY_TOKEN, {"token": token})
            return await cursor.fetchone()


def scan_reads(url: str, size: int) -> ScanReads | None:
    """The event-loop reads for the registry at ``url`` (SQLAlchemy's form), or None where
    its driver has no asyncio side (SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() not in ("psycopg", "psycopg_async"):
        return None
    return ScanReads(url, size)


def _conninfo(url: str) -> str:
    """A libpq URL from SQLAlchemy's ``postgresql+psycopg://...``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
