"""W3b, the realistic load: every connected user holds one websocket with the three subscriptions a web app
opens, while booking transitions and chat messages run across the pairs at a steady rate.

    .venv/bin/python -m bench.w3b_realistic [--users 10000] [--rate 100] [--seconds 30] [--writers 32]
        [--processes 1] [--gc-thresholds 50000,10,10] [--api-setting NAME=VALUE ...]

The world: `--users` / 2 pairs of a member and a provider (bench.common.seed_pairs); each member and each
provider is one user with one socket. The sockets are opened by a Node `ws` client (bench/js/w3b_client.js,
`ws` pinned by bench/js/package-lock.json and installed there with `npm ci` on first use), 100 handshakes at a
time, each with `connection_init` carrying the user's bearer token and then three subscriptions without a target:
`sessionEvents` (the viewer's sessions), `notificationAdded` and `conversationEvents` (the viewer's
conversations). The load starts once the API's `active_subscriptions` gauge counts every subscription as live
(past its start position, so everything committed from then on reaches it).

The load: `--rate` operations a second for `--seconds`, offered on a fixed schedule to `--writers` concurrent
HTTP writers (httpx), so a slow answer delays one writer, not the schedule. Each operation draws a kind by
MIX's weights among the kinds some pair allows at that moment, and a random pair that is free (one operation
in flight per pair) and in a state that allows it: requestSession by the member (idle pair), confirmSession or
declineSession by the provider, withdrawSession by the member (a request awaiting the provider), cancelSession
by the member (confirmed, 3+ days ahead, so not late), or sendMessage by either party. `operations` is the mix
that resulted (a slow API keeps pairs busy, which shifts it). `rate_offered` is the operations handed to the
writers per second of the schedule, `rate_achieved` the operations that succeeded per second from the first
offer to the last answer. An operation answered with an error leaves the load with its pair, and nothing is
expected from it: if it committed all the same, its frames count as `unexpected`.

Expected frames, from what the writers did (services/session_effects.py, notify.py, messaging.py, outbox.py):
every transition writes its timeline events, which both parties' `sessionEvents` receive (EFFECTS below:
a request writes REQUESTED, APPROVED_BY_MEMBER and FUNDS_HELD; a decline, withdrawal or cancellation its own
event and FUNDS_RETURNED; a confirmation APPROVED_BY_PROVIDER); one notification for the party that did not act
(`Session._notify`); and one system message in the pair's conversation (booking_messages.describe), which both
parties' `conversationEvents` receive. A message is received by both parties' `conversationEvents` (the sender's
own included: the stream is every message of the viewer's conversations) and as a MESSAGE_RECEIVED notification
by the recipient. A frame is matched to what was expected by its session and event type, its session and
notification kind, its message body ("w3b <n>", quoted in the notification's body), or the n-th system
message of its session. `lost` is expected frames not received when the drain ends: when every expected
frame has arrived, or after `--drain-timeout` seconds. `unexpected` counts frames nothing explains and
repeats; `errors` counts error frames, `next` frames with errors, completions and sockets closed by the server.
A user whose handshake failed five times (`socket_failures`) has no socket, so nothing is expected for them.
As a check, the rows the run wrote are read back afterwards (`frames_in_db`: each timeline event for both
parties of its session, each notification for its user, each message for both parties of its conversation),
and `lost_vs_db` compares what was received with them by row id.

Commit time: PostgreSQL's own commit timestamp of the mutation's transaction (the cluster runs with
track_commit_timestamp=on). The timestamps the rows carry (`at`, `createdAt`, `sentAt`) are the use case's
`now`, read before its transaction starts, so they are not the commit; the HTTP answer comes after the commit
and after reading the result back. The rows streamed (timeline events, notifications, messages) and the outbox
row are rewritten by the relay when it positions them, so their xmin is the relay's transaction; the email
delivery that every notification writes in the same transaction is not touched again while no scheduler runs,
so `pg_xact_commit_timestamp(email_deliveries.xmin)` is the commit, and the outbox row's payload names every
streamed row that transaction wrote. Receipt time is when the Node client's `message` event fires
(performance.timeOrigin + performance.now(), epoch milliseconds); everything runs on one machine, one clock.
`commit_time_out_of_order` counts frames whose commit time is not between sending the mutation and receiving
the frame (0 unless the mapping is wrong). `sent_to_receipt` is the same frames measured from sending the
mutation (W3's and W4's definition); `offer_to_send`, how long operations waited for a free writer.

Memory per connected user: the API processes' RSS once every subscription is live, minus their RSS before the
first socket opened, divided by the users connected. API CPU per delivered frame: the API processes' CPU
seconds from the first operation offered to the last answer or the last expected frame, whichever is later,
divided by the frames received; it includes the mutations themselves, the keep-alive pings and the
subscriptions' safety polls. `api_cpu_idle_per_s` is what the connected users cost with no load (measured for
`--idle-seconds` before it starts), `api_cpu_connect_s` what opening and subscribing the sockets cost.
`client_cpu_s` is the Node client's CPU plus this script's (writers, frame matching) over the load's span.
`--streams` opens fewer of the three subscriptions, to see what each costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.common import (
    PIDS,
    Pair,
    api_processes,
    future_slot,
    percentiles,
    raise_fd_limit,
    rss_and_cpu,
    seed_pairs,
    stack,
)
from sessions_gql.api import ids
from sessions_gql.app import build_deps
from sessions_gql.config import Settings

JS = Path(__file__).resolve().parent / "js"
SUBSCRIPTIONS = {
    "s": "subscription { sessionEvents { id type at session { id status } } }",
    "n": "subscription { notificationAdded { id kind title body createdAt session { id } } }",
    "c": "subscription { conversationEvents { __typename ... on MessageAdded { message { id body sentAt "
         "session { id } } } } }",
}
STREAMS = {"s": "timeline", "n": "notification", "c": "message"}
ANSWER = "__typename ... on UserError { code message }"
SESSION = f"{{ {ANSWER} ... on SessionSuccess {{ session {{ id status }} }} }}"
MUTATIONS = {
    "request": f"mutation($i: RequestSessionInput!) {{ requestSession(input: $i) {SESSION} }}",
    "confirm": f"mutation($i: SessionActionInput!) {{ confirmSession(input: $i) {SESSION} }}",
    "decline": f"mutation($i: DeclineSessionInput!) {{ declineSession(input: $i) {SESSION} }}",
    "withdraw": f"mutation($i: SessionActionInput!) {{ withdrawSession(input: $i) {SESSION} }}",
    "cancel": f"mutation($i: CancelSessionInput!) {{ cancelSession(input: $i) {SESSION} }}",
    "message": f"mutation($i: SendMessageInput!) {{ sendMessage(input: $i) {{ {ANSWER} "
               "... on MessageSuccess { chatMessage { id } } } }",
}
MUTATIONS["reply"] = MUTATIONS["message"]  # a message the provider sends
IDLE, AWAITING, CONFIRMED = "IDLE", "AWAITING", "CONFIRMED"
MIX = {"request": 20, "confirm": 12, "decline": 4, "withdraw": 4, "cancel": 12, "message": 48}
"""Weights of the operations drawn; transitions and messages about half each, the pipeline balanced (the
requests made equal the requests answered, the confirmations the cancellations)."""
EFFECTS: dict[str, tuple[str, str, tuple[str, ...], str, str]] = {
    # kind: (who acts, state it needs, timeline events for both parties, notification for the other party,
    #        state after)
    "request": ("member", IDLE, ("REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD"), "SESSION_REQUESTED", AWAITING),
    "confirm": ("provider", AWAITING, ("APPROVED_BY_PROVIDER",), "SESSION_CONFIRMED", CONFIRMED),
    "decline": ("provider", AWAITING, ("DECLINED", "FUNDS_RETURNED"), "SESSION_DECLINED", IDLE),
    "withdraw": ("member", AWAITING, ("WITHDRAWN", "FUNDS_RETURNED"), "SESSION_CANCELLED", IDLE),
    "cancel": ("member", CONFIRMED, ("CANCELLED_BY_MEMBER", "FUNDS_RETURNED"), "SESSION_CANCELLED", IDLE),
}
TAG = re.compile(r"w3b (\d+)")
Key = tuple[int, tuple[str, ...]]
"""(user index, what the frame is): ("s", session, type), ("n", session, kind), ("n", "msg", n),
("c", "msg", n), ("c", session, k) for the k-th system message of a session."""


@dataclass
class Duo:
    """A member (user 2i) and a provider (user 2i + 1), and where their booking stands."""

    index: int
    pair: Pair
    state: str = IDLE
    session: str | None = None
    cycle: int = 0
    system_messages: int = 0  # of the current session
    talked: bool = False  # their conversation exists, so the provider may write first


@dataclass
class Op:
    number: int
    kind: str
    duo: Duo
    offered: float  # when the schedule handed it to the writers
    sent: float = 0.0  # when a writer sent it


class Pool:
    """A set with a uniform random pick in O(1)."""

    def __init__(self) -> None:
        self.items: list[int] = []
        self.where: dict[int, int] = {}

    def add(self, item: int) -> None:
        self.where[item] = len(self.items)
        self.items.append(item)

    def remove(self, item: int) -> None:
        at, last = self.where.pop(item), self.items.pop()
        if last != item:
            self.items[at], self.where[last] = last, at

    def pick(self, rng: random.Random) -> int | None:
        return self.items[rng.randrange(len(self.items))] if self.items else None


@dataclass
class Ledger:
    """What was expected and what arrived, matched as frames and answers come in."""

    streams: str = "snc"  # the subscriptions each socket opens: frames of the others are not expected
    absent: set[int] = field(default_factory=set)  # users whose socket never opened: nothing is expected for them
    expected: dict[Key, Op] = field(default_factory=dict)
    received: dict[Key, float] = field(default_factory=dict)
    frames: list[tuple[Key, str, str, float]] = field(default_factory=list)  # key, stream, row id, receipt
    ordinals: Counter[tuple[int, str]] = field(default_factory=Counter)
    matched: int = 0
    repeats: int = 0
    odd: int = 0
    errors: list[str] = field(default_factory=list)
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, key: Key, op: Op) -> None:
        if key[1][0] not in self.streams or key[0] in self.absent:
            return
        self.expected[key] = op
        if key in self.received:
            self.matched += 1

    def take(self, user: int, operation: str, at_ms: float, payload: Any) -> None:
        data = payload.get("data") if isinstance(payload, dict) else None
        if operation not in STREAMS or not isinstance(data, dict) or payload.get("errors"):
            self.errors.append(f"user {user}, {operation}: {json.dumps(payload)[:300]}")
            return
        try:
            found = self._key(user, operation, data)
        except (KeyError, TypeError, AttributeError):
            found = None  # a shape the selection does not give: counted, never a crash of the reader
        if found is None:
            self.odd += 1
            return
        what, row = found
        key = (user, what)
        if key in self.received:
            self.repeats += 1
            return
        self.received[key] = at_ms / 1000
        self.frames.append((key, STREAMS[operation], row, at_ms / 1000))
        if key in self.expected:
            self.matched += 1

    def _key(self, user: int, operation: str, data: dict[str, Any]) -> tuple[tuple[str, ...], str] | None:
        if operation == "s":
            event = data["sessionEvents"]
            return ("s", event["session"]["id"], event["type"]), event["id"]
        if operation == "n":
            note = data["notificationAdded"]
            tag = TAG.search(note["body"]) if note["kind"] == "MESSAGE_RECEIVED" else None
            what = ("n", "msg", tag[1]) if tag else ("n", (note["session"] or {}).get("id", ""), note["kind"])
            return what, note["id"]
        event = data["conversationEvents"]
        message = event.get("message")
        if event.get("__typename") != "MessageAdded" or not message:
            return None
        tag = TAG.fullmatch(message["body"])
        if tag:
            return ("c", "msg", tag[1]), message["id"]
        session = (message["session"] or {}).get("id", "")
        ordinal = self.ordinals[(user, session)]
        self.ordinals[(user, session)] += 1
        return ("c", session, str(ordinal)), message["id"]


@dataclass
class Load:
    duos: list[Duo]
    ledger: Ledger
    rng: random.Random
    pools: dict[str, Pool] = field(default_factory=dict)
    free: Pool = field(default_factory=Pool)
    done: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    performed: list[Op] = field(default_factory=list)
    skipped: int = 0

    def __post_init__(self) -> None:
        self.pools = {state: Pool() for state in (IDLE, AWAITING, CONFIRMED)}
        for duo in self.duos:
            self.release(duo)

    def release(self, duo: Duo) -> None:
        self.free.add(duo.index)
        self.pools[duo.state].add(duo.index)

    def pool(self, kind: str) -> Pool:
        return self.free if kind == "message" else self.pools[EFFECTS[kind][1]]

    def choose(self, number: int) -> Op | None:
        """An operation drawn by MIX's weights among the kinds some free pair allows, on a random such pair."""
        kinds = [kind for kind in MIX if self.pool(kind).items]
        if not kinds:
            return None
        kind = self.rng.choices(kinds, weights=[MIX[kind] for kind in kinds])[0]
        index = self.pool(kind).pick(self.rng)
        assert index is not None
        duo = self.duos[index]
        self.free.remove(index)
        self.pools[duo.state].remove(index)
        if kind == "message" and duo.talked and self.rng.random() < 0.5:
            kind = "reply"  # the provider writes (once the conversation exists, they may)
        return Op(number=number, kind=kind, duo=duo, offered=time.time())

    def request(self, op: Op) -> tuple[str, dict[str, Any]]:
        """The token and variables of an operation."""
        duo, pair = op.duo, op.duo.pair
        if op.kind == "request":
            duo.cycle += 1
            return pair.member_token, {"providerId": pair.provider_id, "serviceId": pair.service_id,
                                       "startsAt": future_slot(duo.index, duo.cycle), "modality": "PHONE"}
        if op.kind in ("message", "reply"):
            token, recipient = ((pair.member_token, pair.provider_id) if op.kind == "message"
                                else (pair.provider_token, pair.member_id))
            return token, {"recipientId": recipient, "body": f"w3b {op.number}", "clientMessageId": f"w3b-{op.number}"}
        token = pair.member_token if EFFECTS[op.kind][0] == "member" else pair.provider_token
        extra = {"reason": "NOT_AVAILABLE"} if op.kind == "decline" else {}
        return token, {"sessionId": duo.session, **extra}

    def succeeded(self, op: Op, answer: dict[str, Any]) -> None:
        """Record the frames the operation must produce, and move the pair on."""
        duo = op.duo
        member, provider = 2 * duo.index, 2 * duo.index + 1
        if op.kind in ("message", "reply"):
            tag = str(op.number)
            for user in (member, provider):
                self.ledger.expect((user, ("c", "msg", tag)), op)
            self.ledger.expect((provider if op.kind == "message" else member, ("n", "msg", tag)), op)
            duo.talked = True
            return
        actor, _needs, timeline, notice, after = EFFECTS[op.kind]
        if op.kind == "request":
            duo.session, duo.system_messages = answer["session"]["id"], 0
        assert duo.session is not None
        for user in (member, provider):
            for event_type in timeline:
                self.ledger.expect((user, ("s", duo.session, event_type)), op)
            self.ledger.expect((user, ("c", duo.session, str(duo.system_messages))), op)
        self.ledger.expect((provider if actor == "member" else member, ("n", duo.session, notice)), op)
        duo.system_messages += 1
        duo.state, duo.talked = after, True

    async def perform(self, client: httpx.AsyncClient, op: Op) -> None:
        token, variables = self.request(op)
        op.sent = time.time()
        self.performed.append(op)
        try:
            response = await client.post("/graphql", headers={"Authorization": f"Bearer {token}"},
                                         json={"query": MUTATIONS[op.kind], "variables": {"i": variables}})
            body = response.json()
            answer = next(iter((body.get("data") or {}).values()), None) or {}
        except (httpx.HTTPError, ValueError) as exc:
            self.failures.append(f"{op.kind}: {exc!r}"[:300])  # outcome unknown: the pair is left out from now on
            return
        if answer.get("__typename") not in ("SessionSuccess", "MessageSuccess"):
            self.failures.append(f"{op.kind}: {json.dumps(body)[:300]}")
            return
        self.succeeded(op, answer)
        self.done[op.kind] += 1
        self.release(op.duo)
        self.ledger.progress.set()


