"""Running the stock Node clients of tests/interop/js: installed from the committed lock, every run bounded."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

JS = Path(__file__).parent / "js"
SCRIPT = JS / "scenarios.cjs"
NPM_CI_TIMEOUT = 300


def ensure_node_modules() -> None:
    """`npm ci` from package-lock.json unless node_modules is already installed from this very lock."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "the interop suite needs node and npm (`make test` installs Debian's nodejs and npm)"
    installed = JS / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= (JS / "package-lock.json").stat().st_mtime:
        return
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, capture_output=True,
                          text=True, timeout=NPM_CI_TIMEOUT, check=False)
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"


class NodeRun:
    """One scenario in a Node process: the config goes in on stdin, one JSON result comes out on stdout."""

    def __init__(self, scenario: str, config: dict[str, Any], *, timeout: float = 20.0) -> None:
        self.scenario = scenario
        self.config = {**config, "timeoutMs": int(timeout * 1000)}
        self.timeout = timeout
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> NodeRun:
        self.process = await asyncio.create_subprocess_exec(
            "node", str(SCRIPT), self.scenario, cwd=JS, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        await self.send(self.config)
        return self

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        await self.process.stdin.drain()

    async def result(self) -> dict[str, Any]:
        """The script's JSON result; the process is killed if it outlives its timeout (plus a margin)."""
        assert self.process is not None
        try:
            stdout, stderr = await asyncio.wait_for(self.process.communicate(), timeout=self.timeout + 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"node {self.scenario} did not finish within {self.timeout + 5} s") from None
        output = stdout.decode().strip().splitlines()
        assert output, f"node {self.scenario} printed nothing (exit {self.process.returncode}):\n{stderr.decode()}"
        result: dict[str, Any] = json.loads(output[-1])
        assert self.process.returncode == 0, f"node {self.scenario} exit {self.process.returncode}: {result}\n" \
                                             f"{stderr.decode()}"
        return result

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def run(scenario: str, config: dict[str, Any], *, seconds: float = 20.0) -> dict[str, Any]:
    node = await NodeRun(scenario, config, timeout=seconds).start()
    try:
        return await node.result()
    finally:
        await node.kill()
