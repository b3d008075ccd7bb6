"""Allowances enforced at submit: within, over (waits for approval or is refused), the size
threshold, the race for the last places, the cut-off and its override; and managers' changes."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from tests import factories as f
from tickets.drafts import HolderData, IssuanceDraft
from tickets.models import (
    Allowance,
    AllowancePeriod,
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    EventPolicy,
    Issuance,
    IssuanceStatus,
    IssuerGroup,
    LineState,
    Reason,
    VenuePolicy,
)
from tickets.services import allowances as service
from tickets.services.issuance import IssuanceError, submit_issuance

SEND_TASK = "tickets.tasks.send_issuance"


def a_draft(option, holders: int, *, promoter=None) -> IssuanceDraft:
    return IssuanceDraft(
        event_id=option.rate.event_id,
        rate_id=option.rate_id,
        price_option_id=option.pk,
        reason_id=Reason.objects.get(label="Press").pk,
        sale_type="online",
        promoter_id=promoter.pk if promoter else None,
        holders=tuple(
            HolderData(full_name=f"Guest {uuid.uuid4().hex[:6]}", email=f"g{i}@example.com")
            for i in range(holders)
        ),
    )


def submit(user, option, holders: int = 1, **kwargs) -> Issuance:
    issuance, _created = submit_issuance(
        idempotency_key=kwargs.pop("key", None) or uuid.uuid4(),
        draft=a_draft(option, holders, promoter=kwargs.pop("promoter", None)),
        user=user,
        **kwargs,
    )
    return issuance


def sends_queued(issuance: Issuance) -> int:
    return DBTaskResult.objects.filter(task_path=SEND_TASK, args_kwargs__args=[issuance.pk]).count()


@pytest.fixture
def option(db):
    f.CredentialFactory()
    return f.PriceOptionFactory(price=Decimal("20.00"))


@pytest.fixture
def issuer(db):
    return f.issuer()


# --- Within, over, refused ---------------------------------------------------------------------


def test_within_the_allowance_the_issuance_is_queued_as_always(issuer, option):
    Allowance.objects.create(user=issuer, event=option.rate.event, people=3)
    issuance = submit(issuer, option, 3)
    assert issuance.status == IssuanceStatus.IN_PROGRESS
    assert set(issuance.lines.values_list("state", flat=True)) == {LineState.PENDING}
    assert sends_queued(issuance) == 1
    assert not ApprovalRequest.objects.exists()


def test_over_the_allowance_the_lines_wait_for_approval_and_nothing_is_queued(issuer, option):
    allowance = Allowance.objects.create(user=issuer, event=option.rate.event, people=3)
    submit(issuer, option, 2)
    issuance = submit(issuer, option, 2)
    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.AWAITING_APPROVAL
    assert set(issuance.lines.values_list("state", flat=True)) == {LineState.PENDING_APPROVAL}
    assert sends_queued(issuance) == 0
    request = ApprovalRequest.objects.get(issuance=issuance)
    assert request.state == ApprovalState.REQUESTED
    (ground,) = request.grounds
    assert ground["kind"] == "allowance"
    assert ground["allowance"] == allowance.pk
    assert (ground["people_limit"], ground["people_used"], ground["people_left"]) == (3, 2, 1)
    assert ground["people_asked"] == 2
    assert ground["holder_kind"] == "user"
    entry = AuditEntry.objects.get(action="approval.requested")
    assert entry.target == f"issuance:{issuance.pk}"
    assert entry.data["grounds"][0]["allowance"] == allowance.pk


def test_waiting_lines_hold_no_places(issuer, option):
    Allowance.objects.create(user=issuer, event=option.rate.event, people=2)
    waiting = submit(issuer, option, 3)
    assert waiting.status == IssuanceStatus.AWAITING_APPROVAL
    # The two places are still free: the waiting three do not count until approved.
    assert submit(issuer, option, 2).status == IssuanceStatus.IN_PROGRESS


def test_over_the_face_value_waits_too(issuer, option):
    Allowance.objects.create(
        user=issuer, event=option.rate.event, people=10, face_value=Decimal("50")
    )
    assert submit(issuer, option, 2).status == IssuanceStatus.IN_PROGRESS  # 40 €
    waiting = submit(issuer, option, 1)  # 60 € > 50 €
    (ground,) = waiting.approval_request.grounds
    assert (ground["value_used"], ground["value_left"], ground["value_asked"]) == (
        "40.00",
        "10.00",
        "20.00",
    )


def test_approval_switched_off_for_the_event_refuses_and_writes_nothing(issuer, option):
    event = option.rate.event
    EventPolicy.objects.create(event=event, approval_required=False)
    Allowance.objects.create(user=issuer, event=event, people=3)
    submit(issuer, option, 2)
    with pytest.raises(IssuanceError, match="1 place left; this issuance asks for 2"):
        submit(issuer, option, 2)
    assert Issuance.objects.count() == 1
    assert not ApprovalRequest.objects.exists()


def test_approval_switched_off_for_the_issuers_group_refuses(issuer, option):
    group = IssuerGroup.objects.create(name="Promoters", approval_required=False)
    group.members.set([issuer])
    Allowance.objects.create(issuer_group=group, event=option.rate.event, people=1)
    with pytest.raises(IssuanceError, match="switched off"):
        submit(issuer, option, 2)
    assert not Issuance.objects.exists()


def test_a_promoters_allowance_is_shared_by_every_issuer(issuer, option):
    promoter = f.PromoterFactory()
    Allowance.objects.create(promoter=promoter, event=option.rate.event, people=2)
    assert submit(f.issuer(), option, 2, promoter=promoter).status == IssuanceStatus.IN_PROGRESS
    waiting = submit(issuer, option, 1, promoter=promoter)
    assert waiting.status == IssuanceStatus.AWAITING_APPROVAL
    assert waiting.approval_request.grounds[0]["holder_kind"] == "promoter"
    # Without the promoter the issuance is not theirs to count.
    assert submit(issuer, option, 1).status == IssuanceStatus.IN_PROGRESS


def test_a_groups_allowance_is_shared_by_its_members(issuer, option):
    colleague = f.issuer()
    group = IssuerGroup.objects.create(name="Door team")
    group.members.set([issuer, colleague])
    Allowance.objects.create(issuer_group=group, period=AllowancePeriod.NIGHT, people=2)
    submit(colleague, option, 2)
    same_night = f.PriceOptionFactory(rate__event__night=option.rate.event.night)
    assert submit(issuer, same_night, 1).status == IssuanceStatus.AWAITING_APPROVAL
    assert submit(f.issuer(), option, 5).status == IssuanceStatus.IN_PROGRESS  # not a member


def test_a_ticket_admitting_three_counts_three(issuer, option):
    Allowance.objects.create(user=issuer, event=option.rate.event, people=4)
    first = submit(issuer, option, 1)
    line = first.lines.get()
    line.state = LineState.CONFIRMED
    line.save(update_fields=["state"])
    f.IssuedTicketFactory(line=line, admits=3)
    assert submit(issuer, option, 1).status == IssuanceStatus.IN_PROGRESS  # 3 + 1 = 4
    assert submit(issuer, option, 1).status == IssuanceStatus.AWAITING_APPROVAL


def test_failed_lines_and_withdrawn_tickets_give_places_back(issuer, option):
    Allowance.objects.create(user=issuer, event=option.rate.event, people=2)
    first = submit(issuer, option, 2)
    assert submit(issuer, option, 1).status == IssuanceStatus.AWAITING_APPROVAL
    failed, confirmed = first.lines.order_by("position")
    failed.state = LineState.FAILED
    failed.save(update_fields=["state"])
    assert submit(issuer, option, 1).status == IssuanceStatus.IN_PROGRESS  # the failed place
    confirmed.state = LineState.CONFIRMED
    confirmed.save(update_fields=["state"])
    ticket = f.IssuedTicketFactory(line=confirmed)
    assert submit(issuer, option, 1).status == IssuanceStatus.AWAITING_APPROVAL
    ticket.withdrawn_at = timezone.now()
    ticket.save(update_fields=["withdrawn_at"])
    assert submit(issuer, option, 1).status == IssuanceStatus.IN_PROGRESS  # the withdrawn one


def test_over_the_size_managers_set_waits_even_without_allowances(issuer, option):
    VenuePolicy.objects.create(pk=1, approval_over_size=3)
    assert submit(issuer, option, 3).status == IssuanceStatus.IN_PROGRESS
    waiting = submit(issuer, option, 4)
    assert waiting.status == IssuanceStatus.AWAITING_APPROVAL
    assert waiting.approval_request.grounds == [{"kind": "size", "size": 3, "holders": 4}]
    assert sends_queued(waiting) == 0


def test_the_events_size_wins_over_the_venues_and_off_means_refused(issuer, option):
    VenuePolicy.objects.create(pk=1, approval_over_size=10)
    EventPolicy.objects.create(
        event=option.rate.event, approval_over_size=2, approval_required=False
    )
    with pytest.raises(IssuanceError, match="more than 2 holders"):
        submit(issuer, option, 3)
    assert submit(issuer, option, 2).status == IssuanceStatus.IN_PROGRESS


def test_the_same_key_gives_the_same_issuance_even_once_the_allowance_is_used(issuer, option):
    Allowance.objects.create(user=issuer, event=option.rate.event, people=2)
    key = uuid.uuid4()
    first = submit(issuer, option, 2, key=key)
    again, created = submit_issuance(idempotency_key=key, draft=a_draft(option, 2), user=issuer)
    assert (again.pk, created) == (first.pk, False)
    assert Issuance.objects.count() == 1


# --- The race for the last places --------------------------------------------------------------


def race(users, option, holders: int = 1) -> list[object]:
    """Each user submits at once from a thread of their own (its own connection)."""
    barrier = threading.Barrier(len(users))
    outcomes: list[object] = [None] * len(users)

    def run(index: int, user) -> None:
        translation.activate("en")  # a new thread starts in the venue's language
        try:
            barrier.wait(timeout=10)
            outcomes[index] = submit(user, option, holders)
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_issuers_racing_for_the_last_place_cannot_both_get_it():
    f.CredentialFactory()
    option = f.PriceOptionFactory()
    first, second = f.issuer(), f.issuer()
    group = IssuerGroup.objects.create(name="Door team")
    group.members.set([first, second])
    Allowance.objects.create(issuer_group=group, event=option.rate.event, people=3)
    submit(first, option, 2)  # one place left
    outcomes = race([first, second], option)
    statuses = sorted(Issuance.objects.get(pk=o.pk).status for o in outcomes)
    assert statuses == [IssuanceStatus.AWAITING_APPROVAL, IssuanceStatus.IN_PROGRESS]
    counted = Issuance.objects.filter(status=IssuanceStatus.IN_PROGRESS)
    assert sum(i.lines.count() for i in counted) == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_with_approval_off_one_gets_the_place_and_the_other_is_refused():
    f.CredentialFactory()
    option = f.PriceOptionFactory()
    EventPolicy.objects.create(event=option.rate.event, approval_required=False)
    first, second = f.issuer(), f.issuer()
    promoter = f.PromoterFactory()
    Allowance.objects.create(promoter=promoter, event=option.rate.event, people=1)
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def run(index: int, user) -> None:
        translation.activate("en")  # a new thread starts in the venue's language
        try:
            barrier.wait(timeout=10)
            outcomes[index] = submit(user, option, 1, promoter=promoter)
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    issued = [o for o in outcomes if isinstance(o, Issuance)]
    refused = [o for o in outcomes if isinstance(o, IssuanceError)]
    assert (len(issued), len(refused)) == (1, 1), outcomes
    assert "0 places left" in str(refused[0])
    assert Issuance.objects.count() == 1


# --- The cut-off -------------------------------------------------------------------------------


@pytest.fixture
def closed(option):
    """The option's event, its cut-off an hour ago."""
    EventPolicy.objects.create(
        event=option.rate.event, cut_off_at=timezone.now() - dt.timedelta(hours=1)
    )
    return option