class Client:
    """The Node websocket client as a child process: its frames go to the ledger as they arrive."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.ready = asyncio.Event()
        self.connected = self.failed = 0
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task[None] | None = None

    async def start(self, node: str, config: Path) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            node, str(JS / "w3b_client.js"), str(config), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=1 << 26)
        self.reader = asyncio.create_task(self._read())

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            tag, _, rest = raw.decode().rstrip("\n").partition(" ")
            if tag == "F":
                for user, operation, at_ms, payload in json.loads(rest):
                    self.ledger.take(user, operation, at_ms, payload)
                self.ledger.progress.set()
            elif tag == "X":
                self.ledger.absent.add(int(rest))
            elif tag in ("P", "READY"):
                self.connected, self.failed = (int(part) for part in rest.split())
                print(f"sockets: {self.connected} subscribed, {self.failed} failed", file=sys.stderr, flush=True)
                if tag == "READY":
                    self.ready.set()
        if not self.ready.is_set():
            self.ready.set()  # the client exited before it was ready: stop waiting for it
            self.connected = -1

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)

    async def stop(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None and self.reader is not None
        self.proc.stdin.write(b"stop\n")
        await self.proc.stdin.drain()
        await asyncio.wait_for(self.proc.wait(), timeout=60)
        await self.reader


async def live_subscriptions(client: httpx.AsyncClient, bases: list[str]) -> int:
    """The API processes' active_subscriptions gauge (0 while one is too busy to answer)."""
    total = 0
    for base in bases:
        try:
            metrics = (await client.get(f"{base}/metrics")).text
        except httpx.HTTPError:
            return 0
        found = re.search(r"^active_subscriptions (\S+)$", metrics, re.M)
        total += int(float(found[1])) if found else 0
    return total


