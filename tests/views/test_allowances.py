"""The allowances pages (managers only, validation, no 500 on bad input), and what the issue
form and its review say about allowances, approval and the cut-off."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tests.views.issue_support import form_data, input_value
from tickets.models import (
    Allowance,
    AllowancePeriod,
    AuditEntry,
    EventPolicy,
    Issuance,
    IssuanceStatus,
    IssuerGroup,
)

pytestmark = pytest.mark.django_db

ANA = {"full_name": "Ana Pérez", "email": "ana@example.com"}
BO = {"full_name": "Bo Li", "email": "bo@example.com"}


# --- Who may open the pages --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["allowance-list", "allowance-new", "issuer-group-new"])
def test_issuers_may_not_open_the_allowances_pages(issuer_client, name):
    assert issuer_client.get(reverse(name)).status_code == 403


def test_issuers_may_not_delete_an_allowance(issuer_client):
    allowance = Allowance.objects.create(user=f.issuer(), people=3)
    response = issuer_client.post(reverse("allowance-delete", args=[allowance.pk]))
    assert response.status_code == 403
    assert Allowance.objects.filter(pk=allowance.pk).exists()


def test_the_list_shows_used_and_left(manager_client):
    issuer = f.issuer(first_name="Iris", last_name="Issuer")
    option = f.PriceOptionFactory(price=Decimal("20"))
    issuance = f.IssuanceFactory(created_by=issuer, price_option=option)
    f.IssuanceLineFactory(issuance=issuance, state="pending")
    Allowance.objects.create(
        user=issuer, event=option.rate.event, people=4, face_value=Decimal("100")
    )
    IssuerGroup.objects.create(name="Door team").members.set([issuer])
    html = manager_client.get(reverse("allowance-list")).content.decode()
    assert "Iris Issuer" in html
    assert "1 of 4 people used, <strong>3 left</strong>" in html
    assert "20.00\u00a0€ of 100.00\u00a0€ of face value" in html
    assert "Door team" in html
    assert reverse("allowance-list") in manager_client.get(reverse("home")).content.decode()


# --- Adding, changing, deleting ----------------------------------------------------------------


def test_a_manager_adds_an_allowance_and_it_is_audited(manager_client, alpha_credential):
    issuer = f.issuer()
    event = f.EventFactory()
    response = manager_client.post(
        reverse("allowance-new"),
        {"user": issuer.pk, "event": event.pk, "period": "event", "people": "5"},
    )
    assert response.status_code == 302
    allowance = Allowance.objects.get()
    assert (allowance.user, allowance.event, allowance.people) == (issuer, event, 5)
    assert AuditEntry.objects.filter(action="allowance.created").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"period": "event", "people": "5"}, "Choose exactly one"),
        (
            {"user": "ISSUER", "promoter": "PROMOTER", "period": "event", "people": "5"},
            "exactly one",
        ),
        ({"user": "ISSUER", "period": "event", "people": "0"}, "at least one person"),
        ({"user": "ISSUER", "period": "event", "people": "many"}, "Enter a whole number"),
        ({"user": "ISSUER", "period": "month", "people": "5"}, "Select a valid choice"),
        ({"user": "999999", "period": "event", "people": "5"}, "Select a valid choice"),
        ({"user": "ISSUER", "period": "event", "people": "5", "rate": "RATE"}, "not one of"),
        ({"user": "ISSUER", "period": "event", "people": "5", "face_value": "-3"}, "negative"),
        ({"user": "ISSUER", "period": "event", "people": "5", "face_value": "x"}, "Enter a number"),
    ],
)
def test_a_bad_allowance_is_refused_with_a_clear_message(
    manager_client, alpha_credential, data, message
):
    issuer = f.issuer()
    promoter = f.PromoterFactory()
    rate = f.RateFactory()  # of another event than the one chosen
    event = f.EventFactory()
    values = {"ISSUER": str(issuer.pk), "PROMOTER": str(promoter.pk), "RATE": str(rate.pk)}
    posted = {k: values.get(v, v) for k, v in data.items()}
    if "rate" in posted:
        posted["event"] = str(event.pk)
    response = manager_client.post(reverse("allowance-new"), posted)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Allowance.objects.exists()


def test_a_manager_changes_and_deletes_an_allowance(manager_client, alpha_credential):
    issuer = f.issuer()
    allowance = Allowance.objects.create(user=issuer, people=3, period=AllowancePeriod.NIGHT)
    page = manager_client.get(reverse("allowance-edit", args=[allowance.pk]))
    assert input_value(page.content.decode(), "people") == "3"
    response = manager_client.post(
        reverse("allowance-edit", args=[allowance.pk]),
        {"user": issuer.pk, "period": "week", "people": "7"},
    )
    assert response.status_code == 302
    allowance.refresh_from_db()
    assert (allowance.period, allowance.people) == ("week", 7)
    changed = AuditEntry.objects.get(action="allowance.changed")
    assert changed.data["changes"]["people"] == [3, 7]
    manager_client.post(reverse("allowance-delete", args=[allowance.pk]))
    assert not Allowance.objects.exists()
    assert AuditEntry.objects.filter(action="allowance.deleted").count() == 1


def test_unknown_allowances_and_groups_are_404s(manager_client):
    assert manager_client.get(reverse("allowance-edit", args=[999999])).status_code == 404
    assert manager_client.post(reverse("allowance-delete", args=[999999])).status_code == 404
    assert manager_client.get(reverse("issuer-group-edit", args=[999999])).status_code == 404
    assert manager_client.get(reverse("allowance-delete", args=[1])).status_code == 405


def test_a_manager_sets_up_a_group_of_issuers(manager_client):
    ana, bea = f.issuer(), f.issuer()
    response = manager_client.post(
        reverse("issuer-group-new"), {"name": "Door team", "members": [ana.pk, bea.pk]}
    )
    assert response.status_code == 302
    group = IssuerGroup.objects.get()
    assert set(group.members.all()) == {ana, bea}
    assert group.approval_required is False  # an unticked box posts nothing
    duplicate = manager_client.post(reverse("issuer-group-new"), {"name": "door team"})
    assert "already a group with that name" in duplicate.content.decode()
    manager_client.post(
        reverse("issuer-group-edit", args=[group.pk]),
        {"name": "Door team", "members": [ana.pk], "approval_required": "on"},
    )
    group.refresh_from_db()
    assert list(group.members.all()) == [ana]
    assert group.approval_required is True
    bad = manager_client.post(reverse("issuer-group-edit", args=[group.pk]), {"name": ""})
    assert bad.status_code == 200
    assert "This field is required" in bad.content.decode()
    manager_client.post(reverse("issuer-group-delete", args=[group.pk]))
    assert not IssuerGroup.objects.exists()


# --- The issue form ----------------------------------------------------------------------------


def submit_to_review(client, catalogue, rows=(ANA, BO), **overrides):
    data = form_data(catalogue, list(rows), **overrides)
    response = client.post(reverse("issue-new"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return uuid.UUID(data["idempotency_key"])


def test_the_form_shows_what_is_left_for_the_chosen_event(issuer_client, issuer, catalogue):
    event = catalogue["event"]
    url = reverse("issue-allowances")
    nothing = issuer_client.get(url, {"event": event.pk}).content.decode()
    assert "What is left" not in nothing
    Allowance.objects.create(user=issuer, event=event, people=4)
    html = issuer_client.get(
        url, {"event": event.pk, "rate": catalogue["rate"].pk}
    ).content.decode()
    assert "What is left for" in html
    assert "0 of 4 people used, <strong>4 left</strong>" in html
    assert issuer_client.get(url, {"event": "nonsense", "promoter": "x"}).status_code == 200


def test_a_promoters_allowance_shows_once_the_promoter_is_chosen(issuer_client, catalogue):
    promoter = f.PromoterFactory()
    Allowance.objects.create(promoter=promoter, event=catalogue["event"], people=9)
    url = reverse("issue-allowances")
    query = {"event": catalogue["event"].pk, "promoter": promoter.pk}
    assert "9 left" not in issuer_client.get(url, query).content.decode()
    html = issuer_client.get(url, {**query, "attribution": "promoter"}).content.decode()
    assert "9 left" in html


def test_the_review_says_the_issuance_will_wait_for_approval(issuer_client, issuer, catalogue):
    Allowance.objects.create(user=issuer, event=catalogue["event"], people=1)
    key = submit_to_review(issuer_client, catalogue)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert "will wait for a manager" in html
    assert "Ask for approval of 2 comps" in html
    digest = input_value(html, "reviewed")
    issuer_client.post(reverse("issue-confirm", args=[key]), {"reviewed": digest})
    assert Issuance.objects.get().status == IssuanceStatus.AWAITING_APPROVAL


def test_the_review_says_when_it_will_be_refused_and_offers_no_confirm(
    issuer_client, issuer, catalogue
):
    EventPolicy.objects.create(event=catalogue["event"], approval_required=False)
    Allowance.objects.create(user=issuer, event=catalogue["event"], people=1)
    key = submit_to_review(issuer_client, catalogue)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert "cannot be issued" in html
    assert reverse("issue-confirm", args=[key]) not in html
    # Posted all the same: refused, with what is left, and nothing written.
    response = issuer_client.post(reverse("issue-confirm", args=[key]), {"reviewed": "x"})
    assert response.status_code == 200  # the review again (the digest did not match)
    assert not Issuance.objects.exists()


def test_within_the_allowance_the_review_shows_what_it_uses(issuer_client, issuer, catalogue):
    Allowance.objects.create(user=issuer, event=catalogue["event"], people=5)
    key = submit_to_review(issuer_client, catalogue)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert "This issuance uses 2 places" in html
    assert "will wait" not in html
    assert "Confirm and issue 2 comps" in html


def close_the_event(catalogue):
    EventPolicy.objects.create(
        event=catalogue["event"], cut_off_at=timezone.now() - dt.timedelta(minutes=5)
    )


def test_after_the_cut_off_an_issuer_cannot_confirm(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    close_the_event(catalogue)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert "its cut-off" in html
    assert "Only a manager can issue" in html
    assert reverse("issue-confirm", args=[key]) not in html
    response = issuer_client.post(
        reverse("issue-confirm", args=[key]),
        {"reviewed": input_value(html, "reviewed") or "", "cut_off_override_reason": "VIP"},
    )
    assert not Issuance.objects.exists()
    assert "Only a manager can issue after it" in response.content.decode()


def test_after_the_cut_off_a_manager_confirms_with_a_reason(manager_client, catalogue):
    key = submit_to_review(manager_client, catalogue)
    close_the_event(catalogue)
    html = manager_client.get(reverse("issue-review", args=[key])).content.decode()
    assert 'name="cut_off_override_reason"' in html
    digest = input_value(html, "reviewed")
    refused = manager_client.post(reverse("issue-confirm", args=[key]), {"reviewed": digest})
    assert refused.status_code == 302  # back to the review, with the message
    assert not Issuance.objects.exists()
    response = manager_client.post(
        reverse("issue-confirm", args=[key]),
        {"reviewed": digest, "cut_off_override_reason": "The band's guests"},
    )
    issuance = Issuance.objects.get()
    assert response["Location"] == reverse("issuance-detail", args=[issuance.pk])
    assert issuance.cut_off_override_reason == "The band's guests"
    assert AuditEntry.objects.filter(action="issuance.cut_off_overridden").count() == 1


# --- In Spanish --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def english_words() -> set[str]:
    from tests.test_spanish_pages import _english_vocabulary

    return _english_vocabulary()


def english_on(html: str, vocabulary: set[str], *data: str) -> set[str]:
    from tests.test_spanish_pages import ALLOWED, _visible_text, _words

    return (_words(_visible_text(html)) & vocabulary) - ALLOWED - _words(" ".join(data))


def test_the_list_and_the_review_with_everything_on_them_are_in_spanish(
    manager_client, manager, catalogue, english_words
):
    event, rate = catalogue["event"], catalogue["rate"]
    group = IssuerGroup.objects.create(name="Equipo", approval_required=False)
    group.members.set([manager])
    Allowance.objects.create(
        user=manager, event=event, rate=rate, people=1, face_value=Decimal("5")
    )
    Allowance.objects.create(issuer_group=group, period=AllowancePeriod.WEEK, people=9)
    Allowance.objects.create(promoter=f.PromoterFactory(), period=AllowancePeriod.NIGHT, people=2)
    names = [event.name, rate.name, manager.get_full_name(), catalogue["channel"].name]
    names += [str(p) for p in f.PromoterFactory._meta.model.objects.all()]
    listing = manager_client.get(reverse("allowance-list"), HTTP_ACCEPT_LANGUAGE="es")
    assert english_on(listing.content.decode(), english_words, *names) == set()

    key = submit_to_review(manager_client, catalogue)
    close_the_event(catalogue)
    review = manager_client.get(
        reverse("issue-review", args=[key]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "no se puede hacer" in review  # over, with approval off for the group
    holders = [ANA["full_name"], ANA["email"], BO["full_name"], BO["email"], "Press"]
    assert english_on(review, english_words, *names, *holders, "Opening night") == set()
    form = manager_client.get(
        reverse("issue-allowances"), {"event": event.pk, "rate": rate.pk}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert "Lo que queda para" in form.content.decode()