def test_after_the_cut_off_an_issuer_is_refused_even_with_a_reason(issuer, closed):
    with pytest.raises(IssuanceError, match="Only a manager can issue after it"):
        submit(issuer, closed, 1, cut_off_override_reason="The DJ's family")
    assert not Issuance.objects.exists()


def test_after_the_cut_off_a_manager_needs_a_reason(closed):
    with pytest.raises(IssuanceError, match="give the reason"):
        submit(f.manager(), closed, 1, cut_off_override_reason="   ")
    assert not Issuance.objects.exists()


def test_a_manager_overrides_the_cut_off_with_a_reason_and_it_is_audited(closed):
    manager = f.manager()
    issuance = submit(manager, closed, 1, cut_off_override_reason="  The DJ's  family ")
    assert issuance.cut_off_override_reason == "The DJ's family"
    assert issuance.status == IssuanceStatus.IN_PROGRESS
    entry = AuditEntry.objects.get(action="issuance.cut_off_overridden")
    assert entry.target == f"issuance:{issuance.pk}"
    assert entry.data["reason"] == "The DJ's family"
    assert entry.actor == manager


def test_before_the_cut_off_a_reason_is_not_stored(option):
    issuance = submit(f.manager(), option, 1, cut_off_override_reason="Just because")
    assert issuance.cut_off_override_reason == ""
    assert not AuditEntry.objects.filter(action="issuance.cut_off_overridden").exists()


