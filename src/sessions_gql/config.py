"""Settings from the environment: one object, read once."""

from __future__ import annotations

import ipaddress
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("sessions_gql.sqlite3")
DEV_JWT_SECRET = "dev-only-insecure-secret-change-me-before-production"
MIN_JWT_SECRET_BYTES = 32  # HS256: a key shorter than the hash's 32 bytes weakens it (RFC 7518, 3.2)
MIN_METRICS_TOKEN = 16


class Env(str, Enum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SESSIONS_GQL_", extra="ignore")

    env: Env = Env.DEVELOPMENT
    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}",
        validation_alias="DATABASE_URL",
    )
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_private_key: str | None = None
    jwt_issuer: str = "sessions-gql"
    jwt_audience: str = "sessions-gql"
    token_ttl_minutes: int = 60 * 24
    test_clock: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    run_scheduler: bool | None = None  # None: in-process only for the embedded SQLite default
    db_pool_size: int = 10
    sql_echo: bool = False
    log_format: Literal["json", "text"] | None = None  # None: json in production, text in development
    metrics: bool = True  # serve Prometheus metrics on /metrics
    # permessage-deflate on websockets: off, since live frames are a few hundred bytes and each compressing
    # connection holds zlib state (40 KiB per idle subscription in bench W3)
    ws_compression: bool = False
    # the cycle collector's thresholds for `serve` (None: Python's); see cli.tune_gc
    gc_thresholds: tuple[int, int, int] | None = None
    # subscribers of one channel with the same document, variables and viewer get each event's frame executed and
    # encoded once (realtime/frames.py); off: every subscriber executes its own
    shared_frames: bool = True

    # read path
    # how queries read on PostgreSQL: "sql" compiles each query's selection into one statement that returns the
    # response's JSON (readpath/), falling back to the resolvers for fields it has no SQL for; "off" always uses
    # the resolvers; "verify" answers with the resolvers and checks that the SQL gives the same JSON (a
    # difference is an error: the test suite runs this way). SQLite always uses the resolvers.
    read_path: Literal["sql", "off", "verify"] = "sql"

    # protection
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_body_bytes: int = 256 * 1024
    max_page_size: int = 100
    messages_per_minute: int = 30

    # graphiql: the in-browser IDE at GET /graphql and its files under /graphiql/ (None: on in development,
    # off in production)
    graphiql: bool | None = None
    # clock-node
    # with the test clock on, how often each process rereads the shared offset besides every request and
    # scheduler pass (for subscriptions and the relay); see clock.SharedClock
    test_clock_refresh_seconds: float = Field(default=1.0, gt=0)
    # persisted queries
    persisted_queries: bool = True  # Apollo's automatic persisted queries (a hash instead of the document)
    persisted_query_cache_size: int = 1024  # documents kept per process (LRU)
    persisted_query_ttl_seconds: int = 24 * 3600  # how long Redis keeps a document (with REDIS_URL)
    # a JSON manifest {sha256: document}: when set, only these documents run (PERSISTED_QUERY_NOT_ALLOWED)
    trusted_documents: str | None = None
    # rate limits and production
    rate_limit: bool = True  # off: no request or subscription-start limits (ratelimit.py)
    rate_limit_per_minute: int = Field(default=600, ge=1)  # GraphQL requests per viewer
    rate_limit_anonymous_per_minute: int = Field(default=300, ge=1)  # requests per client address, no token
    rate_limit_subscriptions_per_minute: int = Field(default=60, ge=1)  # websocket operations started per viewer
    rate_limit_memory_keys: int = Field(default=100_000, ge=100)  # in-memory limiter (no Redis): keys kept
    # longest a request waits on Redis for its limit before it is allowed unlimited (and Redis skipped for 1 s)
    rate_limit_redis_timeout_seconds: float = Field(default=1.0, gt=0, le=30)
    trusted_proxies: str = ""  # comma-separated IPs/CIDRs whose X-Forwarded-For is believed; none by default
    ics_import_seconds: float = Field(default=5.0, gt=0)  # importBusyTimes: time limit for expanding one file
    introspection: Literal["off", "admins", "on"] | None = None  # None: on in development, off in production
    metrics_token: SecretStr | None = None  # bearer token for /metrics; production serves /metrics only with one
    # websockets
    ws_keepalive_seconds: float = 15.0  # `ping` (graphql-transport-ws) or `ka` (graphql-ws) this often
    ws_init_timeout_seconds: float = 60.0  # close a socket that sends no connection_init within this (4408)
    # hostile documents
    # the nodes one operation may return (api/limits.py: page sizes multiplied down each path)
    max_query_cost: int = 50_000
    # realtime streams
    # how long a subscription waits for the relay to sequence what committed before it started, before it
    # starts at the current end anyway (see docs/DECISIONS.md, "Live-only starts")
    stream_start_timeout_seconds: float = 5.0

    # policy windows (DOMAIN.md defaults)
    minimum_notice_minutes: int = 120
    horizon_days: int = 90
    request_ttl_minutes: int = 24 * 60
    member_late_window_hours: int = 24
    provider_late_window_hours: int = 48
    default_commission_rate: float = 0.10
    end_grace_minutes: int = 30

    # email (None: email is off and deliveries are recorded as SKIPPED)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0
    email_from: str = "sessions@localhost"

    video_base_url: str = "https://meet.example.org"
    public_base_url: str = "http://127.0.0.1:8000"

    # packages
    package_validity_days: int = Field(default=365, ge=1, le=3650)  # a bought package can be booked this long

    # history
    # a member turned away from joining by a no-show mark: the provider hears of it once in this many seconds
    turned_away_notice_seconds: int = Field(default=60, ge=1)

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        for part in self.trusted_proxies.split(","):
            try:
                if part.strip():
                    ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ValueError(f"SESSIONS_GQL_TRUSTED_PROXIES: {part.strip()!r} is not an address or network"
                                 ) from None
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < MIN_METRICS_TOKEN:
            raise ValueError(f"SESSIONS_GQL_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters")
        if self.env is Env.PRODUCTION:
            if not (self.jwt_secret or self.jwt_public_key):
                raise ValueError("production needs SESSIONS_GQL_JWT_SECRET or SESSIONS_GQL_JWT_PUBLIC_KEY")
            if self.jwt_secret == DEV_JWT_SECRET:
                raise ValueError("SESSIONS_GQL_JWT_SECRET is the development secret; production needs its own")
            if self.jwt_secret is not None and len(self.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
                raise ValueError(f"SESSIONS_GQL_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes in "
                                 f"production (this one has {len(self.jwt_secret.encode())})")
            if self.test_clock:
                raise ValueError("SESSIONS_GQL_TEST_CLOCK is refused in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Env.PRODUCTION

    @property
    def graphiql_enabled(self) -> bool:
        return not self.is_production if self.graphiql is None else self.graphiql

    @property
    def introspection_mode(self) -> Literal["off", "admins", "on"]:
        if self.introspection is not None:
            return self.introspection
        return "off" if self.is_production else "on"

    @property
    def metrics_served(self) -> bool:
        """/metrics exists: metrics on and, in production, protected by a token (else it is not served)."""
        return self.metrics and (self.metrics_token is not None or not self.is_production)

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_format is None else self.log_format == "json"

    @property
    def scheduler_in_process(self) -> bool:
        return self.is_sqlite if self.run_scheduler is None else self.run_scheduler

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def signing_secret(self) -> str:
        """The HS256 secret; development falls back to a fixed, loudly insecure one."""
        return self.jwt_secret or DEV_JWT_SECRET


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
