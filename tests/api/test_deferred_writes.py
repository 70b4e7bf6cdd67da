"""Deferred writes (db/fast.py): on PostgreSQL a transition's rows go as one data-modifying WITH per round trip,
and what the batching could break holds: reads see what was deferred, two statements on one table are never in
one batch, the ids a batch drew are each statement's own, and a failing batch writes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sessions_gql.db import models as m
from sessions_gql.db.fast import Ids, Writer, _renumbered, table_of
from sessions_gql.domain.enums import NotificationKind, TimelineEventType, Weekday
from sessions_gql.services.sessions.repository import DROP_JOB, FREE_HOLDS, HELD_NEAR, OVERRIDES_NEAR, RULES
from tests.api.lifecycle_helpers import CANCEL, CONFIRM, World, at, ok, request, when, world
from tests.harness.app import START, Api, StatementCounter

PG_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite sends each at once


def _shapes(counter: StatementCounter) -> list[str]:
    """Each statement as its first words and the tables a batch writes."""
    out = []
    for sql in counter.statements:
        if sql.startswith("WITH w0 AS ("):
            parts = sql.split(" AS (")[1:]
            out.append("batch: " + ", ".join(" ".join(part.split()[:3]) for part in parts))
        else:
            out.append(" ".join(sql.split()[:3]))
    return out


@PG_ONLY
async def test_a_confirmation_and_a_cancellation_are_three_statements(api: Api) -> None:
    """The locking read, the rows, then the rows that name the first batch's ids (emails, jobs, the outbox). The
    conversation is not touched: the frozen clock's now is already its last message's time."""
    w = await world(api)
    made = await request(w, at(2, 10))
    with StatementCounter(api.deps) as confirming:
        await ok(w, CONFIRM, {"sessionId": made["id"]}, w.provider)
    with StatementCounter(api.deps) as cancelling:
        cancelled = await ok(w, CANCEL, {"sessionId": made["id"]}, w.member)
    assert cancelled["status"] == "CANCELLED"
    confirmed, cancelled_ = _shapes(confirming), _shapes(cancelling)
    assert confirmed[:3] == [
        "SELECT sessions.id, sessions.member_id,",
        "batch: UPDATE sessions SET, INSERT INTO timeline_events, UPDATE providers SET, "
        "INSERT INTO notifications, DELETE FROM jobs, INSERT INTO messages",
        "batch: INSERT INTO email_deliveries, INSERT INTO jobs, INSERT INTO outbox"]
    assert cancelled_[:3] == [
        "SELECT sessions.id, sessions.member_id,",
        "batch: UPDATE sessions SET, UPDATE members SET, DELETE FROM slot_holds, INSERT INTO timeline_events, "
        "INSERT INTO ledger_entries, INSERT INTO notifications, DELETE FROM jobs, INSERT INTO messages",
        "batch: INSERT INTO email_deliveries, INSERT INTO outbox"]
    # then the response's reads (the helper selects the session, its timeline and its provider)
    assert all(shape.startswith("SELECT") for shape in confirmed[3:] + cancelled_[3:])
    assert len(confirmed) == len(cancelled_) == 6


async def _writer(db: Any) -> Writer:
    return Writer(await db.connection())


async def _requested(api: Api) -> tuple[World, uuid.UUID]:
    """A world with one session requested (and holding its time): the world and the session's id."""
    w = await world(api)
    made = await request(w, at(2, 10))
    assert made["status"] == "AWAITING_APPROVAL"
    async with api.deps.sessions() as db:
        return w, (await db.scalars(select(m.Session.id))).one()


async def test_a_read_through_the_writer_sees_what_was_deferred(api: Api) -> None:
    w = await world(api)
    assert w.member.member_id is not None
    async with api.deps.uow() as uow:
        writer = await _writer(uow.session)
        await writer.defer_update(table_of(m.Member), key=("id", w.member.member_id),
                                  values={"available_credits": 7})
        rows = await writer.fetch(select(m.Member.available_credits).where(m.Member.id == w.member.member_id), {})
        await uow.commit()
    assert rows == [(7,)]


