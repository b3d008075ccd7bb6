"""The load `make bench-load` puts on a server (run by locust, not imported by the suite).

Each simulated person is a signed-in issuer (a session made beforehand by bench_load, so the
measure is of the pages, not of password hashing), thinks 1 s between pages and goes through a
realistic mix: the home page, a search with a term, one of their tickets, their issuances, one
issuance. A page counts as an error unless it answers 200 itself (a redirect to the sign-in page
would otherwise pass as the login form's 200).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import HttpUser, constant, task

PLAN = json.loads(Path(os.environ["BENCH_LOAD_PLAN"]).read_text())
_next_person = itertools.count()


class Issuer(HttpUser):
    wait_time = constant(1)

    def on_start(self) -> None:
        people = PLAN["people"]
        self.person = people[next(_next_person) % len(people)]
        self.client.cookies.set(PLAN["session_cookie"], self.person["session"])
        self.random = random.Random(self.person["session"])

    def page(self, path: str, name: str, params: dict[str, str] | None = None) -> None:
        with self.client.get(
            path, params=params, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")

    @task(2)
    def home(self) -> None:
        self.page("/", "home")

    @task(3)
    def search(self) -> None:
        self.page("/tickets/", "search", {"q": self.random.choice(PLAN["terms"])})

    @task(2)
    def ticket(self) -> None:
        self.page(f"/tickets/{self.random.choice(self.person['tickets'])}/", "ticket")

    @task(2)
    def my_issuances(self) -> None:
        self.page("/issuances/", "my issuances")

    @task(2)
    def issuance(self) -> None:
        self.page(f"/issuances/{self.random.choice(self.person['issuances'])}/", "issuance")
