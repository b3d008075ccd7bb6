"""The ticket search's parameters: parsed, or refused with a message (never a 500)."""

import datetime as dt

import pytest

from tests import factories as f
from tickets.filters import DEFAULT_SORT, PARAMS, SORT_FIELDS, TicketSearchFilter

pytestmark = pytest.mark.django_db


def test_an_empty_search_is_valid_and_sorts_newest_issued_first():
    form = TicketSearchFilter(data={})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["sort"] == DEFAULT_SORT == "-issued"
    assert form.cleaned_data["attribution"] is None


def test_every_parameter_parses():
    event = f.EventFactory()
    reason = f.ReasonFactory(label="Press")
    channel = f.ChannelFactory()
    issuance = f.IssuanceFactory()
    form = TicketSearchFilter(
        data={
            "q": "José",
            "event": str(event.pk),
            "rate": "VIP",
            "status": "valid",
            "issued_by": str(issuance.created_by.pk),
            "reason": str(reason.pk),
            "attribution": f"channel:{channel.pk}",
            "issued_from": "2026-01-01",
            "issued_to": "2026-01-31",
            "night_from": "2026-02-01",
            "night_to": "2026-02-28",
            "checked_in": "yes",
            "environment": "production",
            "sort": "-name",
        }
    )
    assert form.is_valid(), form.errors
    data = form.cleaned_data
    assert data["event"] == event
    assert data["issued_by"] == issuance.created_by
    assert data["reason"] == reason
    assert data["attribution"] == ("channel", channel.pk)
    assert data["issued_from"] == dt.date(2026, 1, 1)
    assert data["night_to"] == dt.date(2026, 2, 28)
    assert data["sort"] == "-name"
    assert set(PARAMS) == set(form.fields)


@pytest.mark.parametrize("value", ["none", "promoter:3", "channel:12"])
def test_attribution_values(value):
    form = TicketSearchFilter(data={"attribution": value})
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"event": "999999"}, "event"),
        ({"event": "abc"}, "event"),
        ({"status": "zombie"}, "status"),
        ({"issued_by": "x"}, "issued_by"),
        ({"reason": "0"}, "reason"),
        ({"attribution": "venue:1"}, "attribution"),
        ({"attribution": "channel:abc"}, "attribution"),
        ({"issued_from": "yesterday"}, "issued_from"),
        ({"night_to": "2026-13-45"}, "night_to"),
        ({"checked_in": "maybe"}, "checked_in"),
        ({"environment": "staging"}, "environment"),
        ({"sort": "password"}, "sort"),
        ({"sort": "--name"}, "sort"),
        ({"issued_from": "2026-02-01", "issued_to": "2026-01-01"}, "issued_to"),
        ({"night_from": "2026-02-01", "night_to": "2026-01-01"}, "night_to"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_values_are_form_errors(params, field):
    form = TicketSearchFilter(data=params)
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.parametrize("key", sorted(SORT_FIELDS))
def test_every_sort_key_both_ways(key):
    for value in (key, f"-{key}"):
        form = TicketSearchFilter(data={"sort": value})
        assert form.is_valid(), form.errors


def test_the_selects_keep_the_chosen_option_and_escape_labels():
    from tickets.filters import FastSelect

    widget = FastSelect(choices=[("", "Any"), ("a", "A <b>"), ("b", "B")])
    html = widget.render("status", "a", attrs={"id": "id_status", "class": "form-select"})
    assert html == (
        '<select class="form-select" id="id_status" name="status">'
        '<option value="">Any</option>'
        '<option value="a" selected>A &lt;b&gt;</option>'
        '<option value="b">B</option></select>'
    )


def test_event_issuer_and_reason_options_are_labelled_from_their_rows():
    event = f.EventFactory(name="Sábado <Techno>", night=dt.date(2026, 12, 5))
    named = f.IssuanceFactory(created_by__first_name="Ana", created_by__last_name="Ruiz").created_by
    unnamed = f.IssuanceFactory(created_by__first_name="", created_by__last_name="").created_by
    reason = f.ReasonFactory(label="Press")
    form = TicketSearchFilter(data={"event": str(event.pk)})

    html = str(form["event"]) + str(form["issued_by"]) + str(form["reason"])

    assert (
        f'<option value="{event.pk}" selected>Sábado &lt;Techno&gt; (2026-12-05)</option>' in html
    )
    assert f'<option value="{named.pk}">Ana Ruiz</option>' in html
    assert f'<option value="{unnamed.pk}">{unnamed.username}</option>' in html
    assert f'<option value="{reason.pk}">Press</option>' in html
    assert form.is_valid(), form.errors
    assert form.cleaned_data["event"] == event
