"""`make bench-deliver`: what sending each guest their ticket costs, for a 200-holder issuance.

In one run, against a real local SMTP server (tickets.demo.mail_server, in a child process so
its thread does not compete with the code measured for the GIL):

- deliver: 200 confirmed tickets with their queued e-mails (written by `record_confirmed`, as
  the ledger's confirmation writes them), sent by the worker's `send_queued_deliveries`: each
  message built (HTML, inline QR, PDF) and handed over; messages per second and the time from
  the confirmation to the last message accepted;
- baseline: the same 200 messages' subject and text as plain EmailMessages, without HTML, QR
  or PDF, through one connection to the same server: the bare cost of SMTP;
- milliseconds per PDF (`ticket_pdf` alone over the 200 tickets);
- peak memory of the delivery loop (tracemalloc) for 50 and 200 holders: flat if it does not
  grow with the number of holders.

Tickets and lines are written in bulk (the sandbox's rate limit would make the set-up take
longer than what is measured). Each figure is the median of BENCH_ROUNDS runs (default 3).

Runs on a throwaway test database of whatever DATABASE_URL names (SQLite by default).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.mail import EmailMessage, get_connection  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from tests import factories  # noqa: E402
from tests.bench.support import throwaway_database  # noqa: E402
from tickets.demo.mail_server import MailServer  # noqa: E402
from tickets.models import (  # noqa: E402
    Delivery,
    DeliveryState,
    Environment,
    Issuance,
    IssuanceLine,
    IssuedTicket,
    LineState,
)
from tickets.services.deliveries.messages import build_email  # noqa: E402
from tickets.services.deliveries.pdf import ticket_pdf  # noqa: E402
from tickets.services.deliveries.queueing import record_confirmed  # noqa: E402
from tickets.services.deliveries.sending import send_queued_deliveries  # noqa: E402

HOLDERS = 200
MEMORY_SIZES = (50, 200)
TARGET_SECONDS = 60.0


def rounds() -> int:
    return max(1, int(os.environ.get("BENCH_ROUNDS", "3")))


@contextmanager
def mail_server_in_child_process(maildir: Path) -> Iterator[tuple[str, int]]:
    """A real SMTP server on a free port, serving from a child process (as a mail server is
    another machine); yields its host and port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = multiprocessing.get_context("fork")
    ready, stop = context.Event(), context.Event()

    def serve() -> None:
        server = MailServer(maildir, port=port).start()
        ready.set()
        stop.wait()
        server.stop()

    process = context.Process(target=serve, daemon=True)
    process.start()
    if not ready.wait(timeout=30):
        process.terminate()
        raise RuntimeError("the local mail server did not start")
    try:
        yield "127.0.0.1", port
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def received(maildir: Path) -> int:
    return len(os.listdir(maildir / "new"))


def confirmed_issuance(*, holders: int, template: Issuance) -> list[Delivery]:
    """An issuance of `holders` confirmed tickets, committed with their queued e-mails the way
    the ledger's confirmation writes them; the deliveries as the worker reads them."""
    now = timezone.now()
    with transaction.atomic():
        issuance = Issuance.objects.create(
            idempotency_key=uuid.uuid4(),
            created_by=template.created_by,
            credential=template.credential,
            event=template.event,
            rate=template.rate,
            price_option=template.price_option,
            reason=template.reason,
            sale_type="online",
        )
        run = uuid.uuid4().hex[:8]
        lines = IssuanceLine.objects.bulk_create(
            IssuanceLine(
                issuance=issuance,
                position=i,
                full_name=f"Guest Number{i}",
                email=f"guest{i}.{run}@example.com",
                state=LineState.CONFIRMED,
                language="es" if i % 2 else "en",
            )
            for i in range(1, holders + 1)
        )
        tickets = IssuedTicket.objects.bulk_create(
            IssuedTicket(
                environment=Environment.ALPHA,
                remote_id=f"tkt-{run}-{line.position}",
                line=line,
                event=template.event,
                event_remote_id=template.event.remote_id,
                event_night=template.event.night,
                code=f"FV{run.upper()}{line.position:04d}",
                rate_name=template.rate.name,
                name=line.full_name,
                email=line.email,
                issued_at=now,
            )
            for line in lines
        )
        record_confirmed(issuance, tickets)
    return list(
        Delivery.objects.filter(ticket__line__issuance=issuance, state=DeliveryState.QUEUED)
        .select_related("ticket__event", "ticket__line__issuance__event", "ticket__guest_page")
        .order_by("id")
    )


