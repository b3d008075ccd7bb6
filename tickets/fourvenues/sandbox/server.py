"""The Fourvenues sandbox server: a stand-in for the Integrations API on a local port.

It serves the endpoints the backoffice uses under ``/integrations`` (fourvenues-api.md §5, plus
refund and check-in, :mod:`.routes`) with the documented envelope, authentication and field
sets (:mod:`.app`), over a seeded catalogue (:mod:`.catalogue`) and an in-memory ticket store
(:mod:`.store`), and it can inject faults on demand (:mod:`.faults`). A small control API under
``/_sandbox`` (:mod:`.control`; no authentication, the server binds to 127.0.0.1 by default)
manages faults and shows the stored tickets, for tests and for staff training.

Typical use::

    server = SandboxServer(seed=1).start()
    requests.get(f"{server.base_url}/channels/", headers=server.api_headers())
    server.inject("error_after_commit", match_method="POST", match_path="/tickets")
    ...
    server.stop()

Built on the standard library only (``http.server``, :mod:`.httpd`), so it runs wherever the
project does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Self

from .app import SandboxApp
from .catalogue import Catalogue, build_catalogue
from .faults import FaultPlan, FaultSpec
from .httpd import SandboxHTTPServer
from .routes import API_PREFIX, CONTROL_PREFIX
from .store import TicketStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_SEED = 1
DEFAULT_API_KEY = "ik_test_sandbox_key"
DEFAULT_INTEGRATION_ID = "sandbox-integration"
DEFAULT_SECRET = "sandbox-secret"  # noqa: S105 -- a published sandbox credential, not a secret
DEFAULT_SALE_TYPES = ("online",)


class SandboxServer:
    """A running Fourvenues sandbox on ``host:port`` (port 0 picks a free one).

    The socket is bound on construction, so :attr:`base_url` is known at once; call
    :meth:`start` to serve from a daemon thread (tests) or :meth:`serve_forever` to serve from the
    calling thread (the management command), and :meth:`stop` when done. Also a context manager.

    Options:

    - ``seed``, ``today``: the catalogue (:func:`.catalogue.build_catalogue`); ``today`` defaults
      to the current date in Europe/Madrid.
    - ``api_key``; ``integration_id`` + ``secret``: the accepted credentials (``None`` turns a
      scheme off). ``scopes``: if given, the endpoints the credentials may use, named like
      ``"POST /tickets/"`` or ``"GET /tickets/{ticketId}"``; other endpoints answer 403.
    - ``allowed_sale_types``: accepted ``sale_type`` values on create.
    - ``strict_quantity``: ``quantity`` must equal ``len(tickets)`` (else it is ignored).
    - ``strict_rates``: an unknown ``ticket_rate_id`` answers 404 (else the ticket is created
      with empty rate and event fields, as the real API, which checks nothing, might).
    - ``strict_references``: an unknown ``channel_id`` or ``referral_id`` answers 400 (else it
      is stored as given, as the real API documents).
    - ``state_file``: JSON file the tickets survive restarts in.
    - ``faults``: faults active from the start (:class:`.faults.FaultSpec` or dicts).
    - ``log``: called with one line per request (the management command prints them).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        seed: int = DEFAULT_SEED,
        api_key: str | None = DEFAULT_API_KEY,
        integration_id: str | None = DEFAULT_INTEGRATION_ID,
        secret: str | None = DEFAULT_SECRET,
        allowed_sale_types: Iterable[str] = DEFAULT_SALE_TYPES,
        strict_quantity: bool = True,
        strict_rates: bool = True,
        strict_references: bool = True,
        state_file: str | Path | None = None,
        today: date | None = None,
        faults: Iterable[FaultSpec | Mapping[str, Any]] = (),
        scopes: Iterable[str] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.app = SandboxApp(
            catalogue=build_catalogue(seed, today),
            store=TicketStore(state_file),
            faults=FaultPlan(faults),
            api_key=api_key,
            integration_id=integration_id,
            secret=secret,
            allowed_sale_types=allowed_sale_types,
            strict_quantity=strict_quantity,
            strict_rates=strict_rates,
            strict_references=strict_references,
            scopes=scopes,
        )
        self._httpd = SandboxHTTPServer((host, port), self.app)
        self._httpd.log = log
        self.app.root_url = self.url
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._loop_running = False
        self._stopped = False

    # ----------------------------------------------------------------------- addresses

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` (no path)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL, ``http://host:port/integrations``, for the client's settings."""
        return f"{self.url}{API_PREFIX}"

    @property
    def control_url(self) -> str:
        """The control API, ``http://host:port/_sandbox``."""
        return f"{self.url}{CONTROL_PREFIX}"

    def api_headers(self, scheme: str = "key") -> dict[str, str]:
        """Valid auth headers: ``"key"`` (``X-Api-Key``) or ``"v1"`` (``integration_id`` +
        ``secret``)."""
        if scheme == "key":
            return {"X-Api-Key": self.app.api_key or ""}
        if scheme == "v1":
            return {
                "integration_id": self.app.integration_id or "",
                "secret": self.app.secret or "",
            }
        raise ValueError(f"unknown auth scheme {scheme!r}")

    # ----------------------------------------------------------------------- state

    @property
    def catalogue(self) -> Catalogue:
        """The seeded catalogue being served."""
        return self.app.catalogue

    @property
    def store(self) -> TicketStore:
        return self.app.store

    @property
    def request_log(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every ``/integrations`` request received (path without query),
        e.g. ``("POST", "/integrations/tickets/")``, including rejected ones."""
        return self.app.request_log

    def tickets(self) -> list[dict[str, Any]]:
        """Copies of every stored ticket (full form), in creation order."""
        return self.app.store.all()

    def wait_for_tickets(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` tickets are stored and return them; ``TimeoutError`` otherwise."""
        if not self.app.store.wait_for(count, timeout):
            raise TimeoutError(f"fewer than {count} tickets stored after {timeout}s")
        return self.tickets()

    def refund_count(self, ticket_id: str) -> int:
        """How many refund requests reached the ticket (``GET /_sandbox/refunds``)."""
        return self.app.store.refund_count(ticket_id)

    def reset(self) -> None:
        """Forget every ticket, fault and logged request (as ``POST /_sandbox/reset``)."""
        self.app.reset()

    # ----------------------------------------------------------------------- faults

    def inject(
        self,
        kind: str,
        *,
        times: int | None = 1,
        match_method: str | None = None,
        match_path: str | None = None,
        after: int = 0,
        **params: Any,
    ) -> dict[str, Any]:
        """Activate a fault (see :mod:`.faults`); returns it as the control endpoint shows it."""
        spec = FaultSpec(
            kind=kind,
            params=params,
            match_method=match_method,
            match_path=match_path,
            times=0 if times is None else times,
            after=after,
        )
        return self.app.faults.add(spec)

    def active_faults(self) -> list[dict[str, Any]]:
        return self.app.faults.active()

    def clear_faults(self) -> None:
        self.app.faults.clear()

    # ----------------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Serve from a daemon thread; returns ``self``."""
        with self._lifecycle:
            if self._stopped:
                raise RuntimeError("a stopped sandbox cannot be restarted; create a new one")
            if self._thread is None:
                self._loop_running = True
                # A short poll keeps stop() fast: tests start and stop a server each.
                self._thread = threading.Thread(
                    target=self._serve,
                    args=(0.01,),
                    name=f"fourvenues-sandbox:{self.port}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve from the calling thread until :meth:`stop` (from another thread) or Ctrl-C."""
        with self._lifecycle:
            if self._stopped or self._thread is not None:
                raise RuntimeError("the sandbox is already serving or stopped")
            self._loop_running = True
        self._serve(0.2)

    def _serve(self, poll_interval: float) -> None:
        try:
            self._httpd.serve_forever(poll_interval=poll_interval)
        finally:
            self._loop_running = False

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, release hanging and idle connections, close the socket. Idempotent."""
        with self._lifecycle:
            if self._stopped:
                return
            self._stopped = True
        self.app.stopping.set()
        if self._loop_running:
            self._httpd.shutdown()
        handlers = self._httpd.release_connections()
        self._httpd.server_close()
        for thread in handlers:
            if thread is not threading.current_thread():
                thread.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SandboxServer {self.base_url} seed={self.catalogue.seed}>"
