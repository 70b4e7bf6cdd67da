"""A lean keep-alive HTTP/1.1 client for load generators that must read each answer before the next request.

wrk cannot carry a session id from one request into the next, and httpx spent about 4 ms of CPU per W1
transition (three requests), on a machine of two cores that the API and PostgreSQL share with it: the load
generator took CPU from what it measures. This one writes a request with one `write`, reads the status line and
headers with one `readuntil`, and the body by its Content-Length (or its chunks): about a tenth of that.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit


class HttpError(RuntimeError):
    """An answer that is not 200, or a connection that closed mid-answer."""


class Http1:
    """One connection to `base` (http://host:port), opened on first use and reopened if the server closed it."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"http://host:port expected, not {base!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Http1:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
        self._reader = self._writer = None

    async def post_json(self, path: str, body: Any, headers: dict[str, str]) -> Any:
        """POST `body` as JSON; the answer's JSON. A non-200 answer raises HttpError with its body."""
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(payload)}\r\n{head}\r\n").encode() + payload
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(request)
        status, fields = _head(await self._reader.readuntil(b"\r\n\r\n"))
        if fields.get("transfer-encoding", "").lower() == "chunked":
            answer = await _chunks(self._reader)
        else:
            answer = await self._reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        if status != 200:
            raise HttpError(f"HTTP {status}: {answer[:500]!r}")
        return json.loads(answer)


def _head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    return status, fields


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")  # the empty trailer
    return b"".join(parts)