async def until(condition: Callable[[], Awaitable[bool]], within: float, *, event: asyncio.Event | None = None,
                poll: float = 0.25) -> bool:
    """Wait until `condition()` holds, checked whenever `event` is set (without one, every `poll` seconds);
    False once `within` seconds have passed without it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        left = deadline - loop.time()
        if left <= 0:
            return False
        if event is None:
            await asyncio.sleep(min(poll, left))
            continue
        event.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(left):
                await event.wait()
    return True


def usage(pids: list[int]) -> tuple[int, float]:
    readings = [rss_and_cpu(pid) for pid in pids]
    return sum(rss for rss, _ in readings), sum(cpu for _, cpu in readings)


STREAMED_SQL = {
    "timeline": """SELECT t.id, t.position, m.user_id, p.user_id FROM timeline_events t
        JOIN sessions s ON s.id = t.session_id JOIN members m ON m.id = s.member_id
        JOIN providers p ON p.id = s.provider_id WHERE t.id > :after""",
    "notification": "SELECT n.id, n.position, n.user_id, NULL FROM notifications n WHERE n.id > :after",
    "message": """SELECT g.id, g.position, m.user_id, p.user_id FROM messages g
        JOIN conversations c ON c.id = g.conversation_id JOIN members m ON m.id = c.member_id
        JOIN providers p ON p.id = c.provider_id WHERE g.id > :after""",
}
TABLES = {"timeline": "timeline_events", "notification": "notifications", "message": "messages",
          "outbox": "outbox", "email": "email_deliveries"}


async def high_water(settings: Settings) -> dict[str, int]:
    deps = build_deps(settings)
    async with deps.engine.connect() as conn:
        marks = {name: int((await conn.execute(text(f"SELECT COALESCE(max(id), 0) FROM {table}"))).scalar_one())
                 for name, table in TABLES.items()}
    await deps.dispose()
    return marks


@dataclass
class Written:
    """What the run wrote, read back: each streamed row's commit time and the users whose streams carry it."""

    committed: dict[tuple[str, int], float]
    recipients: dict[tuple[str, int], list[int]]
    unsequenced: int
    no_commit_time: int


