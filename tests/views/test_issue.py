import datetime as dt
import json
import re
import uuid

import pytest
from django.urls import reverse

from tests import factories as f
from tests.views.issue_support import form_data, input_value
from tickets.drafts import MAX_SESSION_DRAFTS
from tickets.fields import decrypt
from tickets.models import Issuance, UserPreferences
from tickets.services.issuance import IssuanceError
from tickets.views import issue as issue_views

pytestmark = pytest.mark.django_db


ANA = {"full_name": "Ana Pérez", "email": "Ana@Example.com", "phone": "600123456"}
BO = {
    "full_name": "Bo Li",
    "email": "bo@example.com",
    "document_type": "passport",
    "document_number": "XK1234567",
}


def reviewed(client, key):
    """The digest the review page's Confirm button posts: what the issuer reviewed."""
    html = client.get(reverse("issue-review", args=[key])).content.decode()
    return input_value(html, "reviewed") or ""


def confirm(client, key, digest=None, **kwargs):
    """Confirm as the review page's button does, after reviewing (or with a given digest)."""
    digest = reviewed(client, key) if digest is None else digest
    return client.post(reverse("issue-confirm", args=[key]), {"reviewed": digest}, **kwargs)


def submit_to_review(client, catalogue, rows=(ANA, BO), **overrides):
    data = form_data(catalogue, list(rows), **overrides)
    response = client.post(reverse("issue-new"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    key = uuid.UUID(data["idempotency_key"])
    assert response["Location"] == reverse("issue-review", args=[key])
    return key


# --- Who may issue -------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("issue-new"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "issue-new", []),
        ("post", "issue-new", []),
        ("get", "issue-rates", []),
        ("get", "issue-options", []),
        ("get", "issue-row", []),
        ("post", "issue-import", []),
        ("get", "issue-review", [uuid.uuid4()]),
        ("post", "issue-confirm", [uuid.uuid4()]),
    ],
)
def test_users_without_a_role_are_forbidden(client, catalogue, method, name, args):
    client.force_login(f.UserFactory())
    assert getattr(client, method)(reverse(name, args=args)).status_code == 403


@pytest.mark.parametrize("role", ["issuer", "manager", "admin"])
def test_every_role_may_issue(client, catalogue, role):
    client.force_login(getattr(f, role)())
    assert client.get(reverse("issue-new")).status_code == 200


def test_an_issuer_gets_a_form_with_a_fresh_idempotency_key_and_one_row(issuer_client, catalogue):
    first = issuer_client.get(reverse("issue-new"))
    second = issuer_client.get(reverse("issue-new"))
    assert first.status_code == 200
    keys = [
        re.search(r'name="idempotency_key" value="([0-9a-f-]{36})"', r.content.decode()).group(1)
        for r in (first, second)
    ]
    assert keys[0] != keys[1]
    html = first.content.decode()
    assert 'name="holders-TOTAL_FORMS" value="1"' in html
    assert 'name="holders-0-full_name"' in html
    assert "<script>" not in html  # no inline scripts: a CSP comes later
    assert "js/issue.js" in html


def test_the_nav_links_to_the_form_for_issuers(issuer_client, catalogue):
    assert reverse("issue-new") in issuer_client.get(reverse("home")).content.decode()


def test_without_an_active_credential_the_form_is_replaced_by_a_clear_message(issuer_client):
    response = issuer_client.get(reverse("issue-new"))
    assert response.status_code == 200
    assert b"No Fourvenues credential is active" in response.content
    assert b'name="idempotency_key"' not in response.content


# --- Choices follow the event and rate -----------------------------------------------------------


def test_the_rates_partial_lists_only_that_events_rates(issuer_client, catalogue):
    other = f.RateFactory(name="Other event's rate")
    second = f.RateFactory(event=catalogue["event"], name="Guest list")
    response = issuer_client.get(reverse("issue-rates"), {"event": catalogue["event"].pk})
    html = response.content.decode()
    assert f'value="{catalogue["rate"].pk}"' in html
    assert f'value="{second.pk}"' in html
    assert f'value="{other.pk}"' not in html
    # The price options are reset until a rate is picked.
    assert 'id="id_price_option" hx-swap-oob="innerHTML"' in html


def test_the_rates_partial_ignores_an_event_outside_the_catalogue(issuer_client, catalogue):
    foreign = f.RateFactory(event__environment="production", environment="production")
    response = issuer_client.get(reverse("issue-rates"), {"event": foreign.event.pk})
    assert f'value="{foreign.pk}"' not in response.content.decode()
    assert b"Pick an event first" in response.content


