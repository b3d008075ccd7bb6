"""For tests that start real processes (the production stack, `make run`'s supervisor)."""

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.2
) -> float:
    """Poll every `every` seconds until `condition` holds (the processes run on their own clock,
    not the test's); returns when it held, on `time.monotonic`'s clock."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        time.sleep(every)
    return time.monotonic()


def collect_static(env: dict[str, str] | None = None) -> None:
    """`manage.py collectstatic`, as the image's build runs it: a server with DEBUG off serves
    the collected, hashed files, and a fresh clone has none (every page would answer 500). In
    its own process: a test's settings swap the manifest storage out."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        check=True,
        timeout=120,
    )
