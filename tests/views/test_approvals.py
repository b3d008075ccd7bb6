"""The approvals queue, the bulk and single decisions, the issuance page's approval panel, and
the managers' home page and navigation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from tests.approval_support import allowance_ground, awaiting_issuance, queued, size_ground
from tickets.models import ApprovalRequest, ApprovalState, Issuance, LineState
from tickets.services import approvals

pytestmark = pytest.mark.django_db

QUEUE = reverse("approval-queue")
DECIDE = reverse("approval-decide")


def states(issuance: Issuance) -> set[str]:
    return set(issuance.lines.values_list("state", flat=True))


def request_pk(issuance: Issuance) -> int:
    return ApprovalRequest.objects.get(issuance=issuance).pk


def decide_one(issuance: Issuance) -> str:
    return reverse("approval-decide-issuance", args=[issuance.pk])


def detail(issuance: Issuance) -> str:
    return reverse("issuance-detail", args=[issuance.pk])


class TestQueue:
    def test_lists_the_waiting_requests_oldest_first_with_their_grounds(self, manager_client):
        requester = factories.issuer(first_name="Rita", last_name="Requester")
        older = awaiting_issuance(
            requester=requester,
            holders=3,
            grounds=[allowance_ground(holder="Rita Requester", people_asked=4)],
            note="For the DJ's crew",
        )
        newer = awaiting_issuance(holders=5, grounds=[size_ground(size=4, holders=5)])
        decided = awaiting_issuance()
        approvals.approve(issuances=[decided], user=factories.manager())

        response = manager_client.get(QUEUE)

        assert response.status_code == 200
        page = response.content.decode()
        assert page.index(f'id="approval-{request_pk(older)}"') < page.index(
            f'id="approval-{request_pk(newer)}"'
        )
        assert f'id="approval-{request_pk(decided)}"' not in page
        assert older.event.name in page
        assert older.rate.name in page
        assert "Rita Requester" in page
        assert "Staff" in page
        assert "For the DJ&#x27;s crew" in page
        assert "Over the allowance of Rita Requester." in page
        assert "People: 9 of 10 used; this asks for 4 more." in page
        assert "Face value: 180.00 of 200.00 used; this asks for 60.00 more." in page
        assert "5 holders: more than the 4 above which a manager approves." in page
        assert detail(older) in page
        assert "no-cache" in response["Cache-Control"]

    def test_grounds_of_any_shape_are_worded_without_breaking(self, manager_client):
        odd = awaiting_issuance(
            grounds=[{"kind": "allowance"}, {"kind": "size"}, {"kind": "new"}, "text", 3]
        )
        ApprovalRequest.objects.filter(issuance=odd).update(grounds={"not": "a list"})
        awaiting_issuance(grounds=[{"kind": "allowance", "people_limit": 2}, {"size": None}])

        response = manager_client.get(QUEUE)

        assert response.status_code == 200
        page = response.content.decode()
        assert "A manager&#x27;s approval was asked for." in page
        assert "Over an allowance. It allows 2 people." in page

    def test_filters_by_event(self, manager_client):
        shown = awaiting_issuance()
        hidden = awaiting_issuance()

        response = manager_client.get(QUEUE, {"event": shown.event.pk})

        page = response.content.decode()
        assert f'id="approval-{request_pk(shown)}"' in page
        assert f'id="approval-{request_pk(hidden)}"' not in page

    @pytest.mark.parametrize("event", ["abc", "99999999", "-1", "1e9", "99999999999999999999999"])
    def test_a_bad_event_filter_is_a_clear_400(self, manager_client, event):
        awaiting_issuance()
        response = manager_client.get(QUEUE, {"event": event, "page": "zzz"})
        assert response.status_code == 400
        assert "Choose an event from the list." in response.content.decode()

    def test_the_managers_own_requests_have_no_checkbox(self, manager, manager_client):
        own = awaiting_issuance(requester=manager)

        page = manager_client.get(QUEUE).content.decode()

        assert f'name="requests" value="{request_pk(own)}"' not in page
        assert "Yours" in page

    def test_issuers_may_not_open_it(self, issuer_client):
        assert issuer_client.get(QUEUE).status_code == 403


class TestBulkDecision:
    def test_approving_the_selected(self, manager_client):
        first, second, left = awaiting_issuance(), awaiting_issuance(), awaiting_issuance()

        response = manager_client.post(
            DECIDE,
            {"requests": [request_pk(first), request_pk(second)], "decision": "approve"},
            follow=True,
        )

        assert response.redirect_chain[-1][0] == QUEUE
        assert "2 requests approved: their comps are being sent." in response.content.decode()
        assert states(first) == states(second) == {LineState.PENDING}
        assert states(left) == {LineState.PENDING_APPROVAL}

    def test_rejecting_needs_a_reason(self, manager_client):
        issuance = awaiting_issuance()

        response = manager_client.post(
            DECIDE, {"requests": [request_pk(issuance)], "decision": "reject"}, follow=True
        )

        assert "Say why the comps are rejected" in response.content.decode()
        assert states(issuance) == {LineState.PENDING_APPROVAL}

    def test_rejecting_with_a_reason_keeps_the_event_filter(self, manager_client):
        issuance = awaiting_issuance()

        response = manager_client.post(
            DECIDE,
            {
                "requests": [request_pk(issuance)],
                "decision": "reject",
                "reason": "Not this week",
                "event": str(issuance.event.pk),
            },
        )

        assert response["Location"] == f"{QUEUE}?event={issuance.event.pk}"
        assert states(issuance) == {LineState.REJECTED}
        assert ApprovalRequest.objects.get(issuance=issuance).decision_reason == "Not this week"

    def test_own_requests_are_refused_and_the_rest_decided(self, manager, manager_client):
        own, other = awaiting_issuance(requester=manager), awaiting_issuance()

        response = manager_client.post(
            DECIDE,
            {"requests": [request_pk(own), request_pk(other)], "decision": "approve"},
            follow=True,
        )

        page = response.content.decode()
        assert "1 request approved" in page
        assert f"Issuance #{own.pk} is yours: another manager must approve or reject it." in page
        assert states(own) == {LineState.PENDING_APPROVAL}
        assert states(other) == {LineState.PENDING}

    def test_when_none_can_be_decided_every_reason_is_said(self, manager, manager_client):
        own = awaiting_issuance(requester=manager)
        done = awaiting_issuance()
        approvals.approve(issuances=[done], user=factories.manager())

        response = manager_client.post(
            DECIDE,
            {"requests": [request_pk(own), request_pk(done)], "decision": "approve"},
            follow=True,
        )

        page = response.content.decode()
        assert "None of the selected requests could be decided" in page
        assert f"Issuance #{own.pk} is yours" in page
        assert f"Issuance #{done.pk} was decided already." in page
        assert states(own) == {LineState.PENDING_APPROVAL}

    @pytest.mark.parametrize(
        "data",
        [
            {},
            {"decision": "approve"},
            {"requests": "abc", "decision": "approve"},
            {"requests": "99999999999999999999999", "decision": "approve"},
            {"requests": "424242", "decision": "approve"},
            {"requests": "REQUEST", "decision": "frobnicate"},
            {"requests": "REQUEST", "decision": "reject", "reason": "x" * 501},
        ],
    )
    def test_bad_input_changes_nothing_and_is_never_a_500(self, manager_client, data):
        issuance = awaiting_issuance()
        if data.get("requests") == "REQUEST":
            data = {**data, "requests": request_pk(issuance)}

        response = manager_client.post(DECIDE, data, follow=True)

        assert response.status_code == 200
        assert '<div class="alert alert-danger" role="alert">' in response.content.decode()
        assert states(issuance) == {LineState.PENDING_APPROVAL}
        assert queued("send_issuance") == []

    def test_issuers_may_not_decide(self, issuer_client):
        issuance = awaiting_issuance()
        response = issuer_client.post(
            DECIDE, {"requests": [request_pk(issuance)], "decision": "approve"}
        )
        assert response.status_code == 403
        assert states(issuance) == {LineState.PENDING_APPROVAL}


class TestIssuancePage:
    def test_another_manager_sees_the_grounds_and_the_buttons(self, manager_client):
        issuance = awaiting_issuance(grounds=[size_ground(size=1, holders=2)])

        page = manager_client.get(detail(issuance)).content.decode()

        assert 'data-testid="approval-panel" data-state="requested"' in page
        assert "Waiting for approval" in page
        assert "2 holders: more than the 1 above which a manager approves." in page
        assert decide_one(issuance) in page
        assert 'data-testid="approve"' in page
        assert 'data-testid="reject"' in page

    def test_the_requesting_manager_sees_no_buttons(self, manager, manager_client):
        issuance = awaiting_issuance(requester=manager)

        page = manager_client.get(detail(issuance)).content.decode()

        assert "Waiting for approval" in page
        assert decide_one(issuance) not in page
        assert "Another manager must approve or reject these comps" in page

    def test_the_requesting_issuer_sees_it_waits_and_why(self, issuer, issuer_client):
        issuance = awaiting_issuance(requester=issuer, grounds=[allowance_ground(holder="Iris")])

        page = issuer_client.get(detail(issuance)).content.decode()

        assert "Over the allowance of Iris." in page
        assert decide_one(issuance) not in page

    def test_approving_from_the_page(self, manager_client):
        issuance = awaiting_issuance()

        response = manager_client.post(
            decide_one(issuance), {"decision": "approve", "reason": "Fine"}, follow=True
        )

        assert response.redirect_chain[-1][0] == detail(issuance)
        page = response.content.decode()
        assert "1 request approved: its comps are being sent." in page
        assert 'data-state="approved"' in page
        assert "Approved by Max Manager on" in page
        assert "Reason: Fine" in page
        assert states(issuance) == {LineState.PENDING}

    def test_after_a_rejection_the_requester_reads_who_when_and_why(self, issuer, issuer_client):
        issuance = awaiting_issuance(requester=issuer)
        decider = factories.manager(first_name="Rosa", last_name="Boss")
        approvals.reject(issuances=[issuance], user=decider, reason="The list is full")

        page = issuer_client.get(detail(issuance)).content.decode()

        assert 'data-state="rejected"' in page
        assert "Rejected by Rosa Boss on" in page
        assert "Reason: The list is full" in page
        assert "A manager rejected these comps" in page

    def test_a_rejection_from_the_page_needs_a_reason(self, manager_client):
        issuance = awaiting_issuance()

        response = manager_client.post(decide_one(issuance), {"decision": "reject"}, follow=True)

        assert "Say why the comps are rejected" in response.content.decode()
        assert ApprovalRequest.objects.get(issuance=issuance).state == ApprovalState.REQUESTED

    def test_the_requester_deciding_by_hand_is_refused(self, manager, manager_client):
        issuance = awaiting_issuance(requester=manager)

        response = manager_client.post(decide_one(issuance), {"decision": "approve"}, follow=True)

        assert "is yours: another manager must approve or reject it" in response.content.decode()
        assert states(issuance) == {LineState.PENDING_APPROVAL}

    def test_an_issuance_that_does_not_wait(self, manager_client):
        issuance = factories.IssuanceLineFactory().issuance

        response = manager_client.post(decide_one(issuance), {"decision": "approve"}, follow=True)

        assert "These comps do not wait for approval." in response.content.decode()

    def test_an_unknown_issuance_is_a_404(self, manager_client):
        assert (
            manager_client.post(reverse("approval-decide-issuance", args=[999999])).status_code
            == 404
        )


class TestHomeAndNavigation:
    def test_managers_see_how_many_wait_and_the_oldest(self, manager_client):
        oldest = awaiting_issuance(holders=4)
        for _ in range(3):
            awaiting_issuance()

        page = manager_client.get(reverse("home")).content.decode()

        assert "4 requests wait for a manager" in page
        assert detail(oldest) in page
        assert "4 holders" in page
        assert QUEUE in page

    def test_nothing_waiting(self, manager_client):
        page = manager_client.get(reverse("home")).content.decode()
        assert "Nothing waits for approval." in page

    def test_issuers_see_neither(self, issuer_client):
        awaiting_issuance()
        page = issuer_client.get(reverse("home")).content.decode()
        assert "home-approvals" not in page
        assert QUEUE not in page


def test_the_queue_and_the_panel_read_in_spanish(manager_client):
    issuance = awaiting_issuance(
        holders=3, grounds=[allowance_ground(holder="Iris"), size_ground(size=2, holders=3)]
    )

    queue = manager_client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="es-ES,es").content.decode()
    panel = manager_client.get(detail(issuance), HTTP_ACCEPT_LANGUAGE="es-ES,es").content.decode()

    assert "Invitaciones pendientes de aprobación" in queue
    assert "Supera el cupo de Iris. Personas: 9 de 10 usadas; esta pide 3 más." in queue
    assert "3 titulares: más de los 2 a partir de los cuales aprueba un responsable." in queue
    assert "Aprobar las seleccionadas" in queue
    assert "Pendientes de aprobación" in panel
    assert "Rechazar" in panel