async def read_back(settings: Settings, marks: dict[str, int], duos: list[Duo]) -> Written:
    deps = build_deps(settings)
    users: dict[Any, int] = {}
    async with deps.engine.connect() as conn:
        for duo in duos:
            for side, offset in (("Member", 0), ("Provider", 1)):
                row_id = ids.decode_uuid(getattr(duo.pair, f"{side.lower()}_id"), side)
                table = "members" if side == "Member" else "providers"
                user = (await conn.execute(text(f"SELECT user_id FROM {table} WHERE id = :id"), {"id": row_id}))
                users[user.scalar_one()] = 2 * duo.index + offset
        commits = dict((await conn.execute(text(
            "SELECT notification_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 "
            "FROM email_deliveries WHERE id > :after"), {"after": marks["email"]})).all())
        committed: dict[tuple[str, int], float] = {}
        for (payload,) in (await conn.execute(text("SELECT payload FROM outbox WHERE id > :after"),
                                              {"after": marks["outbox"]})).all():
            payload = json.loads(payload) if isinstance(payload, str) else payload
            at = next((commits[n] for n in payload.get("notification_ids", []) if n in commits), None)
            if at is None:
                continue
            for stream in STREAMS.values():
                for row_id in payload.get(f"{stream}_ids", []):
                    committed[(stream, int(row_id))] = at
        recipients: dict[tuple[str, int], list[int]] = {}
        unsequenced = 0
        for stream, sql in STREAMED_SQL.items():
            for row_id, position, *parties in (await conn.execute(text(sql), {"after": marks[stream]})).all():
                recipients[(stream, int(row_id))] = [users[user] for user in parties if user is not None]
                unsequenced += position is None
    await deps.dispose()
    missing = sum(1 for key in recipients if key not in committed)
    return Written(committed=committed, recipients=recipients, unsequenced=unsequenced, no_commit_time=missing)


