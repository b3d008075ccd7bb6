"""Every URL of the app, requested (GET) by anonymous, issuer, manager and admin, gets the answer
in MATRIX: one table for the whole app, and a test that fails when a URL pattern is missing
from it, so a new page cannot ship without saying who may open it.

Objects in the URLs belong to someone else (another issuer's issuance, ticket and saved search),
so an issuer's 404 there is the object-level check. POST-only views answer 405 to whoever passes
their permission check, 403 to whoever does not.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests import factories
from tickets.demo.mail_server import open_maildir
from tickets.guest_links import guest_page_token
from tickets.models import (
    Allowance,
    Credential,
    Discrepancy,
    DiscrepancyKind,
    ExportJob,
    GuestPage,
    IssuedTicket,
    IssuerGroup,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
    SavedSearch,
)

ANON, ISSUER, MANAGER, ADMIN = "anonymous", "issuer", "manager", "admin"
VIEWERS = (ANON, ISSUER, MANAGER, ADMIN)
LOGIN = 302  # anonymous users are sent to the login page


@dataclass
class World:
    ticket: IssuedTicket
    saved_search: SavedSearch
    credential: Credential
    person: User
    discrepancy: Discrepancy
    mailbox_key: str  # a message in the training mailbox (tests/conftest.py sets its directory)
    guest_token: str  # the signed link to the ticket's guest page

    @property
    def issuance(self):
        return self.ticket.line.issuance


Args = Callable[[World], list[object]]


def none(w: World) -> list[object]:
    return []


def issuance(w: World) -> list[object]:
    return [w.issuance.pk]


def line(w: World) -> list[object]:
    return [w.issuance.pk, w.ticket.line.pk]


def key(w: World) -> list[object]:
    return [uuid.uuid4()]


def an_allowance(w: World) -> list[object]:
    return [Allowance.objects.get_or_create(user=w.person, people=3)[0].pk]


def an_export_job(w: World) -> list[object]:
    """Someone else's export (the ticket's issuer's): nobody else may see it, a manager neither."""
    owner = w.ticket.line.issuance.created_by
    return [ExportJob.objects.get_or_create(owner=owner, format="xlsx", columns=["code"])[0].pk]


def an_issuer_group(w: World) -> list[object]:
    return [IssuerGroup.objects.get_or_create(name="Door team")[0].pk]


def row(anon: int, issuer: int, manager: int, admin: int) -> dict[str, int]:
    return dict(zip(VIEWERS, (anon, issuer, manager, admin), strict=True))


EVERYONE = row(200, 200, 200, 200)
SIGNED_IN = row(LOGIN, 200, 200, 200)
MANAGERS = row(LOGIN, 403, 200, 200)
ADMINS = row(LOGIN, 403, 403, 200)
OWN_OBJECT = row(LOGIN, 404, 200, 200)  # issuers: only their own issuances and tickets