def test_the_default_cut_off_is_the_doors_opening(issuer, option):
    event = option.rate.event
    event.night = timezone.localdate()
    event.starts_at = timezone.now() - dt.timedelta(minutes=1)
    event.save()
    with pytest.raises(IssuanceError, match="cut-off"):
        submit(issuer, option, 1)


# --- Managers' changes -------------------------------------------------------------------------


def test_creating_changing_and_deleting_an_allowance_is_audited_old_to_new(option):
    manager = f.manager()
    issuer = f.issuer()
    allowance = service.create_allowance(
        actor=manager, user=issuer, event=option.rate.event, people=5
    )
    created = AuditEntry.objects.get(action="allowance.created")
    assert created.data["people"] == 5
    service.change_allowance(
        allowance=allowance, actor=manager, people=8, face_value=Decimal("100")
    )
    changed = AuditEntry.objects.get(action="allowance.changed")
    assert changed.data["changes"] == {"people": [5, 8], "face_value": [None, "100"]}
    pk = allowance.pk
    service.delete_allowance(allowance=allowance, actor=manager)
    assert not Allowance.objects.filter(pk=pk).exists()
    deleted = AuditEntry.objects.get(action="allowance.deleted")
    assert deleted.target == f"allowance:{pk}"


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({}, None, "exactly one"),
        ({"user": True, "promoter": True}, None, "exactly one"),
        ({"user": True, "people": 0}, "people", "at least one"),
        ({"user": True, "foreign_rate": True}, "rate", "not one of the chosen event"),
        ({"user": True, "face_value": Decimal("-1")}, "face_value", "negative"),
    ],
)
def test_a_bad_allowance_is_refused_and_nothing_is_written(option, kwargs, field, message):
    values = {"people": kwargs.get("people", 3), "event": option.rate.event}
    if kwargs.get("user"):
        values["user"] = f.issuer()
    if kwargs.get("promoter"):
        values["promoter"] = f.PromoterFactory()
    if kwargs.get("foreign_rate"):
        values["rate"] = f.RateFactory()
    if "face_value" in kwargs:
        values["face_value"] = kwargs["face_value"]
    with pytest.raises(service.AllowanceError, match=message) as raised:
        service.create_allowance(actor=f.manager(), **values)
    assert raised.value.field == field
    assert not Allowance.objects.exists()
    assert not AuditEntry.objects.filter(action="allowance.created").exists()


def test_groups_of_issuers_are_created_changed_and_deleted_with_their_members(db):
    manager = f.manager()
    ana, bea = f.issuer(username="ana"), f.issuer(username="bea")
    group = service.create_issuer_group(actor=manager, name=" Door team ", members=[ana])
    assert group.name == "Door team"
    with pytest.raises(service.AllowanceError, match="already a group"):
        service.create_issuer_group(actor=manager, name="door TEAM")
    service.change_issuer_group(
        group=group, actor=manager, name="Door team", members=[ana, bea], approval_required=False
    )
    changed = AuditEntry.objects.get(action="issuer_group.changed")
    assert changed.data["changes"] == {
        "members": [["ana"], ["ana", "bea"]],
        "approval_required": [True, False],
    }
    Allowance.objects.create(issuer_group=group, people=3)
    service.delete_issuer_group(group=group, actor=manager)
    assert not IssuerGroup.objects.exists()
    assert not Allowance.objects.exists()
    assert AuditEntry.objects.get(action="issuer_group.deleted").data["allowances_deleted"] == 1
