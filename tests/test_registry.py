"""The registry: number sequences under concurrency, the append-only audit log, the file store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.certificates.filestore import FileStore
from service.registry import certificates as repo
from service.registry.db import open_registry, transaction
from service.registry.models import Certificate


def test_sequences_are_distinct_under_concurrency(any_db_settings):
    sessions = open_registry(any_db_settings)

    def allocate(_):
        with transaction(sessions) as session:
            return repo.next_sequence(session, "420001", 2024)

    with ThreadPoolExecutor(max_workers=16) as pool:
        values = list(pool.map(allocate, range(80)))
    assert sorted(values) == list(range(1, 81))
    with transaction(sessions) as session:
        assert repo.next_sequence(session, "420001", 2025) == 1  # per committee and year
        assert repo.next_sequence(session, "340001", 2024) == 1


def test_a_rolled_back_number_is_not_handed_out_twice_within_its_transaction(any_db_settings):
    sessions = open_registry(any_db_settings)
    with transaction(sessions) as session:
        first = repo.next_sequence(session, "420001", 2024)
    with pytest.raises(RuntimeError):
        with transaction(sessions) as session:
            repo.next_sequence(session, "420001", 2024)
            raise RuntimeError("issuance failed")
    with transaction(sessions) as session:
        # The failed transaction left nothing behind: no record, and the next number follows the first.
        assert repo.next_sequence(session, "420001", 2024) == first + 1


def _certificate(number="9422024420001000001") -> Certificate:
    now = datetime(2024, 12, 30, tzinfo=UTC)
    return Certificate(
        number=number,
        version=1,
        identifier=f"id-{number}",
        status="valid",
        token=f"t-{number}",
        declaration_id=f"d-{number}",
        holder_name="张三",
        holder_id_number="420106198905261525",
        committee_code="420001",
        issuer_code="X",
        issue_date=date(2024, 12, 30),
        request={},
        pdf_sha256="0" * 64,
        pdf_size=1,
        created_at=now,
    )


def test_the_audit_log_cannot_be_edited_or_deleted(any_db_settings):
    sessions = open_registry(any_db_settings)
    with transaction(sessions) as session:
        cert = _certificate()
        session.add(cert)
        session.flush()
        repo.add_event(session, cert, "issued", "platform:abc", cert.created_at)
    for statement in ("UPDATE certificate_events SET actor = 'someone else'", "DELETE FROM certificate_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with transaction(sessions) as session:
                session.execute(text(statement))
    with sessions() as session:
        assert [e.actor for e in repo.events_of(session, cert.number)] == ["platform:abc"]


def test_file_store_is_content_addressed(tmp_path):
    store = FileStore(tmp_path / "files")
    digest = store.put(b"%PDF-1.7 test")
    assert store.put(b"%PDF-1.7 test") == digest
    assert store.get(digest) == b"%PDF-1.7 test"
    assert store.path_of(digest).parent.name == digest[:2]
    assert list(store.path_of(digest).parent.glob(".incoming-*")) == []
    with pytest.raises(ValueError):
        store.path_of("../../etc/passwd")


def test_a_scan_read_is_one_statement_in_autocommit_on_a_fixed_pool(postgres_url, tmp_path):
    """PostgreSQL serving (issue 25): the scan page's read sends its SELECT alone (no BEGIN
    before it, no ROLLBACK after it), on a fixed pool of its own whose connections stay in
    autocommit; the pool never opens a connection for one request."""
    from sqlalchemy import bindparam, event, select

    from service.config import Settings
    from service.registry.db import read_sessions

    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, database_pool_size=3)
    sessions = open_registry(settings)
    engine = sessions.kw["bind"]
    assert engine.pool.size() == 3 and engine.pool._max_overflow == 0
    reads = read_sessions(sessions, 3)
    read_engine = reads.kw["bind"]
    assert read_engine is not engine and read_engine.pool.size() == 3 and read_engine.pool._max_overflow == 0
    sent: list[str] = []
    for each in (engine, read_engine):
        event.listen(each, "before_cursor_execute", lambda c, cur, statement, *a: sent.append(statement))
    by_token = select(Certificate.id).where(Certificate.token == bindparam("t"))
    for _ in range(3):  # the same connection again and again: still autocommit, nothing reset
        with read_engine.connect() as connection:
            connection.execute(by_token, {"t": "x" * 22}).first()
            assert connection.connection.dbapi_connection.autocommit is True
    with reads() as session:
        session.execute(by_token, {"t": "y" * 22}).first()
        assert session.connection().connection.dbapi_connection.autocommit is True
    with sessions() as session:  # the other sessions keep their transactions
        session.execute(select(Certificate.id)).first()
        assert session.connection().connection.dbapi_connection.autocommit is False
    assert len(sent) == 5 and all(s.lstrip().upper().startswith("SELECT") for s in sent), sent
    engine.dispose()
    read_engine.dispose()