# url name -> (positional arguments, expected status per viewer)
MATRIX: dict[str, tuple[Args, dict[str, int]]] = {
    "home": (none, SIGNED_IN),
    "healthz": (none, EVERYONE),
    "metrics": (none, row(404, 404, 404, 404)),  # closed without COMPS_METRICS_TOKEN
    "login": (none, EVERYONE),
    "logout": (none, row(LOGIN, 405, 405, 405)),
    "switch-language": (none, row(405, 405, 405, 405)),  # a POST, from anyone (the login page)
    # Two-factor sign-in. The suite runs with COMPS_REQUIRE_TWO_FACTOR off: no one needs to set
    # it up or type a code, so those two pages send everyone on (tests/views/test_two_factor.py).
    "two-factor": (none, SIGNED_IN),
    "two-factor-verify": (none, row(LOGIN, 302, 302, 302)),
    "two-factor-enrol": (none, row(LOGIN, 302, 302, 302)),
    "two-factor-recovery-codes": (none, row(LOGIN, 405, 405, 405)),
    # Issuing
    "issue-new": (none, SIGNED_IN),
    "issue-rates": (none, SIGNED_IN),
    "issue-options": (none, SIGNED_IN),
    "issue-allowances": (none, SIGNED_IN),
    "issue-row": (none, row(LOGIN, 400, 400, 400)),  # without its `index`: a plain 400
    "issue-import": (none, row(LOGIN, 405, 405, 405)),
    "issue-review": (key, row(LOGIN, 302, 302, 302)),  # an unknown key: back to a fresh form
    "issue-confirm": (key, row(LOGIN, 405, 405, 405)),
    "issue-review-remove": (key, row(LOGIN, 405, 405, 405)),
    "issue-again": (issuance, OWN_OBJECT),  # issuers: only their own issuances
    # Issuances
    "issuance-list": (none, SIGNED_IN),
    "issuance-detail": (issuance, OWN_OBJECT),
    "issuance-progress": (issuance, OWN_OBJECT),
    "issuance-resolve": (issuance, row(LOGIN, 405, 405, 405)),
    "issuance-codes-csv": (issuance, OWN_OBJECT),
    "issuance-print": (issuance, OWN_OBJECT),
    "issuance-line-retry": (line, row(LOGIN, 405, 405, 405)),
    "issuance-line-qr": (line, OWN_OBJECT),
    "issuance-line-card": (line, OWN_OBJECT),
    # Delivery to guests (tickets/views/deliveries.py)
    "issuance-line-resend": (line, row(LOGIN, 405, 405, 405)),
    "issuance-line-email": (line, OWN_OBJECT),
    "issuance-line-whatsapp": (line, row(LOGIN, 405, 405, 405)),
    "issuance-resend-failed": (issuance, row(LOGIN, 405, 405, 405)),
    "issuance-whatsapp": (issuance, OWN_OBJECT),
    "catalogue-refresh": (none, row(LOGIN, 405, 405, 405)),
    "catalogue-status": (none, SIGNED_IN),
    # Tickets, exports, reports
    "ticket-search": (none, SIGNED_IN),
    "ticket-export": (none, SIGNED_IN),
    "export-job-list": (none, SIGNED_IN),
    "export-job-create": (none, row(LOGIN, 405, 405, 405)),
    "export-job-detail": (an_export_job, row(LOGIN, 404, 404, 404)),
    "export-job-status": (an_export_job, row(LOGIN, 404, 404, 404)),
    "export-job-download": (an_export_job, row(LOGIN, 404, 404, 404)),
    "ticket-search-document": (none, row(LOGIN, 405, 405, 405)),
    "saved-search-save": (none, row(LOGIN, 405, 405, 405)),
    "saved-search-open": (lambda w: [w.saved_search.pk], row(LOGIN, 404, 404, 404)),  # own only
    "saved-search-delete": (lambda w: [w.saved_search.pk], row(LOGIN, 405, 405, 405)),
    "ticket-detail": (lambda w: [w.ticket.pk], OWN_OBJECT),
    "ticket-document-reveal": (lambda w: [w.ticket.pk], row(LOGIN, 405, 405, 405)),
    "reports": (none, MANAGERS),
    # Allowances and groups of issuers (tickets/views/allowances.py)
    "allowance-list": (none, MANAGERS),
    "allowance-new": (none, MANAGERS),
    "allowance-edit": (an_allowance, MANAGERS),
    "allowance-delete": (an_allowance, row(LOGIN, 403, 405, 405)),
    "issuer-group-new": (none, MANAGERS),
    "issuer-group-edit": (an_issuer_group, MANAGERS),
    "issuer-group-delete": (an_issuer_group, row(LOGIN, 403, 405, 405)),
    # Approvals (four eyes) and the rules managers set
    "approval-queue": (none, MANAGERS),
    "approval-decide": (none, row(LOGIN, 403, 405, 405)),
    "approval-decide-issuance": (issuance, row(LOGIN, 403, 405, 405)),
    "policies": (none, MANAGERS),
    "policy-event": (lambda w: [w.ticket.event.pk], MANAGERS),
    # Withdrawing comps
    "withdrawal-list": (none, MANAGERS),
    "ticket-withdraw": (lambda w: [w.ticket.pk], OWN_OBJECT),
    "withdrawal-retry": (lambda w: [w.ticket.pk], row(LOGIN, 405, 405, 405)),
    "event-summary": (lambda w: [w.ticket.event.pk], MANAGERS),
    # The door (tickets/views/door.py)
    "door-lookup": (none, MANAGERS),
    "door-list": (lambda w: [w.ticket.event.pk], MANAGERS),
    "door-list-csv": (lambda w: [w.ticket.event.pk], MANAGERS),
    "door-list-pdf": (lambda w: [w.ticket.event.pk], MANAGERS),
    # Reconciliation
    "reconciliation": (none, MANAGERS),
    "reconciliation-event": (lambda w: [w.ticket.event.pk], MANAGERS),
    "reconciliation-start": (lambda w: [w.ticket.event.pk], row(LOGIN, 403, 405, 405)),
    "reconciliation-runs": (none, MANAGERS),
    "discrepancy-queue": (none, MANAGERS),
    "discrepancy-acknowledge": (none, row(LOGIN, 403, 405, 405)),
    "discrepancy-adopt": (lambda w: [w.discrepancy.pk], row(LOGIN, 403, 405, 405)),
    "discrepancy-recheck": (lambda w: [w.discrepancy.pk], row(LOGIN, 403, 405, 405)),
    # Holders' personal data (tickets/views/purge.py): the page, and one event's "remove now"
    # (GET: its confirmation).
    "purge": (none, MANAGERS),
    "purge-event": (lambda w: [w.ticket.event.pk], MANAGERS),
    # The training mailbox (only where COMPS_MAILBOX_DIR is set)
    "mailbox": (none, SIGNED_IN),
    # The guest's own pages: anyone holding the signed link, no login.
    "guest-page": (lambda w: [w.guest_token], EVERYONE),
    "guest-page-qr": (lambda w: [w.guest_token], EVERYONE),
    "guest-page-pdf": (lambda w: [w.guest_token], EVERYONE),
    # Served only once its keys are configured (the matrix world configures none).
    "mail-tracking-mailgun": (none, row(404, 404, 404, 404)),
    "mailbox-message": (lambda w: [w.mailbox_key], SIGNED_IN),
    # Admins
    "credential-list": (none, ADMINS),
    "credential-new": (none, ADMINS),
    "credential-detail": (lambda w: [w.credential.pk], ADMINS),
    "credential-test": (lambda w: [w.credential.pk], row(LOGIN, 403, 403, 405)),
    "credential-active": (lambda w: [w.credential.pk], row(LOGIN, 403, 403, 405)),
    "user-list": (none, ADMINS),
    "user-new": (none, ADMINS),
    "user-detail": (lambda w: [w.person.pk], ADMINS),
    "user-role": (lambda w: [w.person.pk], row(LOGIN, 403, 403, 405)),
    "user-active": (lambda w: [w.person.pk], row(LOGIN, 403, 403, 405)),
    "user-password": (lambda w: [w.person.pk], row(LOGIN, 403, 403, 405)),
    "user-unlock": (lambda w: [w.person.pk], row(LOGIN, 403, 403, 405)),
    "user-two-factor-reset": (lambda w: [w.person.pk], row(LOGIN, 403, 403, 405)),
    "audit-log": (none, ADMINS),
    # Django's admin site (one entry for the whole site): only staff get past its login page,
    # and admins are staff (they keep the reasons and supplements there).
    "admin:index": (none, row(LOGIN, LOGIN, LOGIN, 200)),
}


