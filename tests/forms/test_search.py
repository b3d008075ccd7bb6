"""The ticket search form: its parameters parsed into typed filters, or refused with a message
(never a 500)."""

import datetime as dt

import pytest
from django.http import QueryDict

from tests import factories as f
from tickets.forms.search import PARAMS, FastSelect, TicketSearchForm
from tickets.selectors import search as search_selectors

pytestmark = pytest.mark.django_db


def test_an_empty_search_is_valid_and_sorts_newest_issued_first():
    form = TicketSearchForm(data={})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["sort"] == search_selectors.DEFAULT_SORT == "-issued"
    assert form.cleaned_data["attribution"] is None


def test_every_parameter_parses():
    event = f.EventFactory()
    reason = f.ReasonFactory(label="Press")
    channel = f.ChannelFactory()
    issuance = f.IssuanceFactory()
    form = TicketSearchForm(
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
    form = TicketSearchForm(data={"attribution": value})
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
    form = TicketSearchForm(data=params)
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.parametrize("key", sorted(search_selectors.SORT_FIELDS))
def test_every_sort_key_both_ways(key):
    for value in (key, f"-{key}"):
        form = TicketSearchForm(data={"sort": value})
        assert form.is_valid(), form.errors


def test_bad_parameters_give_errors_and_no_filters():
    form = TicketSearchForm.from_query({"sort": "secret", "event": "x"})
    assert not form.is_valid()
    assert set(form.errors) == {"sort", "event"}
    with pytest.raises(ValueError, match="did not validate"):
        form.filters()


def test_the_filters_are_typed_and_leave_other_parameters_out():
    event = f.EventFactory()
    form = TicketSearchForm.from_query(QueryDict(f"event={event.pk}&page=3&format=csv&q=+jo+"))
    assert form.filters() == search_selectors.TicketSearchFilters(q="jo", event=event)
    assert TicketSearchForm.from_query({}).filters() == search_selectors.TicketSearchFilters()


def test_the_selects_keep_the_chosen_option_and_escape_labels():
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
    form = TicketSearchForm(data={"event": str(event.pk)})

    html = str(form["event"]) + str(form["issued_by"]) + str(form["reason"])

    assert (
        f'<option value="{event.pk}" selected>Sábado &lt;Techno&gt; (Sat 5 Dec 2026)</option>'
        in html
    )
    assert f'<option value="{named.pk}">Ana Ruiz</option>' in html
    assert f'<option value="{unnamed.pk}">{unnamed.username}</option>' in html
    assert f'<option value="{reason.pk}">Press</option>' in html
    assert form.is_valid(), form.errors
    assert form.cleaned_data["event"] == event


def test_the_form_speaks_spanish_and_its_cached_options_follow_the_language():
    from django.utils import translation

    event = f.EventFactory(name="Noche", night=dt.date(2026, 12, 5))
    channel = f.ChannelFactory(name="Web")
    with translation.override("en"):
        english = str(TicketSearchForm(data={})["event"]) + str(
            TicketSearchForm(data={})["attribution"]
        )
    with translation.override("es"):
        form = TicketSearchForm(data={})
        spanish = str(form["status"]) + str(form["event"]) + str(form["attribution"])
        assert str(form.fields["issued_from"].label) == "Emitida desde"

    assert f'<option value="{event.pk}">Noche (Sat 5 Dec 2026)</option>' in english
    assert f'<option value="channel:{channel.pk}">Channel: Web</option>' in english
    assert ">Cualquier estado</option>" in spanish
    assert f'<option value="{event.pk}">Noche (sáb 5 Dic 2026)</option>' in spanish
    assert f'<option value="channel:{channel.pk}">Canal: Web</option>' in spanish