def test_the_options_partial_lists_only_that_rates_options_with_price_and_age(
    issuer_client, catalogue
):
    other = f.PriceOptionFactory(rate=f.RateFactory(event=catalogue["event"]))
    response = issuer_client.get(
        reverse("issue-options"), {"event": catalogue["event"].pk, "rate": catalogue["rate"].pk}
    )
    html = response.content.decode()
    assert f'value="{catalogue["option"].pk}">20.00 € face value · 1 drink · 18+' in html
    assert f'value="{other.pk}"' not in html


def test_supplements_follow_the_rate(issuer_client, catalogue):
    f.SupplementFactory(label="Welcome drink", rate_names=[catalogue["rate"].name])
    f.SupplementFactory(label="VIP table", rate_names=["Some other rate"])
    response = issuer_client.get(
        reverse("issue-options"), {"event": catalogue["event"].pk, "rate": catalogue["rate"].pk}
    )
    html = response.content.decode()
    assert "Welcome drink" in html
    assert "VIP table" not in html


# --- Rows ----------------------------------------------------------------------------------------


def test_a_new_row_is_numbered_after_the_existing_ones(issuer_client, catalogue):
    response = issuer_client.get(reverse("issue-row"), {"holders-TOTAL_FORMS": "3"})
    html = response.content.decode()
    assert 'name="holders-3-full_name"' in html
    assert 'name="holders-TOTAL_FORMS" value="4"' in html
    assert 'hx-swap-oob="true"' in html


def test_a_row_index_must_be_a_number(issuer_client, catalogue):
    assert issuer_client.get(reverse("issue-row"), {"index": "x"}).status_code == 400


def test_no_row_beyond_200(issuer_client, catalogue):
    response = issuer_client.get(reverse("issue-row"), {"index": "200"})
    html = response.content.decode()
    assert "holders-200-" not in html
    assert "At most 200 holders" in html


# --- Submitting the form -------------------------------------------------------------------------


def test_errors_are_shown_on_the_row_and_field_and_summarised(issuer_client, catalogue):
    rows = [ANA, {"full_name": "Bo", "email": "bo@"}, {"full_name": "", "email": "c@example.com"}]
    response = issuer_client.post(reverse("issue-new"), form_data(catalogue, rows))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Row 2: Email: Enter a valid email address." in html
    assert "Row 3: Full name: This field is required." in html
    assert 'aria-invalid="true"' in html
    # What was typed is kept.
    assert 'value="Ana Pérez"' in html
    assert "issuance_drafts" not in issuer_client.session


def test_both_channel_and_promoter_is_refused_at_the_top(issuer_client, catalogue):
    promoter = f.PromoterFactory()
    data = form_data(catalogue, [ANA], promoter=promoter.pk)
    response = issuer_client.post(reverse("issue-new"), data)
    assert response.status_code == 200
    assert "never both" in response.content.decode()


