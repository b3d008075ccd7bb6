"""The rules pages: who may open them, what they show, saving, and bad input (never a 500)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.models import AuditEntry, EventPolicy, VenuePolicy

pytestmark = pytest.mark.django_db

RULES = reverse("policies")


def event_url(event) -> str:
    return reverse("policy-event", args=[event.pk])


def doors(event, hour: int = 23) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(event.night, dt.time(hour, 0)))


@pytest.fixture
def event(alpha_credential):
    event = factories.EventFactory(name="Friday Sessions")
    event.starts_at = doors(event)
    event.save()
    return event


class TestRulesPage:
    def test_lists_the_coming_events_with_their_effective_rules(self, manager_client, event):
        EventPolicy.objects.create(
            event=factories.EventFactory(name="Saturday Sessions", night=event.night),
            cut_off_at=doors(event, 21),
            approval_required=False,
            approval_over_size=6,
        )

        response = manager_client.get(RULES)

        assert response.status_code == 200
        page = response.content.decode()
        friday = page[page.index(f'id="event-rules-{event.pk}"') :]
        friday = friday[: friday.index("</tr>")]
        assert timezone.localtime(doors(event)).strftime("%H:%M") in friday
        assert "(default)" in friday
        assert "Ask a manager" in friday
        saturday = page[page.index("Saturday Sessions") :]
        saturday = saturday[: saturday.index("</tr>")]
        assert "21:00" in saturday
        assert "(default)" not in saturday
        assert "Refused" in saturday
        assert "6 holders" in saturday
        assert event_url(event) in page
        assert "no-cache" in response["Cache-Control"]

    def test_saving_the_venues_rules(self, manager_client):
        response = manager_client.post(
            RULES, {"approval_over_size": "12", "issuer_withdrawal_minutes": "30"}, follow=True
        )

        assert response.redirect_chain[-1][0] == RULES
        assert "The venue&#x27;s rules are saved." in response.content.decode()
        policy = VenuePolicy.objects.get(pk=1)
        assert (policy.approval_over_size, policy.issuer_withdrawal_minutes) == (12, 30)
        assert AuditEntry.objects.filter(action="venue_policy.changed").count() == 1

    def test_an_empty_size_means_only_allowances_decide(self, manager_client):
        VenuePolicy.objects.create(pk=1, approval_over_size=5)
        manager_client.post(RULES, {"approval_over_size": "", "issuer_withdrawal_minutes": "0"})
        assert VenuePolicy.objects.get(pk=1).approval_over_size is None

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"approval_over_size": "0", "issuer_withdrawal_minutes": "0"}, "one holder or more"),
            ({"approval_over_size": "-3", "issuer_withdrawal_minutes": "0"}, "one holder or more"),
            ({"approval_over_size": "abc", "issuer_withdrawal_minutes": "0"}, "whole number"),
            ({"approval_over_size": "9" * 30, "issuer_withdrawal_minutes": "0"}, "at most"),
            ({"approval_over_size": "", "issuer_withdrawal_minutes": ""}, "number of minutes"),
            ({"approval_over_size": "", "issuer_withdrawal_minutes": "-1"}, "0 minutes or more"),
            ({"approval_over_size": "", "issuer_withdrawal_minutes": "1e99"}, "whole number"),
            ({"approval_over_size": "", "issuer_withdrawal_minutes": "99999999"}, "a week"),
        ],
    )
    def test_bad_venue_input_is_a_clear_400(self, manager_client, data, message):
        response = manager_client.post(RULES, data)

        assert response.status_code == 400
        assert message in response.content.decode()
        assert not VenuePolicy.objects.exists()

    def test_issuers_may_neither_read_nor_change_the_rules(self, issuer_client, event):
        assert issuer_client.get(RULES).status_code == 403
        assert issuer_client.get(event_url(event)).status_code == 403
        data = {"approval_over_size": "2", "issuer_withdrawal_minutes": "60"}
        assert issuer_client.post(RULES, data).status_code == 403
        assert issuer_client.post(event_url(event), {"approval_required": "on"}).status_code == 403
        assert not VenuePolicy.objects.exists()
        assert not EventPolicy.objects.exists()

    def test_without_a_credential_there_is_no_event_to_list(self, manager_client):
        factories.EventFactory(name="Orphan")
        response = manager_client.get(RULES)
        assert response.status_code == 200
        assert "No event to come." in response.content.decode()


class TestEventRulesPage:
    def test_shows_the_default_cut_off(self, manager_client, event):
        response = manager_client.get(event_url(event))

        assert response.status_code == 200
        page = response.content.decode()
        assert "Friday Sessions" in page
        default = page[page.index('data-testid="default-cut-off"') :]
        assert timezone.localtime(doors(event)).strftime("%H:%M") in default[:200]
        assert 'name="approval_required"' in page
        assert "checked" in page

    def test_setting_a_cut_off_and_switching_approval_off(self, manager_client, event):
        response = manager_client.post(
            event_url(event),
            {"cut_off_at": f"{event.night.isoformat()}T20:30", "approval_over_size": "3"},
            follow=True,
        )

        assert response.redirect_chain[-1][0] == RULES
        assert "The rules of Friday Sessions are saved." in response.content.decode()
        policy = EventPolicy.objects.get(event=event)
        assert timezone.localtime(policy.cut_off_at).time() == dt.time(20, 30)
        assert policy.approval_required is False  # an unticked box
        assert policy.approval_over_size == 3
        (entry,) = AuditEntry.objects.filter(action="event_policy.changed")
        assert set(entry.data["changes"]) == {
            "cut_off_at",
            "approval_required",
            "approval_over_size",
        }

    def test_emptying_the_cut_off_goes_back_to_the_doors_opening(self, manager_client, event):
        EventPolicy.objects.create(event=event, cut_off_at=doors(event, 20))

        manager_client.post(event_url(event), {"cut_off_at": "", "approval_required": "on"})

        assert EventPolicy.objects.get(event=event).cut_off_at is None

    @pytest.mark.parametrize(
        ("cut_off", "message"),
        [
            ("2026-13-45T99:99", "Enter a date and a time"),
            ("tomorrow", "Enter a date and a time"),
            ("99999-01-01T00:00", "Enter a date and a time"),
            ("NEXT_DAY_NOON", "no later than the end of the event"),
        ],
    )
    def test_a_bad_cut_off_is_a_clear_400(self, manager_client, event, cut_off, message):
        if cut_off == "NEXT_DAY_NOON":
            cut_off = f"{(event.night + dt.timedelta(days=1)).isoformat()}T12:00"

        response = manager_client.post(
            event_url(event), {"cut_off_at": cut_off, "approval_required": "on"}
        )

        assert response.status_code == 400
        assert message in response.content.decode()
        assert not EventPolicy.objects.exists()

    def test_an_unknown_event_is_a_404(self, manager_client):
        assert manager_client.get(reverse("policy-event", args=[999999])).status_code == 404


def test_the_changes_read_in_the_audit_log(admin_client, event):
    admin_client.post(RULES, {"approval_over_size": "4", "issuer_withdrawal_minutes": "0"})
    admin_client.post(event_url(event), {"cut_off_at": "", "approval_over_size": "2"})

    response = admin_client.get(reverse("audit-log"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Changed the venue&#x27;s approval or withdrawal rules" in page
    assert "Changed an event&#x27;s cut-off or approval" in page
