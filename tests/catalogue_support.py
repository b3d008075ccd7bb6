"""Helpers shared by the catalogue tests: a sandbox of their own and a credential for it."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from tickets.fourvenues.sandbox import Catalogue, SandboxServer
from tickets.models import Credential, Environment
from tickets.services.credentials import register_credential


def start_sandbox(sandbox_factory: Callable[..., SandboxServer], settings: Any) -> SandboxServer:
    """A sandbox with a key no other test uses, and a client limit high enough not to wait.

    The client keeps Fourvenues' 10 requests/s per key process-wide, and a limiter never loosens
    once created; a fresh key gets a fresh limiter at the raised rate.
    """
    settings.FOURVENUES_RATE_LIMIT = 10_000
    return sandbox_factory(api_key=f"ik_test_catalogue_{uuid.uuid4().hex}")


def register(server: SandboxServer, **overrides: Any) -> Credential:
    fields: dict[str, Any] = {
        "name": "Sandbox",
        "environment": Environment.ALPHA,
        "api_key": server.app.api_key,
        "base_url_override": server.base_url,
        "actor": None,
    }
    return register_credential(**{**fields, **overrides})


def serve(server: SandboxServer, edit: Callable[[dict[str, Any]], None]) -> None:
    """Make the running sandbox serve an edited copy of its catalogue from now on.

    `edit` receives a deep copy of `Catalogue.as_dict()` (channels, users, events, rates) and
    changes it in place; it is how a test makes Fourvenues stop listing something.
    """
    data = copy.deepcopy(server.catalogue.as_dict())
    edit(data)
    old = server.catalogue
    server.app.catalogue = Catalogue(
        seed=old.seed,
        today=old.today,
        channels=data["channels"],
        users=data["users"],
        events=data["events"],
        rates=data["rates"],
    )