async def test_two_writes_to_one_table_are_never_one_batch(api: Api) -> None:
    """A job dropped and the same job made again: in one WITH the insert might still see the old row and skip
    itself (its statements run on one snapshot, in no set order); the second write sends the first."""
    _w, session_id = await _requested(api)
    async with api.deps.sessions() as db:
        before = (await db.execute(select(m.Job.kind, m.Job.dedupe_key, m.Job.run_at)
                                   .where(m.Job.session_id == session_id, m.Job.done_at.is_(None)))).all()
    kind, key, old_run_at = before[0]
    assert old_run_at != START + timedelta(days=9)
    async with api.deps.uow() as uow:
        writer = await _writer(uow.session)
        with StatementCounter(api.deps) as counter:
            await writer.defer_run(DROP_JOB, {"session": session_id, "keep": -1, "kind": kind, "key": key})
            await writer.defer_insert(table_of(m.Job), skip_conflicts=True, rows=[{
                "kind": kind, "session_id": session_id, "dedupe_key": key, "run_at": START + timedelta(days=9),
                "payload": {}, "attempts": 0, "created_at": START}])
            await writer.flush()
        await uow.commit()
    async with api.deps.sessions() as db:
        after = (await db.scalars(select(m.Job.run_at).where(
            m.Job.session_id == session_id, m.Job.kind == kind, m.Job.dedupe_key == key))).all()
    assert after == [START + timedelta(days=9)]  # the new job, not the old one kept by a skipped insert
    assert len(counter.statements) == 2 and not any(s.startswith("WITH") for s in counter.statements)


@PG_ONLY
async def test_each_deferred_insert_gets_the_ids_it_drew(api: Api) -> None:
    w, session_id = await _requested(api)
    rows = [{"session_id": session_id, "type": TimelineEventType.REQUESTED, "at": START, "note": f"n{i}"}
            for i in range(2)]
    async with api.deps.uow() as uow:
        writer = await _writer(uow.session)
        with StatementCounter(api.deps) as counter:
            first = await writer.defer_insert(table_of(m.TimelineEvent), rows, returning=True)
            user = w.member.viewer.user_id
            notices = await writer.defer_insert(table_of(m.Notification), returning=True, rows=[{
                "user_id": user, "kind": NotificationKind.SESSION_REQUESTED, "title": "t", "body": "b",
                "session_id": session_id, "created_at": START}])
            with pytest.raises(RuntimeError, match="before its batch was sent"):
                _ = first.ids
            await writer.flush()
        await uow.commit()
    assert len(counter.statements) == 1 and counter.statements[0].startswith("WITH w0 AS (INSERT INTO timeline")
    async with api.deps.sessions() as db:
        notes = dict((await db.execute(select(m.TimelineEvent.id, m.TimelineEvent.note)
                                       .where(m.TimelineEvent.id.in_(first.ids)))).all())
        told = (await db.scalars(select(m.Notification.id).where(m.Notification.title == "t"))).all()
    assert [notes[ident] for ident in first.ids] == ["n0", "n1"] and first.ids == sorted(first.ids)
    assert notices.ids == list(told) and len(told) == 1


@PG_ONLY
async def test_a_failing_batch_writes_none_of_its_statements(api: Api) -> None:
    _w, session_id = await _requested(api)
    async with api.deps.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(m.SlotHold)) == 1
    with pytest.raises(IntegrityError):
        async with api.deps.uow() as uow:
            writer = await _writer(uow.session)
            await writer.defer_run(FREE_HOLDS, {"session": session_id})
            await writer.defer_insert(table_of(m.TimelineEvent), [  # no such session: a foreign key refuses it
                {"session_id": uuid.uuid4(), "type": TimelineEventType.REQUESTED, "at": START}])
            await writer.flush()
            await uow.commit()
    async with api.deps.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(m.SlotHold)) == 1