def row_key(stream: str, global_id: str) -> tuple[str, int]:
    return stream, int(ids.split(global_id)[1])


def node_client() -> str:
    """The node binary, with the client's pinned `ws` installed (`npm ci` in bench/js, once)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node (20 or later) is needed for the load client")
    if not (JS / "node_modules" / "ws").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True)
    return node


@contextlib.contextmanager
def client_config(bases: list[str], pairs: list[Pair], handshakes: int, streams: str) -> Iterator[Path]:
    """The Node client's configuration file: user 2i is pair i's member, user 2i + 1 its provider."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="w3b-", delete=False) as handle:
        json.dump({"urls": [base.replace("http://", "ws://") + "/graphql" for base in bases],
                   "tokens": [token for p in pairs for token in (p.member_token, p.provider_token)],
                   "subscriptions": {name: SUBSCRIPTIONS[name] for name in streams}, "handshakes": handshakes},
                  handle)
    try:
        yield Path(handle.name)
    finally:
        Path(handle.name).unlink()


async def measure(args: argparse.Namespace, settings: Settings, bases: list[str], pairs: list[Pair], node: str,
                  config: Path, api_settings: dict[str, str]) -> dict[str, Any]:
    ledger = Ledger(streams=args.streams)
    client = Client(ledger)
    try:
        return await phases(args, settings, bases, pairs, node, config, api_settings, ledger, client)
    finally:
        await client.kill()  # when something failed on the way: the sockets go with it


