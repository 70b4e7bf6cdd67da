"""`sessions-gql serve | worker | migrate | token | seed | export-schema`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn
from sqlalchemy import select

from sessions_gql.api.schema import build_schema
from sessions_gql.app import build_deps, create_app
from sessions_gql.auth.tokens import issue_token
from sessions_gql.config import Settings, get_settings
from sessions_gql.db import models as m
from sessions_gql.db.migrate import migrate
from sessions_gql.logging_setup import configure
from sessions_gql.seed import seed_demo
from sessions_gql.services import scheduler
from sessions_gql.services.people.people import ensure_admin
from sessions_gql.services.sessions import system_jobs

try:  # whether uvicorn offers `ws="websockets-sansio"` (its protocol module imports with this websockets)
    import uvicorn.protocols.websockets.websockets_sansio_impl

    HAS_SANSIO = True
except ImportError:
    HAS_SANSIO = False


def _serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    app = create_app(settings)
    tune_gc(settings)
    # log_config=None: uvicorn's loggers (access log included) go through ours (logging_setup.configure)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port,
                log_level="info", log_config=None, **server_options(settings))
    return 0


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options that shape the protocol, shared by `serve` and the tests' live server."""
    return {"ws": "websockets-sansio" if HAS_SANSIO else "auto",
            "ws_per_message_deflate": settings.ws_compression, "ws_max_size": settings.max_body_bytes,
            "timeout_graceful_shutdown": 10,
            # the client address is the peer's: X-Forwarded-For is read only from SESSIONS_GQL_TRUSTED_PROXIES
            # (ratelimit.py), never trusted by default (uvicorn would trust it from 127.0.0.1)
            "proxy_headers": False}


def tune_gc(settings: Settings) -> None:
    """Never rescan what startup built (modules, the schema); optionally collect less often.

    Freezing the startup heap helps every workload (bench/RESULTS.md, W2 and W3). Python's thresholds
    (700, 10, 10) keep pauses short: dashboard p99 274 to 345 ms under load, against about 630 ms with
    (10000, 10, 10) or (50000, 10, 10), whose single collections paused for 0.14 to 0.34 s. A process that
    mostly holds subscriptions to busy channels should collect less often:
    SESSIONS_GQL_GC_THRESHOLDS=[50000,10,10] cut the API CPU of W3 at 10,000 subscribers to 0.43 of that.
    """
    gc.collect()
    gc.freeze()
    if settings.gc_thresholds is not None:
        gc.set_threshold(*settings.gc_thresholds)


def _migrate(_args: argparse.Namespace) -> int:
    async def run() -> None:
        deps = build_deps(get_settings())
        try:
            await migrate(deps.engine)
        finally:
            await deps.dispose()

    asyncio.run(run())
    print("migrated to head")
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Run due jobs until interrupted; safe to run several (jobs are claimed with SKIP LOCKED)."""

    async def run() -> None:
        deps = build_deps(get_settings())
        assert system_jobs.STEPS
        try:
            await scheduler.run_forever(deps, interval=args.interval)
        finally:
            await deps.dispose()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    return 0


def _token(args: argparse.Namespace) -> int:
    async def run() -> str | None:
        deps = build_deps(get_settings())
        try:
            await migrate(deps.engine)
            if args.role == "ADMIN":
                await ensure_admin(deps, email=args.email)
            async with deps.sessions() as db:
                user = await db.scalar(select(m.User).where(m.User.email == args.email.strip().lower()))
            if user is None:
                return None
            return issue_token(deps.settings, user_id=user.id, role=user.role.value, now=deps.clock.wall())
        finally:
            await deps.dispose()

    token = asyncio.run(run())
    if token is None:
        print(f"no user with email {args.email}; create it first (or pass --role ADMIN)", file=sys.stderr)
        return 1
    print(token)
    return 0


def _seed(args: argparse.Namespace) -> int:
    if not args.demo:
        print("nothing to do: pass --demo", file=sys.stderr)
        return 2
    print(asyncio.run(seed_demo(get_settings())))
    return 0


def _export_schema(_args: argparse.Namespace) -> int:
    print(str(build_schema(get_settings())))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="sessions-gql", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API (GraphiQL on /graphql)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)
    worker = commands.add_parser("worker", help="run time-driven jobs (expiry, no-shows, auto-completion)")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between passes")
    worker.set_defaults(run=_worker)
    token = commands.add_parser("token", help="print a bearer token for a user")
    token.add_argument("--email", required=True)
    token.add_argument("--role", choices=["ADMIN"], help="create this admin first if missing")
    token.set_defaults(run=_token)
    seed = commands.add_parser("seed", help="load demo data")
    seed.add_argument("--demo", action="store_true")
    seed.set_defaults(run=_seed)
    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(run=_export_schema)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    level = logging.INFO if args.command in ("serve", "migrate", "worker") else logging.WARNING
    json_logs = args.command in ("serve", "worker") and get_settings().json_logs
    configure(json=json_logs, level=level)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
