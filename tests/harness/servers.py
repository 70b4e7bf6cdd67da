"""Throwaway PostgreSQL and Redis servers for tests and benchmarks.

Plain Python on purpose (no pytest import) so that ``bench/`` can reuse it::

    with PostgresServer() as pg, RedisServer() as redis:
        url = pg.create_database("bench")   # postgresql+asyncpg://postgres@127.0.0.1:PORT/bench
        redis.url                           # redis://127.0.0.1:PORT/0

Every server lives in its own fresh temp dir on a free port bound to 127.0.0.1, so
several test processes can run side by side.  The system services that Debian's
packages auto-start (redis on 6379, postgres on 5432) are never used.

Safety nets against leaked processes: ``stop()`` is idempotent and is also registered
with :mod:`atexit`; on Linux the server process additionally gets a parent-death
signal, so it shuts down even if the Python process is SIGKILLed.  Dirs left behind by
such a SIGKILLed run are deleted by the next run (each dir records its owner process).

Environment overrides:

``SESSIONS_GQL_TEST_PG_BIN``
    directory holding ``initdb``, ``postgres``, ``pg_isready`` and ``psql``.
``SESSIONS_GQL_TEST_PG_USER``
    (only when running as root) the OS user to run PostgreSQL as.
``SESSIONS_GQL_TEST_REDIS_SERVER``
    path to the ``redis-server`` binary (or to the directory holding it).
``SESSIONS_GQL_TEST_TMPDIR``
    parent dir for the servers' temp dirs (default: /dev/shm if it is a tmpfs with >= 1 GiB
    free, else $TMPDIR or /tmp).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = [
    "PostgresServer",
    "RedisServer",
    "ServerStartError",
    "find_pg_bin_dir",
    "find_redis_server",
    "free_port",
]

PG_BIN_ENV = "SESSIONS_GQL_TEST_PG_BIN"
PG_USER_ENV = "SESSIONS_GQL_TEST_PG_USER"
REDIS_SERVER_ENV = "SESSIONS_GQL_TEST_REDIS_SERVER"
TMPDIR_ENV = "SESSIONS_GQL_TEST_TMPDIR"

PG_MISSING = "PostgreSQL server binaries not found; run `make test`, which installs Debian's postgresql"
REDIS_MISSING = "redis-server binary not found; run `make test`, which installs Debian's redis-server"

_PG_TOOLS = ("initdb", "postgres", "pg_isready", "psql")
_PG_SUPERUSER = "postgres"
_PG_FALLBACK_OS_USER = "pgtest"
_TMP_PREFIX = "sessions_gql-"
_OWNER_FILE = "owner"  # "<pid> <starttime>" of the Python process that made the dir
_MIN_SHM_FREE = 1 << 30
_START_ATTEMPTS = 3  # retries with a new port if another process grabbed ours meanwhile
_ADDR_IN_USE = re.compile(r"address already in use|could not bind|could not create listen socket", re.I)
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ServerStartError(RuntimeError):
    """A server did not come up; the message includes the tail of its log."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (servers retry on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _version_key(path: str) -> tuple[int, ...]:
    name = Path(path).parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def _has_pg_tools(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / tool, os.X_OK) for tool in _PG_TOOLS)


def find_pg_bin_dir() -> Path:
    """The PostgreSQL server bin dir: $SESSIONS_GQL_TEST_PG_BIN, else the highest
    /usr/lib/postgresql/*/bin, else wherever ``postgres``/``pg_config`` on PATH point."""
    override = os.environ.get(PG_BIN_ENV)
    if override:
        bin_dir = Path(override)
        if not _has_pg_tools(bin_dir):
            raise RuntimeError(f"{PG_MISSING} (${PG_BIN_ENV}={override} lacks one of {', '.join(_PG_TOOLS)})")
        return bin_dir
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for found in candidates:
        if _has_pg_tools(Path(found)):
            return Path(found)
    on_path = shutil.which("postgres") or shutil.which("initdb")
    if on_path and _has_pg_tools(Path(on_path).resolve().parent):
        return Path(on_path).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and _has_pg_tools(Path(out.stdout.strip())):
                return Path(out.stdout.strip())
    raise RuntimeError(PG_MISSING)


