"""`make run`'s processes under supervisord (`supervisord.conf`): a process that dies is started
again, and the others keep running meanwhile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures.worker import database_url
from tests.process_support import free_port, wait_for

PROGRAMS = {"sandbox", "mail", "worker", "scheduler", "web"}


class Supervisor:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.web_url = f"http://127.0.0.1:{env['WEB_PORT']}"

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "supervisorctl"), "-c", "supervisord.conf", *args],
            env=self.env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout

    def states(self) -> dict[str, tuple[str, int | None]]:
        """program -> (state, pid) as `supervisorctl status` prints them."""
        states: dict[str, tuple[str, int | None]] = {}
        for line in self.ctl("status").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] in PROGRAMS:
                pid = int(parts[3].rstrip(",")) if parts[1] == "RUNNING" else None
                states[parts[0]] = (parts[1], pid)
        return states

    def all_running(self) -> bool:
        states = self.states()
        return set(states) == PROGRAMS and all(s == "RUNNING" for s, _ in states.values())


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DATABASE_URL": database_url(),
        "RUN_DIR": str(tmp_path),
        "WEB_PORT": str(free_port()),
        "FOURVENUES_SANDBOX_PORT": str(free_port()),
        "FOURVENUES_SANDBOX_STATE": str(tmp_path / "sandbox-state.json"),
        "MAIL_PORT": str(free_port()),
        "COMPS_MAILBOX_DIR": str(tmp_path / "mailbox"),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "supervisord"), "-c", "supervisord.conf"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    supervised = Supervisor(env)
    try:
        wait_for(supervised.all_running, timeout=90, what="every program running")
        yield supervised
    finally:
        process.send_signal(signal.SIGTERM)  # what Ctrl-C does: every program stopped
        process.wait(timeout=60)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


# Committed, for the processes to see; serialized, so the tests after it find the roles.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_process_that_dies_is_started_again_and_the_others_keep_running(supervisor):
    def started_again(program: str, old_pid: int) -> Callable[[], bool]:
        def check() -> bool:
            state, pid = supervisor.states()[program]
            return state == "RUNNING" and pid != old_pid

        return check

    for victim in ("worker", "web"):
        before = supervisor.states()
        os.kill(before[victim][1], signal.SIGKILL)

        wait_for(started_again(victim, before[victim][1]), timeout=60, what=f"the {victim} back")
        after = supervisor.states()
        for program in PROGRAMS - {victim}:
            assert after[program] == before[program], f"{program} was disturbed"
    wait_for(lambda: _healthy(supervisor.web_url), timeout=60, what="the web app answering")