async def phases(args: argparse.Namespace, settings: Settings, bases: list[str], pairs: list[Pair], node: str,
                 config: Path, api_settings: dict[str, str], ledger: Ledger, client: Client) -> dict[str, Any]:
    """Connect and subscribe, measure idle, offer the load, drain, read back, report."""
    pids = [PIDS[base] for base in bases]
    load = Load(duos=[Duo(index, pair) for index, pair in enumerate(pairs)], ledger=ledger,
                rng=random.Random(args.seed))
    users = 2 * len(pairs)
    idle_rss, cpu_idle = usage(pids)
    await client.start(node, config)
    async with httpx.AsyncClient(timeout=60) as probe:
        try:
            await asyncio.wait_for(client.ready.wait(), timeout=args.connect_timeout)
        except TimeoutError:
            raise RuntimeError(f"{client.connected} sockets subscribed and {client.failed} given up after "
                               f"{args.connect_timeout:.0f} s (--connect-timeout; --api-log shows why)") from None
        if client.connected < 0:
            raise RuntimeError("the load client exited before its sockets were open")

        async def all_live() -> bool:
            return await live_subscriptions(probe, bases) >= len(args.streams) * client.connected

        if not await until(all_live, args.connect_timeout):
            raise RuntimeError("not every subscription became live")
    subscribed_rss, cpu_live = usage(pids)
    idle_started = time.perf_counter()
    await asyncio.sleep(args.idle_seconds)  # a measurement window: what the connected users cost with no load
    _, cpu_before = usage(pids)
    idle_cpu_rate = (cpu_before - cpu_live) / max(time.perf_counter() - idle_started, 1e-9)
    marks = await high_water(settings)
    node_before, python_before = rss_and_cpu(client.pid)[1], time.process_time()

    queue: asyncio.Queue[Op | None] = asyncio.Queue()
    total = int(args.rate * args.seconds)
    started = time.perf_counter()

    async def offer() -> None:
        for number in range(total):
            delay = started + number / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # the schedule: the offer of operation n at n / rate seconds
            op = load.choose(number)
            if op is None:
                load.skipped += 1
            else:
                queue.put_nowait(op)
        for _ in range(args.writers):
            queue.put_nowait(None)

    async def writer(http: httpx.AsyncClient) -> None:
        while (op := await queue.get()) is not None:
            await load.perform(http, op)

    limits = httpx.Limits(max_connections=args.writers, max_keepalive_connections=args.writers)
    # a generous timeout: an operation that times out has an unknown outcome, so its pair leaves the load
    clients = [httpx.AsyncClient(base_url=base, timeout=300, limits=limits) for base in bases]
    try:
        offering = asyncio.create_task(offer())
        await asyncio.gather(*(writer(clients[n % len(clients)]) for n in range(args.writers)))
        await offering
    finally:
        for http in clients:
            await http.aclose()
    offered_for = max(time.perf_counter() - started, 1e-9)  # until the last answer

    def cpu() -> tuple[float, float, float]:
        return usage(pids)[1], rss_and_cpu(client.pid)[1], time.process_time()

    # the CPU figures end at the last answer or the last expected frame, whichever comes later: a drain that
    # waits out its timeout for frames that never come would otherwise add idle time to them
    ended, seen = cpu(), ledger.matched

    async def drained() -> bool:
        nonlocal ended, seen
        if ledger.matched != seen:
            ended, seen = cpu(), ledger.matched
        return ledger.matched >= len(ledger.expected)

    drain_started = time.perf_counter()
    await until(drained, args.drain_timeout, event=ledger.progress)
    drain_seconds = time.perf_counter() - drain_started
    cpu_after, node_after, python_after = ended
    await client.stop()

    written = await read_back(settings, marks, load.duos)
    firsts = [(key, stream, row, at) for key, stream, row, at in ledger.frames if key in ledger.expected]
    commit_latency, sent_latency = [], []
    misplaced = 0  # a commit time before the mutation was sent, or a receipt before the commit: must stay 0
    for key, stream, row, at in firsts:
        committed = written.committed.get(row_key(stream, row))
        if committed is not None:
            commit_latency.append(at - committed)
            misplaced += not ledger.expected[key].sent <= committed <= at
        sent_latency.append(at - ledger.expected[key].sent)
    opened = {STREAMS[name] for name in args.streams}
    in_db = {(user, stream, row_id) for (stream, row_id), parties in written.recipients.items() for user in parties
             if stream in opened and user not in ledger.absent}
    got = {(key[0], stream, row_key(stream, row)[1]) for key, stream, row, _ in ledger.frames}
    received = len(ledger.frames) + ledger.repeats + ledger.odd
    unexpected = sum(1 for key in ledger.received if key not in ledger.expected) + ledger.repeats + ledger.odd
    lost = len(ledger.expected) - ledger.matched
    stats = percentiles(commit_latency)
    api_cpu = cpu_after - cpu_before
    node_cpu, python_cpu = node_after - node_before, python_after - python_before
    ops_ok = sum(load.done.values())
    return {
        "users": users, "sockets": client.connected, "subscriptions": len(args.streams) * client.connected,
        "rate_offered": round((total - load.skipped) / args.seconds, 1),
        "rate_achieved": round(ops_ok / offered_for, 1),
        "frames_expected": len(ledger.expected), "frames_received": received, "lost": lost,
        "unexpected": unexpected, "errors": len(ledger.errors),
        "p50_ms": stats.get("p50_ms"), "p99_ms": stats.get("p99_ms"), "max_ms": stats.get("max_ms"),
        "rss_per_user_kib": round((subscribed_rss - idle_rss) / max(client.connected, 1) / 1024, 1),
        "api_cpu_s": round(api_cpu, 2),
        "api_cpu_per_frame_us": round(api_cpu / max(received, 1) * 1e6, 1),
        "client_cpu_s": round(node_cpu + python_cpu, 2),
        # more detail
        "seconds": args.seconds, "writers": args.writers, "processes": len(bases), "streams": args.streams,
        "api_settings": api_settings,
        "operations": dict(sorted(load.done.items())), "operations_failed": len(load.failures),
        "operations_not_offered": load.skipped, "load_seconds": round(offered_for, 2),
        "drain_seconds": round(drain_seconds, 2), "socket_failures": client.failed,
        "frames_in_db": len(in_db), "lost_vs_db": len(in_db - got), "received_not_in_db": len(got - in_db),
        "unsequenced_rows": written.unsequenced, "frames_without_commit_time": len(firsts) - len(commit_latency),
        "commit_time_out_of_order": misplaced,
        "sent_to_receipt": percentiles(sent_latency),
        "offer_to_send": percentiles([op.sent - op.offered for op in load.performed]),
        "api_cpu_connect_s": round(cpu_live - cpu_idle, 2), "api_cpu_idle_per_s": round(idle_cpu_rate, 3),
        "api_rss_subscribed_mib": subscribed_rss >> 20,
        "client_cpu_node_s": round(node_cpu, 2), "client_cpu_python_s": round(python_cpu, 2),
        "first_errors": ledger.errors[:3], "first_failures": load.failures[:3],
        "first_lost": [str(key) for key in itertools.islice(missing(ledger), 5)],
    }