def find_redis_server() -> Path:
    """The ``redis-server`` binary: $SESSIONS_GQL_TEST_REDIS_SERVER, else PATH, else /usr/bin."""
    override = os.environ.get(REDIS_SERVER_ENV)
    if override:
        path = Path(override)
        if path.is_dir():
            path = path / "redis-server"
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"{REDIS_MISSING} (${REDIS_SERVER_ENV}={override} is not executable)")
        return path
    for candidate in (shutil.which("redis-server"), "/usr/bin/redis-server", "/usr/local/bin/redis-server"):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise RuntimeError(REDIS_MISSING)


def _read_line(sock: socket.socket, buf: bytearray | None = None) -> bytes:
    """Read one CRLF-terminated RESP line; extra bytes already received stay in ``buf``."""
    buf = bytearray() if buf is None else buf
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    line, _, rest = bytes(buf).partition(b"\r\n")
    buf[:] = rest
    return line


def _log_tail(path: Path | None, lines: int = 40) -> str:
    if path is None:
        return "(no log)"
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(log {path} unreadable: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


# Parent-death signal: the kernel sends ``sig`` to the server when the process that
# spawned it dies, even by SIGKILL.  It is tied to the spawning *thread*, so it is only
# armed when spawning from the main thread.
_PR_SET_PDEATHSIG = 1
try:
    _libc: Any = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _libc = None


def _pdeathsig_preexec(sig: int) -> Callable[[], None] | None:
    if _libc is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    prctl = _libc.prctl

    def preexec() -> None:  # runs in the child after setuid (which would clear it)
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # parent already gone
            os.kill(os.getpid(), sig)

    return preexec


def _terminate(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Send ``sig``, wait up to ``timeout``, then SIGKILL and reap."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


def _base_tmp_dir(for_other_user: bool) -> Path:
    """Where server dirs go: $SESSIONS_GQL_TEST_TMPDIR, else /dev/shm when it is a roomy
    tmpfs (CREATE DATABASE is ~10x faster there than on disk), else the usual temp dir."""
    override = os.environ.get(TMPDIR_ENV)
    if override:
        return Path(override)
    candidates = [Path("/dev/shm"), Path(tempfile.gettempdir()), Path("/tmp")]
    for candidate in candidates:
        if not (candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)):
            continue
        if for_other_user and not _traversable_by_others(candidate):
            continue  # e.g. TMPDIR under /root: the postgres user cannot reach it
        if candidate == Path("/dev/shm"):
            try:
                vfs = os.statvfs(candidate)
            except OSError:
                continue
            if vfs.f_bavail * vfs.f_frsize < _MIN_SHM_FREE:
                continue  # e.g. Docker's default 64 MB /dev/shm
        return candidate
    return Path(tempfile.gettempdir())


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22: starttime


def _reap_stale_dirs(base: Path) -> None:
    """Delete server dirs left by processes that were SIGKILLed (atexit never ran). A dir is
    stale only if its recorded owner process is gone and no postmaster still runs in it."""
    if not Path("/proc/self/stat").exists():
        return
    for path in base.glob(f"{_TMP_PREFIX}*-*"):
        try:
            pid_text, _, started = (path / _OWNER_FILE).read_text().partition(" ")
            owner_alive = _proc_start_time(int(pid_text)) == started.strip()
        except (OSError, ValueError):
            continue  # no owner file (yet): leave it alone
        if owner_alive:
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            pm_pid = int((path / "data" / "postmaster.pid").read_text().split()[0])
            if _proc_start_time(pm_pid) is not None:
                continue
        shutil.rmtree(path, ignore_errors=True)


def _mkdtemp(kind: str, for_other_user: bool = False) -> Path:
    base = _base_tmp_dir(for_other_user)
    _reap_stale_dirs(base)
    path = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{kind}-", dir=base))
    (path / _OWNER_FILE).write_text(f"{os.getpid()} {_proc_start_time(os.getpid()) or ''}")
    return path


def _traversable_by_others(path: Path) -> bool:
    for part in (path.resolve(), *path.resolve().parents):
        try:
            if not part.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


# Everything started and not yet stopped, for the atexit safety net.
_LIVE: set[_Server] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


atexit.register(_stop_all_at_exit)


class _Server:
    """Common lifecycle: context manager, atexit registration, idempotent stop()."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _track(self) -> None:
        with _LIVE_LOCK:
            _LIVE.add(self)

    def _untrack(self) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------- PostgreSQL


def _pg_os_user() -> pwd.struct_passwd:
    """The unprivileged OS user to run PostgreSQL as when we are root (postgres refuses
    to run as root): $SESSIONS_GQL_TEST_PG_USER, else ``postgres`` (created by Debian's
    package), else a ``pgtest`` system user created on the fly."""
    wanted = os.environ.get(PG_USER_ENV)
    names = [wanted] if wanted else [_PG_SUPERUSER, _PG_FALLBACK_OS_USER]
    for name in names:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    name = wanted or _PG_FALLBACK_OS_USER
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    # Serialise with other test processes doing the same (concurrent useradd runs race).
    with open(Path(tempfile.gettempdir()) / f"{_TMP_PREFIX}useradd.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
            cmd = [useradd, "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin"]
            proc = subprocess.run([*cmd, name], capture_output=True, text=True)
            try:
                return pwd.getpwnam(name)
            except KeyError:
                raise RuntimeError(
                    f"running as root, and could not create OS user {name!r} to run PostgreSQL "
                    f"(useradd exit {proc.returncode}): {proc.stderr.strip()}"
                ) from None
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster (initdb into a fresh temp dir) on 127.0.0.1.

    Tuned for tests: fsync/synchronous_commit/full_page_writes off, trust auth, C locale,
    UTF8.  The superuser is ``postgres``; connect as it without a password.
    """

    superuser = _PG_SUPERUSER

    def __init__(
        self,
        *,
        port: int | None = None,
        bin_dir: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.bin_dir = Path(bin_dir) if bin_dir is not None else None
        self.startup_timeout = startup_timeout
        self.extra_settings = dict(settings or {})
        self._fixed_port = port
        self.port: int | None = port
        self.host = "127.0.0.1"
        self.base_dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._run_as: pwd.struct_passwd | None = None
        self._lock = threading.Lock()

    # -- paths ------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self._base / "data"

    @property
    def socket_dir(self) -> Path:
        return self._base / "sock"

    @property
    def log_path(self) -> Path:
        return self._base / "postgres.log"

    @property
    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("PostgresServer is not started")
        return self.base_dir

    def _tool(self, name: str) -> str:
        assert self.bin_dir is not None
        return str(self.bin_dir / name)

    # -- URLs -------------------------------------------------------------------------
    def url_for(self, dbname: str, driver: str = "asyncpg") -> str:
        """SQLAlchemy URL for ``dbname``; ``driver=""`` gives a plain libpq/asyncpg DSN."""
        if self.port is None:
            raise RuntimeError("PostgresServer is not started")
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.superuser}@{self.host}:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        """SQLAlchemy asyncpg URL of the default ``postgres`` database."""
        return self.url_for("postgres")

    @property
    def dsn(self) -> str:
        """Plain ``postgresql://`` DSN of the default database (for asyncpg.connect / psql)."""
        return self.url_for("postgres", driver="")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- lifecycle --------------------------------------------------------------------
    def _spawn_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"cwd": str(self._base), "env": self._env()}
        if self._run_as is not None:
            kwargs.update(user=self._run_as.pw_uid, group=self._run_as.pw_gid, extra_groups=[])
        return kwargs

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", TZ="UTC")
        if self._run_as is not None:
            env.update(HOME=str(self._base), USER=self._run_as.pw_name, LOGNAME=self._run_as.pw_name)
        return env

    def start(self) -> Self:
        with self._lock:
            if self.running:
                raise RuntimeError("PostgresServer is already running")
            if self.bin_dir is None:
                self.bin_dir = find_pg_bin_dir()
            elif not _has_pg_tools(self.bin_dir):
                raise RuntimeError(f"{PG_MISSING} ({self.bin_dir} lacks one of {', '.join(_PG_TOOLS)})")
            self._run_as = _pg_os_user() if os.geteuid() == 0 else None
            self._track()
            try:
                if self.base_dir is None:
                    self._initdb()
                self._launch_with_retries()
            except BaseException:
                self._stop_locked()
                raise
            return self

    def _initdb(self) -> None:
        self.base_dir = _mkdtemp("pg", for_other_user=self._run_as is not None)
        self.socket_dir.mkdir()
        if self._run_as is not None:
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
        cmd = [
            self._tool("initdb"),
            "-D", str(self.data_dir),
            "-U", self.superuser,
            "-A", "trust",
            "-E", "UTF8",
            "--locale=C",
            "-N",
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, **self._spawn_kwargs())
        if proc.returncode != 0:
            raise ServerStartError(
                f"initdb failed (exit {proc.returncode}) in {self.data_dir}:\n{proc.stdout}\n{proc.stderr}"
            )

    def _launch_with_retries(self) -> None:
        for attempt in range(1, _START_ATTEMPTS + 1):
            if self._fixed_port is None and (self.port is None or attempt > 1):
                self.port = free_port()
            try:
                self._launch()
                return
            except ServerStartError as exc:
                port_race = _ADDR_IN_USE.search(str(exc)) is not None
                if not port_race or self._fixed_port is not None or attempt == _START_ATTEMPTS:
                    raise

    def _launch(self) -> None:
        assert self.port is not None
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "logging_collector": "off",
            "log_min_messages": "warning",
            "timezone": "UTC",
            **self.extra_settings,
        }
        cmd = [self._tool("postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        with open(self.log_path, "ab") as log:
            # SIGQUIT = immediate shutdown: kills backends and removes shared memory.
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # keep Ctrl-C in the terminal away from it
                preexec_fn=_pdeathsig_preexec(signal.SIGQUIT),
                **self._spawn_kwargs(),
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout
        cmd = [
            self._tool("pg_isready"), "-q", "-h", self.host, "-p", str(self.port),
            "-U", self.superuser, "-d", "postgres", "-t", "2",
        ]  # fmt: skip
        delay = 0.02
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise ServerStartError(
                    f"postgres exited with code {code} during startup (port {self.port}); "
                    f"log {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            # postmaster.pid says "ready" once *this* postmaster accepts connections (what
            # pg_ctl checks); pg_isready then confirms TCP.  pg_isready alone could be answered
            # by a foreign server that grabbed the port first.
            if self._pidfile_ready() and subprocess.run(cmd, env=self._env()).returncode == 0:
                return
            if time.monotonic() > deadline:
                _terminate(self.proc, signal.SIGQUIT, 5)
                self.proc = None
                raise ServerStartError(
                    f"postgres did not accept connections on {self.host}:{self.port} within "
                    f"{self.startup_timeout:.0f}s; log {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def _pidfile_ready(self) -> bool:
        assert self.proc is not None
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        # line 1: pid, line 4: port, line 8: status (starting/stopping/ready/standby)
        return (
            len(lines) >= 8
            and lines[0].strip() == str(self.proc.pid)
            and lines[3].strip() == str(self.port)
            and lines[7].strip() == "ready"
        )

    def stop(self) -> None:
        """Immediate shutdown, then delete the cluster. Safe to call repeatedly."""
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self.proc is not None:
            _terminate(self.proc, signal.SIGQUIT, 10)
            self.proc = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        if self._fixed_port is None:
            self.port = None
        self._untrack()

    # -- databases --------------------------------------------------------------------
    def psql(self, sql: str, dbname: str = "postgres", *, timeout: float = 60.0) -> str:
        """Run ``sql`` through psql as the superuser; returns unaligned tuples-only output."""
        if not self.running:
            raise RuntimeError("PostgresServer is not running")
        cmd = [
            self._tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", self.host, "-p", str(self.port), "-U", self.superuser, "-d", dbname,
            "-c", sql,
        ]  # fmt: skip
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=self._env(), stdin=subprocess.DEVNULL
        )
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed (exit {proc.returncode}) running {sql!r}: {proc.stderr.strip()}")
        return proc.stdout

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """CREATE DATABASE ``name`` (from ``template``, default template0); returns its asyncpg URL.

        A non-default template must have no open connections while this runs.
        """
        _check_db_name(name)
        template = template or "template0"
        _check_db_name(template)
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE ... WITH (FORCE): disconnects any remaining clients first."""
        _check_db_name(name)
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __repr__(self) -> str:
        state = f"port={self.port} dir={self.base_dir}" if self.running else "stopped"
        return f"<PostgresServer {state}>"


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"unsupported database name {name!r} (use letters, digits and _)")


# --------------------------------------------------------------------------- Redis


class RedisServer(_Server):
    """A throwaway ``redis-server`` on 127.0.0.1 with persistence disabled.

    ``kill()`` simulates a crash (SIGKILL); ``restart()`` brings it back on the same port
    (hence the same ``url``) with an empty dataset.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        binary: str | os.PathLike[str] | None = None,
        startup_timeout: float = 15.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.binary = Path(binary) if binary is not None else None
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args)
        self._fixed_port = port
        self.port: int | None = port
        self.host = "127.0.0.1"
        self.dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("RedisServer is not started")
        return f"redis://{self.host}:{self.port}/0"

    @property
    def log_path(self) -> Path | None:
        return self.dir / "redis.log" if self.dir is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Self:
        """Start; after ``kill()`` this comes back on the same port."""
        with self._lock:
            self._start_locked()
            return self

    def _start_locked(self) -> None:
        if self.running:
            raise RuntimeError("RedisServer is already running")
        if self.binary is None:
            self.binary = find_redis_server()
        elif not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"{REDIS_MISSING} ({self.binary} is not executable)")
        self._track()
        try:
            if self.dir is None:
                self.dir = _mkdtemp("redis")
            keep_port = self.port is not None  # restart/kill+start: must stay on the same port
            for attempt in range(1, _START_ATTEMPTS + 1):
                if self.port is None or (attempt > 1 and not keep_port):
                    self.port = free_port()
                try:
                    self._launch()
                    return
                except ServerStartError as exc:
                    port_race = _ADDR_IN_USE.search(str(exc)) is not None
                    if not port_race or attempt == _START_ATTEMPTS:
                        raise
                    if keep_port:  # e.g. a lingering socket on the old port: give it a moment
                        time.sleep(0.2 * attempt)
        except BaseException:
            self._stop_locked()
            raise

    def _launch(self) -> None:
        assert self.binary is not None and self.dir is not None and self.log_path is not None
        cmd = [
            str(self.binary),
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.dir),
            "--daemonize", "no",
            "--protected-mode", "no",
            *self.extra_args,
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=str(self.dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_pdeathsig_preexec(signal.SIGTERM),
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.port is not None
        deadline = time.monotonic() + self.startup_timeout
        delay = 0.01
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise ServerStartError(
                    f"redis-server exited with code {code} during startup (port {self.port}); "
                    f"log {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            if self._answering_pid() == self.proc.pid:  # not some other redis on our port
                return
            if time.monotonic() > deadline:
                _terminate(self.proc, signal.SIGKILL, 5)
                self.proc = None
                raise ServerStartError(
                    f"redis-server did not answer PING on {self.host}:{self.port} within "
                    f"{self.startup_timeout:.0f}s; log {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    def ping(self, timeout: float = 1.0) -> bool:
        """Raw-socket ``PING`` -> ``+PONG`` (no client library needed)."""
        if self.port is None:
            return False
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
                sock.sendall(b"PING\r\n")
                return _read_line(sock) == b"+PONG"
        except OSError:
            return False

    def _answering_pid(self, timeout: float = 1.0) -> int | None:
        """PING, then ``INFO server`` -> the process_id of whatever answers on our port."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
                sock.sendall(b"PING\r\nINFO server\r\n")
                buf = bytearray()
                if _read_line(sock, buf) != b"+PONG":
                    return None
                header = _read_line(sock, buf)
                if not header.startswith(b"$"):
                    return None
                size = int(header[1:]) + 2
                while len(buf) < size:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return None
                    buf += chunk
                match = re.search(rb"^process_id:(\d+)", bytes(buf[:size]), re.M)
                return int(match.group(1)) if match else None
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL the server (simulated crash); keeps its dir and port for ``start()``/``restart()``."""
        with self._lock:
            if self.proc is not None:
                _terminate(self.proc, signal.SIGKILL, 10)
                self.proc = None

    def restart(self) -> Self:
        """Stop (if running) and start again on the same port; the dataset is empty afterwards."""
        with self._lock:
            if self.port is None:
                raise RuntimeError("RedisServer was never started")
            if self.proc is not None:
                _terminate(self.proc, signal.SIGTERM, 10)
                self.proc = None
            self._start_locked()
            return self

    def stop(self) -> None:
        """SIGTERM (then SIGKILL), wait, delete the dir. Safe to call repeatedly."""
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self.proc is not None:
            _terminate(self.proc, signal.SIGTERM, 10)
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if self._fixed_port is None:
            self.port = None
        self._untrack()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self.running else "stopped"
        return f"<RedisServer {state}>"