def test_placeholders_move_up_outside_quoted_literals_only() -> None:
    assert _renumbered("UPDATE t SET a=$1, b='$2 costs', c=$2 WHERE k IN ('x''$1', $3)", 4) == (
        "UPDATE t SET a=$5, b='$2 costs', c=$6 WHERE k IN ('x''$1', $7)")


def test_ids_read_before_their_batch_was_sent_are_refused() -> None:
    assert Ids([3, 4]).ids == [3, 4]
    with pytest.raises(RuntimeError, match="before its batch was sent"):
        _ = Ids().ids



@PG_ONLY
async def test_a_request_is_six_statements(api: Api) -> None:
    """The service and both parties locked in one statement, the provider's availability and held times in one
    (three reads together), the sponsorship, what other sessions hold and the provider's blocked time in one
    (two together), then the two batches of rows. (The pair's first request also makes their conversation.)"""
    w = await world(api)
    await request(w, at(2, 10))
    with StatementCounter(api.deps) as requesting:
        made = await request(w, at(3, 10))
    assert made["status"] == "AWAITING_APPROVAL"
    shapes, sent = _shapes(requesting), requesting.statements
    assert shapes[:6] == [
        "SELECT services.id, services.provider_id,", "SELECT ARRAY(SELECT ROW(q.*)",
        "SELECT sponsorships.id, sponsorships.minutes_granted", "SELECT ARRAY(SELECT ROW(q.*)",
        "batch: INSERT INTO sessions, UPDATE members SET, INSERT INTO slot_holds, INSERT INTO timeline_events, "
        "INSERT INTO ledger_entries, INSERT INTO notifications, INSERT INTO messages",
        "batch: INSERT INTO email_deliveries, INSERT INTO jobs, INSERT INTO outbox"]
    assert sent[0].rstrip().endswith("FOR SHARE OF services FOR UPDATE OF providers, members")
    assert [sent[1].count(f"FROM {table} ") for table in ("availability_rules", "availability_overrides",
                                                           "slot_holds")] == [1, 1, 1]
    assert [sent[3].count(f"FROM {table} ") for table in ("slot_holds", "availability_overrides")] == [1, 1]
    assert all(shape.startswith("SELECT") for shape in shapes[6:])  # the response's reads


async def test_reads_sent_together_give_what_each_gives_alone(api: Api) -> None:
    """`Writer.fetch_each` (one statement of arrays on PostgreSQL) answers exactly as `fetch_typed` does for each
    statement: the same values converted the same way (enums, times in UTC), in the statement's order, and an
    empty list for a statement that finds nothing."""
    w = await world(api)
    await request(w, at(2, 10))
    await request(w, at(2, 12))
    async with api.deps.sessions() as db:
        provider_id = (await db.scalars(select(m.Provider.id))).one()
    window = {"provider": provider_id, "from": START, "to": START + timedelta(days=7)}
    reads = [(RULES, {"provider": provider_id}), (HELD_NEAR, window), (OVERRIDES_NEAR, window),
             (HELD_NEAR, {**window, "to": START})]
    async with api.deps.uow() as uow:
        writer = await _writer(uow.session)
        with StatementCounter(api.deps) as counter:
            together = await writer.fetch_each(reads)
        alone = [await writer.fetch_typed(statement, params) for statement, params in reads]
    assert together == alone
    assert [len(rows) for rows in together] == [5, 2, 0, 0]
    assert [row[0] for row in together[1]] == [when(2, 10), when(2, 12)]  # by start, aware UTC times
    assert {row[2] for row in together[0]} == set(Weekday) - {Weekday.SATURDAY, Weekday.SUNDAY}
    assert len(counter.statements) == (1 if api.deps.settings.database_url.startswith("postgresql") else 4)