def missing(ledger: Ledger) -> Iterator[Key]:
    return (key for key in ledger.expected if key not in ledger.received)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000, help="connected users, a member and a provider a pair")
    parser.add_argument("--rate", type=float, default=100.0, help="operations offered a second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--writers", type=int, default=32, help="concurrent HTTP writers")
    parser.add_argument("--processes", type=int, default=1, help="API processes (sockets spread over them)")
    parser.add_argument("--handshakes", type=int, default=100, help="websocket handshakes at a time")
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--idle-seconds", type=float, default=10.0,
                        help="API CPU measured this long with every user connected and no load")
    parser.add_argument("--connect-timeout", type=float, default=900.0)
    parser.add_argument("--seed-concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1, help="of the random choice of operations and pairs")
    parser.add_argument("--gc-thresholds", help="the API's SESSIONS_GQL_GC_THRESHOLDS, e.g. 50000,10,10")
    parser.add_argument("--api-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="another SESSIONS_GQL_ setting of the API processes, e.g. ws_compression=1")
    parser.add_argument("--api-log", help="append the API processes' output (their logs) to this file")
    parser.add_argument("--streams", default="snc",
                        help="the subscriptions each socket opens: s sessionEvents, n notificationAdded, "
                             "c conversationEvents (fewer: to see what each costs)")
    args = parser.parse_args()
    if set(args.streams) - set(SUBSCRIPTIONS):
        parser.error("--streams takes the letters s, n and c")
    settings = dict(item.split("=", 1) for item in args.api_setting)
    if args.gc_thresholds:
        settings["gc_thresholds"] = json.dumps([int(part) for part in args.gc_thresholds.split(",")])
    raise_fd_limit()
    node = node_client()
    with stack(track_commit_timestamp="on") as s:
        seeded = time.perf_counter()
        pairs = asyncio.run(seed_pairs(s.settings(), args.users // 2, concurrency=args.seed_concurrency))
        print(f"seeded {len(pairs)} pairs in {time.perf_counter() - seeded:.0f} s", file=sys.stderr, flush=True)
        with api_processes(s, args.processes, log=args.api_log, **settings) as bases, \
                client_config(bases, pairs, args.handshakes, args.streams) as config:
            report = asyncio.run(measure(args, s.settings(), bases, pairs, node, config, settings))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