def test_a_valid_form_stores_a_draft_and_goes_to_review(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    token = issuer_client.session["issuance_drafts"][str(key)]
    assert "ana@example.com" not in token  # personal data is encrypted in the session
    draft = json.loads(decrypt(token))
    assert [h["email"] for h in draft["holders"]] == ["ana@example.com", "bo@example.com"]
    assert draft["holders"][0]["phone"] == "+34600123456"
    assert draft["channel_id"] == catalogue["channel"].pk
    assert draft["total_price"] == "0"
    assert Issuance.objects.count() == 0  # nothing issued before Confirm


def test_the_review_shows_what_will_be_sent_with_documents_masked(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    response = issuer_client.get(reverse("issue-review", args=[key]))
    html = response.content.decode()
    assert response.status_code == 200
    assert catalogue["event"].name in html
    assert "face value 20.00\u00a0€" in html
    assert "sent at 0.00\u00a0€ with a fee of 0.00\u00a0€" in html
    assert catalogue["channel"].name in html
    assert "Press" in html
    assert "Opening night" in html
    assert "ana@example.com" in html
    assert "+34600123456" in html
    assert "XK1234567" not in html
    assert "567" in html
    assert "•••567" in html
    assert re.search(r'id="call-count">2 calls<', html)
    assert reverse("issue-confirm", args=[key]) in html
    assert f"{reverse('issue-new')}?key={key}" in html


def test_the_call_count_follows_tickets_per_call(issuer_client, catalogue, settings):
    settings.FOURVENUES_TICKETS_PER_CALL = 2
    rows = [{"full_name": f"Guest {i}", "email": f"g{i}@example.com"} for i in range(5)]
    key = submit_to_review(issuer_client, catalogue, rows=rows)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert re.search(r'id="call-count">3 calls<', html)


def test_the_review_highlights_warnings(issuer_client, catalogue):
    rows = [ANA, {**BO, "email": "ana@example.com"}]
    key = submit_to_review(issuer_client, catalogue, rows=rows)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert 'id="review-warnings"' in html
    assert "Row 2 has the same email as row 1" in html


def test_back_to_edit_restores_the_draft_under_the_same_key(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    response = issuer_client.get(reverse("issue-new"), {"key": str(key)})
    html = response.content.decode()
    assert f'name="idempotency_key" value="{key}"' in html
    assert 'value="Ana Pérez"' in html
    assert 'value="bo@example.com"' in html
    assert 'name="holders-TOTAL_FORMS" value="2"' in html
    assert f'<option value="{catalogue["option"].pk}" selected>' in html


def test_an_unknown_key_gives_a_fresh_form(issuer_client, catalogue):
    key = uuid.uuid4()
    response = issuer_client.get(reverse("issue-new"), {"key": str(key)}, follow=True)
    html = response.content.decode()
    assert "expired" in html
    assert f'name="idempotency_key" value="{key}"' not in html


def test_a_review_without_a_draft_says_the_form_expired(issuer_client, catalogue):
    response = issuer_client.get(reverse("issue-review", args=[uuid.uuid4()]))
    assert response.status_code == 302
    assert response["Location"] == reverse("issue-new")


def test_the_session_keeps_only_the_latest_drafts(issuer_client, catalogue):
    keys = [submit_to_review(issuer_client, catalogue) for _ in range(MAX_SESSION_DRAFTS + 2)]
    stored = issuer_client.session["issuance_drafts"]
    assert list(stored) == [str(k) for k in keys[-MAX_SESSION_DRAFTS:]]


# --- Confirming ----------------------------------------------------------------------------------


def test_confirm_issues_once_and_leads_to_the_issuance(issuer_client, issuer, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    response = confirm(issuer_client, key)
    issuance = Issuance.objects.get(idempotency_key=key)
    assert response.status_code == 302
    assert response["Location"] == reverse("issuance-detail", args=[issuance.pk])
    assert issuance.created_by == issuer
    assert issuance.lines.count() == 2
    assert sorted(issuance.lines.values_list("email", flat=True)) == [
        "ana@example.com",
        "bo@example.com",
    ]
    # The personal data left the session once the ledger had it.
    assert str(key) not in issuer_client.session.get("issuance_drafts", {})


def test_a_double_confirm_leads_to_the_same_single_issuance(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    digest = reviewed(issuer_client, key)
    first = confirm(issuer_client, key, digest)
    second = confirm(issuer_client, key, digest)
    assert first["Location"] == second["Location"]
    assert Issuance.objects.count() == 1


def test_back_and_resubmit_after_confirm_leads_to_the_same_issuance(issuer_client, catalogue):
    data = form_data(catalogue, [ANA])
    key = uuid.UUID(data["idempotency_key"])
    issuer_client.post(reverse("issue-new"), data)
    confirm(issuer_client, key)
    issuance = Issuance.objects.get()

    # The browser's Back shows the old form; submitting it again finds the issuance.
    resubmit = issuer_client.post(reverse("issue-new"), data)
    assert resubmit["Location"] == reverse("issuance-detail", args=[issuance.pk])
    again = issuer_client.get(reverse("issue-review", args=[key]))
    assert again["Location"] == reverse("issuance-detail", args=[issuance.pk])
    assert Issuance.objects.count() == 1


def test_reopening_an_issued_form_leads_to_its_issuance(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    confirm(issuer_client, key)
    issuance = Issuance.objects.get()
    response = issuer_client.get(reverse("issue-new"), {"key": str(key)})
    assert response["Location"] == reverse("issuance-detail", args=[issuance.pk])


def test_another_users_key_is_not_theirs_to_follow(client, catalogue):
    owner = f.issuer()
    issuance = f.IssuanceFactory(created_by=owner, price_option=catalogue["option"])
    client.force_login(f.issuer())
    response = client.post(reverse("issue-confirm", args=[issuance.idempotency_key]))
    # Not led to someone else's issuance: without a draft of their own, the form expired.
    assert response["Location"] == reverse("issue-new")


def test_a_second_tab_with_the_draft_still_there_gets_the_same_issuance(
    issuer_client, catalogue, monkeypatch
):
    key = submit_to_review(issuer_client, catalogue)
    calls = []
    real_submit = issue_views.submit_issuance

    def counting_submit(**kwargs):
        calls.append(kwargs["idempotency_key"])
        return real_submit(**kwargs)

    monkeypatch.setattr(issue_views, "submit_issuance", counting_submit)
    # Two tabs both hold the draft: the second confirm arrives after the first committed.
    session = issuer_client.session
    drafts = dict(session["issuance_drafts"])
    digest = reviewed(issuer_client, key)
    confirm(issuer_client, key, digest)
    session = issuer_client.session
    session["issuance_drafts"] = drafts
    session.save()
    confirm(issuer_client, key, digest)
    assert Issuance.objects.count() == 1
    assert calls == [key]  # the second found the issuance without submitting again


def test_confirm_without_a_draft_or_issuance_says_the_form_expired(issuer_client, catalogue):
    response = issuer_client.post(reverse("issue-confirm", args=[uuid.uuid4()]), follow=True)
    assert response.redirect_chain[0][0] == reverse("issue-new")
    assert b"This form has expired" in response.content
    assert Issuance.objects.count() == 0


def test_confirm_is_post_only(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    assert issuer_client.get(reverse("issue-confirm", args=[key])).status_code == 405


def test_a_refusal_from_the_service_is_shown_on_the_review(issuer_client, catalogue, monkeypatch):
    key = submit_to_review(issuer_client, catalogue)

    def refuse(**kwargs):
        raise IssuanceError("Quota exceeded for this event.")

    monkeypatch.setattr(issue_views, "submit_issuance", refuse)
    response = confirm(issuer_client, key, follow=True)
    assert response.redirect_chain[0][0] == reverse("issue-review", args=[key])
    assert b"Quota exceeded for this event." in response.content


def test_a_draft_whose_option_was_withdrawn_goes_back_to_the_form(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    digest = reviewed(issuer_client, key)
    catalogue["option"].is_listed = False
    catalogue["option"].save()
    response = confirm(issuer_client, key, digest, follow=True)
    assert response.redirect_chain[0][0] == f"{reverse('issue-new')}?key={key}"
    assert b"The catalogue changed" in response.content
    assert Issuance.objects.count() == 0


def test_a_confirm_from_a_tab_whose_form_was_resubmitted_elsewhere_shows_the_new_review(
    issuer_client, catalogue
):
    # Tab A reviews 2 holders; tab B, the same form (same key), re-submits it with 5.
    data = form_data(catalogue, [ANA, BO])
    key = uuid.UUID(data["idempotency_key"])
    issuer_client.post(reverse("issue-new"), data)
    reviewed_in_a = reviewed(issuer_client, key)
    rows = [{"full_name": f"Guest {i}", "email": f"g{i}@example.com"} for i in range(5)]
    issuer_client.post(reverse("issue-new"), form_data(catalogue, rows, idempotency_key=str(key)))

    response = confirm(issuer_client, key, reviewed_in_a)

    # Nothing issued: tab A is shown the 5 holders it never reviewed, with a new Confirm.
    html = response.content.decode()
    assert response.status_code == 200
    assert Issuance.objects.count() == 0
    assert "This form was changed in another tab: review it again." in html
    assert "Confirm and issue 5 comps" in html
    assert "g4@example.com" in html
    digest = input_value(html, "reviewed")
    assert digest
    assert digest != reviewed_in_a
    # Confirming that review issues exactly what it showed.
    confirm(issuer_client, key, digest)
    issuance = Issuance.objects.get(idempotency_key=key)
    assert issuance.lines.count() == 5


def test_a_confirm_that_does_not_say_what_was_reviewed_issues_nothing(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    response = issuer_client.post(reverse("issue-confirm", args=[key]))
    assert response.status_code == 200
    assert b"review it again" in response.content
    assert Issuance.objects.count() == 0
    assert str(key) in issuer_client.session["issuance_drafts"]  # the draft is kept for review


# The CSV import's tests are in tests/views/test_issue_import.py.


def test_the_review_says_who_already_has_comps_for_the_event(issuer_client, catalogue):
    earlier = f.IssuanceFactory(
        price_option=catalogue["option"],
        created_by=f.issuer(username="ivy", first_name="Ivy", last_name="Issuer"),
    )
    f.IssuanceLineFactory(issuance=earlier, email="ana@example.com", state="confirmed")

    key = submit_to_review(issuer_client, catalogue)  # Ana (typed Ana@Example.com) and Bo
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()

    assert 'id="earlier-comps"' in html
    assert "One of these holders already has comps for" in html
    assert "ana@example.com: 1 comp, the latest issued" in html
    assert "by Ivy Issuer" in html
    assert "bo@example.com:" not in html


def test_the_review_has_no_earlier_comps_note_for_new_holders(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert 'id="earlier-comps"' not in html


# --- Nothing left out unseen ---------------------------------------------------------------------


def test_the_review_names_a_blank_row_left_out(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue, rows=[ANA, {"full_name": ""}, BO])
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert 'id="blank-rows"' in html
    assert "Row 2 of the form was empty, so it is left out; the rows below are numbered" in html
    assert "Confirm and issue 2 comps" in html


def test_a_review_without_blank_rows_says_nothing_of_them(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert 'id="blank-rows"' not in html


def test_a_partly_filled_row_is_never_dropped_but_refused(issuer_client, catalogue):
    data = form_data(catalogue, [ANA, {"phone": "600123456"}])
    response = issuer_client.post(reverse("issue-new"), data)
    assert response.status_code == 200  # the form again, not the review
    assert "Row 2: Full name: This field is required." in response.content.decode()


# --- Enter never runs the CSV import -------------------------------------------------------------


def test_the_forms_first_submit_button_goes_to_the_review(issuer_client, catalogue):
    """Enter in a field presses the form's first submit button (its default button): it must be
    the one that goes to the review, not the CSV import's."""
    html = issuer_client.get(reverse("issue-new")).content.decode()
    form = html[html.index('<form method="post" action="/issue/"') :]
    first_submit = re.search(r"<button[^>]*type=\"submit\"[^>]*>", form).group(0)
    assert "formaction" not in first_submit
    assert "data-default-submit" in first_submit
    assert form.index("data-default-submit") < form.index("formaction=")


# --- Warnings point at their row; rows are fixed or removed from the review -----------------------


def test_a_warning_links_to_its_highlighted_row_with_edit_and_remove(issuer_client, catalogue):
    rows = [ANA, BO, {**BO, "full_name": "Cy", "email": "ana@example.com"}]
    key = submit_to_review(issuer_client, catalogue, rows=rows)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert "Row 3 has the same email as row 1" in html
    assert 'href="#review-row-3"' in html
    assert '<tr id="review-row-3" class="review-flagged">' in html
    assert '<tr id="review-row-2">' in html  # not flagged
    assert f"{reverse('issue-new')}?key={key}#holder-3" in html
    assert reverse("issue-review-remove", args=[key]) in html


def test_the_form_rows_carry_the_anchor_the_edit_link_points_at(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    html = issuer_client.get(reverse("issue-new"), {"key": str(key)}).content.decode()
    assert 'data-holder-row id="holder-1"' in html
    assert 'data-holder-row id="holder-2"' in html


def test_an_earlier_comp_links_to_the_row_of_that_holder(issuer_client, catalogue):
    earlier = f.IssuanceFactory(price_option=catalogue["option"])
    f.IssuanceLineFactory(issuance=earlier, email="bo@example.com", state="confirmed")
    key = submit_to_review(issuer_client, catalogue)
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    earlier_box = html[html.index('id="earlier-comps"') :]
    assert 'href="#review-row-2"' in earlier_box[: earlier_box.index("</div>")]
    assert '<tr id="review-row-2" class="review-flagged">' in html


def test_removing_a_row_on_the_review_drops_it_and_asks_for_a_new_review(issuer_client, catalogue):
    rows = [ANA, BO, {"full_name": "Ana Again", "email": "ana@example.com"}]
    key = submit_to_review(issuer_client, catalogue, rows=rows)
    old_digest = reviewed(issuer_client, key)

    response = issuer_client.post(
        reverse("issue-review-remove", args=[key]), {"reviewed": old_digest, "row": "3"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("issue-review", args=[key])
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert "Row 3 (Ana Again) was removed" in html
    assert "Confirm and issue 2 comps" in html
    assert "Ana Again" not in html.split("was removed")[1]
    assert 'id="review-warnings"' not in html  # the duplicate went with the row

    # The confirm button of the page before the removal no longer matches: nothing issued.
    confirm(issuer_client, key, digest=old_digest)
    assert Issuance.objects.count() == 0
    response = confirm(issuer_client, key)
    issuance = Issuance.objects.get()
    assert [line.full_name for line in issuance.lines.order_by("position")] == [
        "Ana Pérez",
        "Bo Li",
    ]
    assert response.status_code == 302


def test_a_removal_from_a_stale_review_removes_nothing(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    response = issuer_client.post(
        reverse("issue-review-remove", args=[key]), {"reviewed": "stale", "row": "1"}, follow=True
    )
    assert "Nothing was removed" in response.content.decode()
    assert "Confirm and issue 2 comps" in response.content.decode()


@pytest.mark.parametrize("row", ["0", "3", "x", ""])
def test_removing_a_row_that_is_not_there_removes_nothing(issuer_client, catalogue, row):
    key = submit_to_review(issuer_client, catalogue)
    digest = reviewed(issuer_client, key)
    response = issuer_client.post(
        reverse("issue-review-remove", args=[key]), {"reviewed": digest, "row": row}, follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is no such row to remove" in html
    assert "Confirm and issue 2 comps" in html


def test_the_only_holder_cannot_be_removed(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue, rows=[ANA])
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert reverse("issue-review-remove", args=[key]) not in html  # no button offered
    response = issuer_client.post(
        reverse("issue-review-remove", args=[key]),
        {"reviewed": reviewed(issuer_client, key), "row": "1"},
        follow=True,
    )
    assert "This is the only holder" in response.content.decode()
    assert "Confirm and issue one comp" in response.content.decode()


def test_removing_a_row_after_issuing_leads_to_the_issuance(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    digest = reviewed(issuer_client, key)
    confirm(issuer_client, key, digest=digest)
    issuance = Issuance.objects.get()
    response = issuer_client.post(
        reverse("issue-review-remove", args=[key]), {"reviewed": digest, "row": "1"}
    )
    assert response["Location"] == reverse("issuance-detail", args=[issuance.pk])
    assert issuance.lines.count() == 2


# --- The issuer's last choices are the next form's defaults --------------------------------------


def selected_value(html, name):
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    match = re.search(r'<option value="([^"]*)" selected>', select)
    return match.group(1) if match and match.group(1) else None  # "" is the placeholder


def test_a_fresh_form_starts_from_the_issuers_last_choices(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    confirm(issuer_client, key)
    html = issuer_client.get(reverse("issue-new")).content.decode()
    assert selected_value(html, "event") == str(catalogue["event"].pk)
    assert selected_value(html, "rate") == str(catalogue["rate"].pk)
    assert selected_value(html, "price_option") == str(catalogue["option"].pk)
    assert selected_value(html, "reason") == str(catalogue["reason"].pk)
    assert selected_value(html, "channel") == str(catalogue["channel"].pk)
    assert 'value="channel" checked' in html or re.search(r'value="channel"[^>]*checked', html)
    assert input_value(html, "idempotency_key") != str(key)  # a fresh key all the same


def test_a_default_no_longer_offered_is_not_preselected(issuer_client, issuer, catalogue):
    past = f.PriceOptionFactory(rate__event__night=dt.date(2020, 1, 1))
    UserPreferences.objects.create(
        user=issuer,
        last_event=past.rate.event,
        last_rate=past.rate,
        last_price_option=past,
        last_reason=catalogue["reason"],
    )
    html = issuer_client.get(reverse("issue-new")).content.decode()
    assert selected_value(html, "event") is None
    events = re.search(r'<select name="event".*?</select>', html, re.S).group(0)
    assert f'value="{past.rate.event.pk}"' not in events  # a past event is not even offered
    assert selected_value(html, "reason") == str(catalogue["reason"].pk)


def test_another_issuers_choices_are_not_my_defaults(client, catalogue):
    someone = f.issuer()
    UserPreferences.objects.create(user=someone, last_event=catalogue["event"])
    client.force_login(f.issuer())
    assert selected_value(client.get(reverse("issue-new")).content.decode(), "event") is None


# --- The event picker is searchable --------------------------------------------------------------


def test_the_event_picker_has_a_filter_box_shown_by_javascript_only(issuer_client, catalogue):
    html = issuer_client.get(reverse("issue-new")).content.decode()
    assert '<div class="mb-1" data-event-filter hidden>' in html
    assert '<label class="form-label small mb-0" for="event-filter">Find an event</label>' in html
    assert '<select name="event"' in html  # the plain list stays, for pages without JavaScript


# --- Issue again ---------------------------------------------------------------------------------


def issued_earlier(catalogue, created_by, note=""):
    issuance = f.IssuanceFactory(
        price_option=catalogue["option"],
        created_by=created_by,
        channel=catalogue["channel"],
        reason=catalogue["reason"],
        note=note,
    )
    f.IssuanceLineFactory(
        issuance=issuance, position=1, full_name="Dj Crew", email="dj@example.com"
    )
    f.IssuanceLineFactory(
        issuance=issuance,
        position=2,
        full_name="Light Tech",
        email="light@example.com",
        document_type="dni",
        document_number="12345678Z",
    )
    return issuance


def test_issue_again_prefills_a_new_form_with_the_holders_and_choices(
    issuer_client, issuer, catalogue
):
    earlier = issued_earlier(catalogue, issuer, note="Artist crew")
    response = issuer_client.get(reverse("issue-again", args=[earlier.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert 'value="Dj Crew"' in html
    assert 'value="light@example.com"' in html
    assert 'value="12345678Z"' not in html  # typed again: a stored one is never shown
    assert 'name="holders-TOTAL_FORMS" value="2"' in html
    assert selected_value(html, "event") == str(catalogue["event"].pk)
    assert selected_value(html, "channel") == str(catalogue["channel"].pk)
    assert "2 holders copied from issuance" in html
    key = input_value(html, "idempotency_key")
    assert key
    assert key != str(earlier.idempotency_key)


def test_issue_again_never_shows_a_document_number(issuer_client, issuer, catalogue):
    earlier = issued_earlier(catalogue, issuer)
    url = reverse("issue-again", args=[earlier.pk])
    assert "12345678Z" not in url
    html = issuer_client.get(reverse("issuance-detail", args=[earlier.pk])).content.decode()
    assert url in html
    # Neither in the address nor in the new form: the issuer types it again.
    assert "12345678Z" not in issuer_client.get(url).content.decode()


def test_issue_again_of_another_issuers_issuance_is_not_found(issuer_client, catalogue):
    earlier = issued_earlier(catalogue, f.issuer())
    assert issuer_client.get(reverse("issue-again", args=[earlier.pk])).status_code == 404


def test_a_manager_may_issue_again_anyones_issuance(manager_client, catalogue):
    earlier = issued_earlier(catalogue, f.issuer())
    response = manager_client.get(reverse("issue-again", args=[earlier.pk]))
    assert response.status_code == 200
    assert 'value="Dj Crew"' in response.content.decode()


def test_issue_again_is_for_people_who_may_issue(client, catalogue):
    earlier = issued_earlier(catalogue, f.issuer())
    client.force_login(f.UserFactory())
    assert client.get(reverse("issue-again", args=[earlier.pk])).status_code == 403


def test_issue_again_of_a_past_event_keeps_the_holders_but_not_the_event(
    issuer_client, issuer, catalogue
):
    past = f.PriceOptionFactory(rate__event__night=dt.date(2020, 1, 1))
    earlier = f.IssuanceFactory(price_option=past, created_by=issuer)
    f.IssuanceLineFactory(issuance=earlier, full_name="Press One", email="p1@example.com")
    html = issuer_client.get(reverse("issue-again", args=[earlier.pk])).content.decode()
    assert 'value="Press One"' in html
    assert selected_value(html, "event") is None


# --- Back after issuing starts afresh ------------------------------------------------------------


def test_the_form_and_review_pages_are_never_stored_by_the_browser(issuer_client, catalogue):
    assert "no-store" in issuer_client.get(reverse("issue-new"))["Cache-Control"]
    key = submit_to_review(issuer_client, catalogue)
    assert "no-store" in issuer_client.get(reverse("issue-review", args=[key]))["Cache-Control"]
    back = issuer_client.get(reverse("issue-new"), {"key": str(key)})
    assert "no-store" in back["Cache-Control"]
    html = issuer_client.get(reverse("issue-new")).content.decode()
    assert 'autocomplete="off"' in html.split('id="issue-form"')[1].split(">")[0]
    assert "data-reload-on-restore" in html


def test_back_to_an_issued_form_leads_to_its_issuance_not_the_old_draft(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    confirm(issuer_client, key)
    issuance = Issuance.objects.get()
    for response in (
        issuer_client.get(reverse("issue-new"), {"key": str(key)}),
        issuer_client.get(reverse("issue-review", args=[key])),
        issuer_client.post(reverse("issue-new"), form_data(catalogue, [ANA], idempotency_key=key)),
    ):
        assert response["Location"] == reverse("issuance-detail", args=[issuance.pk])
    assert Issuance.objects.count() == 1


# --- Messages never contradict the progress panel -----------------------------------------------


def test_confirming_adds_no_flash_above_the_progress_panel(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue)
    response = confirm(issuer_client, key, follow=True)
    html = response.content.decode()
    assert "Issuing 2 comps" not in html
    assert 'class="alert alert-success' not in html


# --- In Spanish ----------------------------------------------------------------------------------


def test_the_form_and_review_read_in_spanish(issuer_client, catalogue):
    html = issuer_client.get(reverse("issue-new"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Emitir invitaciones" in html
    assert "Revisar antes de emitir" in html
    assert "Nombre completo" in html
    key = submit_to_review(issuer_client, catalogue, rows=[ANA, {**BO, "email": "ana@example.com"}])
    html = issuer_client.get(
        reverse("issue-review", args=[key]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Confirmar y emitir 2 invitaciones" in html
    assert "La fila 2 tiene el mismo correo que la fila 1" in html
    assert "20,00\u00a0€" in html


# --- How guests get their tickets, and each guest's language ------------------------------------


def radio_values(html, name):
    """The values of the radio buttons called `name`, and which one is checked."""
    tags = [t for t in re.findall(r"<input[^>]*>", html) if f'name="{name}"' in t]
    values = [re.search(r'value="([^"]*)"', t).group(1) for t in tags]
    checked = [v for v, t in zip(values, tags, strict=True) if " checked" in t]
    return values, (checked[0] if checked else None)


def test_the_form_offers_comps_sends_by_default_and_no_fourvenues_without_the_setting(
    issuer_client, catalogue
):
    html = issuer_client.get(reverse("issue-new")).content.decode()
    assert "How guests get their tickets" in html
    values, checked = radio_values(html, "delivery_mode")
    assert values == ["comps", "hand_out"]
    assert checked == "comps"


def test_a_credential_fourvenues_sends_for_offers_it_and_makes_it_the_default(
    issuer_client, catalogue
):
    Credential = type(catalogue["credential"])
    Credential.objects.filter(pk=catalogue["credential"].pk).update(fourvenues_sends_tickets=True)
    html = issuer_client.get(reverse("issue-new")).content.decode()
    values, checked = radio_values(html, "delivery_mode")
    assert values == ["comps", "fourvenues", "hand_out"]
    assert checked == "fourvenues"


def test_fourvenues_sends_is_refused_when_the_credential_does_not_say_so(issuer_client, catalogue):
    data = form_data(catalogue, [ANA], delivery_mode="fourvenues")
    response = issuer_client.post(reverse("issue-new"), data)
    assert response.status_code == 200
    assert "Fourvenues does not send this credential&#x27;s tickets" in response.content.decode()


def test_the_chosen_way_and_each_language_are_reviewed_and_stored(issuer_client, catalogue):
    english_ana = {**ANA, "language": "en"}
    spanish_bo = {**BO, "language": "es"}
    key = submit_to_review(
        issuer_client, catalogue, rows=(english_ana, spanish_bo), delivery_mode="hand_out"
    )
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert re.search(r'data-testid="review-delivery">\s*Hand out: nothing is sent', html)
    assert "<td>English</td>" in html
    assert "<td>Español</td>" in html
    confirm(issuer_client, key)
    issuance = Issuance.objects.get()
    assert issuance.delivery_mode == "hand_out"
    assert list(issuance.lines.order_by("position").values_list("language", flat=True)) == [
        "en",
        "es",
    ]


def test_a_row_without_a_language_gets_the_venues(issuer_client, catalogue, settings):
    key = submit_to_review(issuer_client, catalogue, rows=(ANA,))
    confirm(issuer_client, key)
    issuance = Issuance.objects.get()
    assert issuance.delivery_mode == "comps"
    assert issuance.lines.get().language == settings.LANGUAGE_CODE


def test_a_blank_row_with_only_its_language_is_still_left_out(issuer_client, catalogue):
    key = submit_to_review(issuer_client, catalogue, rows=(ANA, {"language": "es"}))
    html = issuer_client.get(reverse("issue-review", args=[key])).content.decode()
    assert "Confirm and issue one comp" in html
    assert 'id="blank-rows"' in html


def test_each_row_has_a_language_select_with_the_venues_selected(issuer_client, catalogue):
    from django.conf import settings

    html = issuer_client.get(reverse("issue-new")).content.decode()
    row = issuer_client.get(reverse("issue-row"), {"index": 0}).content.decode()
    assert selected_value(row, "holders-0-language") == settings.LANGUAGE_CODE
    assert "Language" in html


def test_issue_again_copies_the_way_and_the_languages(issuer_client, issuer, catalogue):
    earlier = issued_earlier(catalogue, issuer)
    Issuance.objects.filter(pk=earlier.pk).update(delivery_mode="hand_out")
    earlier.lines.filter(position=1).update(language="en")
    earlier.lines.filter(position=2).update(language="es")
    html = issuer_client.get(reverse("issue-again", args=[earlier.pk])).content.decode()
    assert radio_values(html, "delivery_mode")[1] == "hand_out"
    assert selected_value(html, "holders-0-language") == "en"
    assert selected_value(html, "holders-1-language") == "es"


def test_issue_again_falls_back_to_the_default_when_fourvenues_no_longer_sends(
    issuer_client, issuer, catalogue
):
    earlier = issued_earlier(catalogue, issuer)
    Issuance.objects.filter(pk=earlier.pk).update(delivery_mode="fourvenues")
    html = issuer_client.get(reverse("issue-again", args=[earlier.pk])).content.decode()
    assert radio_values(html, "delivery_mode")[1] == "comps"
