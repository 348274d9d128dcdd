"""Running real `nimbus` processes from tests: free ports, readiness, clean stops."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nimbus.config import SERVICE_PORTS

NIMBUS = [sys.executable, "-m", "nimbus.cli"]


def free_offset() -> int:
    """A port offset under which every service port is free right now."""
    for _ in range(200):
        offset = random.randrange(10_000, 40_000, 10)
        if all(_port_free(port + offset) for port in SERVICE_PORTS.values()):
            return offset
    raise RuntimeError("no free port offset found")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Running:
    """A started nimbus process and the lines it printed until it was ready."""

    process: subprocess.Popen[str]
    lines: list[str]
    offset: int

    def url(self, service: str = "identity") -> str:
        return f"http://127.0.0.1:{SERVICE_PORTS[service] + self.offset}"

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then wait; a process that does not stop in time is killed and fails."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start(
    args: list[str], *, offset: int, env: Mapping[str, str] | None = None, timeout: float = 60
) -> Running:
    """Start `nimbus ARGS… --port-offset OFFSET` and wait for its ready line."""
    process = subprocess.Popen(
        [*NIMBUS, *args, "--port-offset", str(offset)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).parent.parent,
    )
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("nimbus ready:"):
            return Running(process, lines, offset)
    process.kill()
    process.wait()
    raise AssertionError("nimbus did not become ready:\n" + "\n".join(lines))


def rc_environment(adminrc: Path) -> dict[str, str]:
    """The OS_* variables an adminrc exports, as `source adminrc` would set them."""
    env: dict[str, str] = {}
    for line in adminrc.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    return env
