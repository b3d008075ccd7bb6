"""``manage.py fourvenues_sandbox``: run the Fourvenues sandbox until Ctrl-C.

A thin wrapper over :class:`tickets.fourvenues.sandbox.SandboxServer`: it turns options into
server arguments (:func:`server_kwargs`, tested on its own), prints where to point the client,
and serves. Faults given here are persistent; add one-shot faults at run time through the
control endpoint (``POST <control URL>/faults``).
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.fourvenues.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_HOST,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_PORT,
    DEFAULT_SALE_TYPES,
    DEFAULT_SECRET,
    DEFAULT_SEED,
    FAULT_KINDS,
    LATENCY,
    RESPONSE_SHAPE,
    FaultError,
    FaultSpec,
    SandboxServer,
    StateFileError,
)

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _fault(text: str) -> FaultSpec:
    try:
        return FaultSpec.parse(text)
    except FaultError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from exc


def _sale_types(text: str) -> tuple[str, ...]:
    values = tuple(part.strip() for part in text.split(",") if part.strip())
    if not values:
        raise argparse.ArgumentTypeError("give at least one sale type")
    return values


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> signal.Handlers | Callable[..., Any] | int | None:
    """Treat SIGTERM (what process managers such as supervisord send) like Ctrl-C, so the server
    stops cleanly; returns the previous handler, or ``None`` off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def server_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    """``SandboxServer`` keyword arguments from the parsed command options."""
    faults: list[FaultSpec] = list(options.get("fault") or [])
    if options.get("response_shape"):
        faults.append(FaultSpec(RESPONSE_SHAPE, {"shape": options["response_shape"]}, times=0))
    if options.get("latency"):
        faults.append(FaultSpec(LATENCY, {"seconds": options["latency"]}, times=0))
    return {
        "host": options["host"],
        "port": options["port"],
        "seed": options["seed"],
        "api_key": options["api_key"],
        "integration_id": options["integration_id"],
        "secret": options["secret"],
        "allowed_sale_types": options["allowed_sale_types"],
        "strict_quantity": not options["lenient_quantity"],
        "state_file": options["state_file"],
        "faults": faults,
    }


class Command(BaseCommand):
    help = (
        "Run the Fourvenues sandbox: a local stand-in for the Fourvenues Integrations API, with "
        "seeded events, rates, channels and promoters, and faults on demand."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default=DEFAULT_HOST, help="interface to bind (default %(default)s)"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=getattr(settings, "FOURVENUES_SANDBOX_PORT", DEFAULT_PORT),
            help="port (default: settings.FOURVENUES_SANDBOX_PORT if set, else "
            f"{DEFAULT_PORT}; 0 = any free port)",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="catalogue seed")
        parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="accepted X-Api-Key")
        parser.add_argument("--integration-id", default=DEFAULT_INTEGRATION_ID)
        parser.add_argument("--secret", default=DEFAULT_SECRET)
        parser.add_argument(
            "--state-file", default=None, help="JSON file that keeps issued tickets across restarts"
        )
        parser.add_argument(
            "--allowed-sale-types",
            type=_sale_types,
            default=DEFAULT_SALE_TYPES,
            help="comma-separated sale_type values POST /tickets/ accepts (default online)",
        )
        parser.add_argument(
            "--lenient-quantity",
            action="store_true",
            help="ignore a quantity that differs from the number of tickets",
        )
        parser.add_argument(
            "--fault",
            action="append",
            type=_fault,
            metavar="KIND[:k=v,k=v]",
            help="persistent fault from the start; repeatable. Kinds: " + ", ".join(FAULT_KINDS),
        )
        parser.add_argument(
            "--response-shape",
            choices=("object", "array"),
            help="data of POST /tickets/: the first ticket (object, documented) or all (array)",
        )
        parser.add_argument(
            "--latency", type=_non_negative_float, help="delay every API request by SECONDS"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            server = SandboxServer(log=self.stdout.write, **server_kwargs(options))
        except (OSError, StateFileError, ValueError) as exc:
            raise CommandError(f"Cannot start the sandbox: {exc}") from exc
        if server.host not in _LOOPBACK_HOSTS:
            self.stderr.write(
                self.style.WARNING(
                    f"Listening on {server.host}: the control endpoint has no authentication."
                )
            )
        self._print_banner(server)
        previous = _stop_on_sigterm()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the sandbox.")
        finally:
            server.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def _print_banner(self, server: SandboxServer) -> None:
        app = server.app
        lines = [
            self.style.SUCCESS("Fourvenues sandbox running (Ctrl-C to stop)"),
            f"  API base URL     {server.base_url}",
            f"  X-Api-Key        {app.api_key}",
            f"  integration_id   {app.integration_id}",
            f"  secret           {app.secret}",
            f"  control URL      {server.control_url}/  (faults, tickets, reset)",
            f"  catalogue        seed {server.catalogue.seed}, "
            f"{len(server.catalogue.events)} events from {server.catalogue.today.isoformat()}",
        ]
        if app.store.state_file:
            lines.append(f"  state file       {app.store.state_file} ({app.store.count()} tickets)")
        for fault in server.active_faults():
            lines.append(f"  fault            {fault['kind']} {fault['params']}")
        self.stdout.write("\n".join(lines))