def deliver(*, holders: int, template: Issuance, maildir: Path) -> tuple[float, list[Delivery]]:
    """Seconds from the confirmation to the last of `holders` messages accepted."""
    before = received(maildir)
    deliveries = confirmed_issuance(holders=holders, template=template)
    started = time.perf_counter()
    sent = send_queued_deliveries()
    elapsed = time.perf_counter() - started
    assert sent == holders, f"{sent} of {holders} sent"
    assert received(maildir) - before == holders
    return elapsed, deliveries


def baseline(deliveries: list[Delivery], *, maildir: Path) -> float:
    """Seconds to send the same messages' subject and text alone, through one connection."""
    plain = [
        EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=message.from_email,
            to=message.to,
        )
        for message in (build_email(delivery) for delivery in deliveries)
    ]
    before = received(maildir)
    smtp = get_connection(timeout=settings.EMAIL_TIMEOUT)
    started = time.perf_counter()
    smtp.open()
    for message in plain:
        smtp.send_messages([message])  # one at a time, as the worker sends
    smtp.close()
    elapsed = time.perf_counter() - started
    assert received(maildir) - before == len(plain)
    return elapsed


def ms_per_pdf(deliveries: list[Delivery]) -> float:
    started = time.perf_counter()
    sizes = [len(ticket_pdf(d.ticket, language=d.language)) for d in deliveries]
    elapsed = time.perf_counter() - started
    assert all(sizes)
    return elapsed * 1000 / len(deliveries)


def peak_memory_kib(*, holders: int, template: Issuance) -> float:
    """The delivery loop's peak of Python allocations above what it started with."""
    confirmed_issuance(holders=holders, template=template)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline_size, _ = tracemalloc.get_traced_memory()
        sent = send_queued_deliveries()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent == holders
    return (peak - baseline_size) / 1024


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as tmp,
        mail_server_in_child_process(Path(tmp) / "maildir") as (host, port),
        throwaway_database(),
    ):
        maildir = Path(tmp) / "maildir"
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = host, port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 10.0
        event = factories.EventFactory(
            name="Bench Night",
            starts_at=timezone.now().replace(hour=22, minute=0) + dt.timedelta(days=7),
        )
        rate = factories.RateFactory(event=event, name="Guest list")
        template = factories.IssuanceFactory(price_option=factories.PriceOptionFactory(rate=rate))
        deliver(holders=10, template=template, maildir=maildir)  # warm up
        count = rounds()
        print(
            f"database: {connection.vendor}; mail server at {host}:{port} (child process); "
            f"{HOLDERS} holders; median of {count} runs"
        )
        deliver_s, baseline_s, pdf_ms = [], [], []
        for _ in range(count):
            elapsed, deliveries = deliver(holders=HOLDERS, template=template, maildir=maildir)
            deliver_s.append(elapsed)
            baseline_s.append(baseline(deliveries, maildir=maildir))
            pdf_ms.append(ms_per_pdf(deliveries))
        sample = build_email(deliveries[0]).message().as_bytes()
        total = statistics.median(deliver_s)
        bare = statistics.median(baseline_s)
        pdf = statistics.median(pdf_ms)
        header = f"{'':>34} | {'seconds':>8} | {'messages/s':>10} | {'ms/message':>10}"
        print(header)
        print("-" * len(header))
        for label, seconds in (
            ("deliver (HTML, QR, PDF, ledger)", total),
            ("baseline (plain text, same SMTP)", bare),
        ):
            print(
                f"{label:>34} | {seconds:>8.2f} | {HOLDERS / seconds:>10.1f} | "
                f"{seconds * 1000 / HOLDERS:>10.2f}"
            )
        print(
            f"\nadded by the delivery over bare SMTP: {(total - bare) * 1000 / HOLDERS:.2f} ms a "
            f"message, of which the PDF {pdf:.2f} ms; a message is {len(sample) / 1024:.1f} KiB."
        )
        peaks = {n: peak_memory_kib(holders=n, template=template) for n in MEMORY_SIZES}
        print(
            "peak memory of the delivery loop (tracemalloc): "
            + ", ".join(f"{n} holders {kib:,.0f} KiB" for n, kib in peaks.items())
        )
        small, large = MEMORY_SIZES
        flat = peaks[large] <= 1.5 * peaks[small] + 256
        print(f"memory flat in the number of holders: {'yes' if flat else 'NO'}.")
        holds = total <= TARGET_SECONDS
        print(
            f"target: all {HOLDERS} delivered within {TARGET_SECONDS:.0f} s of the last "
            f"confirmation: {'holds' if holds else 'MISSED'} ({total:.2f} s)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