def _url_names(patterns: list[object], namespace: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if pattern.namespace == "admin":
                yield "admin:index"  # the admin site guards its own pages
                continue
            yield from _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"URL pattern {pattern.pattern} has no name"
            yield f"{namespace}{pattern.name}"


def test_every_url_of_the_app_is_in_the_matrix():
    names = set(_url_names(get_resolver().url_patterns))
    assert names - set(MATRIX) == set(), "add these URLs to MATRIX, with who may open them"
    assert set(MATRIX) - names == set(), "these MATRIX entries no longer exist"


def _a_discrepancy(ticket: IssuedTicket) -> Discrepancy:
    now = timezone.now()
    run = ReconciliationRun.objects.create(
        event=ticket.event,
        credential=ticket.line.issuance.credential,
        trigger=RunTrigger.SCHEDULE,
        full=True,
        status=RunStatus.SUCCEEDED,
        started_at=now,
        finished_at=now,
    )
    return Discrepancy.objects.create(
        run=run,
        event=ticket.event,
        environment=ticket.environment,
        ticket=ticket,
        remote_id=ticket.remote_id,
        kind=DiscrepancyKind.MISSING_REMOTELY,
        last_seen_at=now,
    )


def _a_received_message(ticket: IssuedTicket) -> str:
    """A message in the training mailbox, in words the Spanish test knows as data."""
    message = EmailMessage()
    message["From"] = "comps@example.com"
    message["To"] = "comps@example.com"
    message["Subject"] = ticket.event.name
    message.set_content(ticket.name)
    message.add_alternative(f'<p style="color: red">{ticket.name}</p>', subtype="html")
    return str(open_maildir(Path(settings.COMPS_MAILBOX_DIR)).add(message))


def build_world() -> World:
    ticket = factories.IssuedTicketFactory()  # issued by an issuer of its own
    return World(
        ticket=ticket,
        saved_search=SavedSearch.objects.create(owner=ticket.line.issuance.created_by, name="x"),
        credential=ticket.line.issuance.credential,
        person=factories.issuer(),
        discrepancy=_a_discrepancy(ticket),
        mailbox_key=_a_received_message(ticket),
        guest_token=guest_page_token(
            GuestPage.objects.create(ticket=ticket, key=secrets.token_urlsafe(32))
        ),
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def viewers(db) -> dict[str, User | None]:
    return {
        ANON: None,
        ISSUER: factories.issuer(),
        MANAGER: factories.manager(),
        ADMIN: factories.admin(),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_gets_the_expected_answer(client, world, viewers, name):
    args, expected = MATRIX[name]
    url = reverse(name, args=args(world))
    answers = {}
    for viewer in VIEWERS:
        client.logout()
        if viewers[viewer] is not None:
            client.force_login(viewers[viewer])
        response = client.get(url)
        answers[viewer] = response.status_code
        if response.status_code == LOGIN and viewer == ANON:
            assert "/login/" in response["Location"], url
        if viewer != ANON and response.status_code == 200:
            # Holders' data is on most pages and every export: kept by no browser or proxy.
            assert "no-store" in response.get("Cache-Control", ""), url
    assert answers == expected, url
