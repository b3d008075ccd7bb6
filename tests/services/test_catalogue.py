import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.catalogue_support import register, serve, start_sandbox
from tickets.fourvenues.sandbox.catalogue import night_of
from tickets.models import ApiCall, AuditEntry, Channel, Event, PriceOption, Promoter, Rate
from tickets.selectors import catalogue as catalogue_selectors
from tickets.services import catalogue
from tickets.services.catalogue import CatalogueRefreshError, event_night, refresh_catalogue

MADRID = ZoneInfo("Europe/Madrid")
MIRROR_MODELS = (Event, Rate, PriceOption, Channel, Promoter)


@pytest.fixture
def server(sandbox_factory, settings):
    return start_sandbox(sandbox_factory, settings)


def _window(server, days):
    today = server.catalogue.today
    return today, today + dt.timedelta(days=days - 1)


def _served(server, days):
    """What the sandbox serves for a window of `days` nights: events, rates, options."""
    events = server.catalogue.events_between(*_window(server, days))
    rates = [rate for event in events for rate in server.catalogue.rates_for(event["_id"])]
    options = [option for rate in rates for option in rate["options"]]
    return events, rates, options


def _snapshot():
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MIRROR_MODELS}


def _refresh(server, sandbox_credential, *, days=14, **kwargs):
    return refresh_catalogue(
        credential=sandbox_credential, days=days, today=server.catalogue.today, **kwargs
    )


# --- Mirroring ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refresh_mirrors_everything_the_sandbox_serves_in_the_window(server, sandbox_credential):
    events, rates, options = _served(server, 14)
    assert events, "the seeded catalogue has events in the next two weeks"

    result = _refresh(server, sandbox_credential)

    assert (result.events, result.rates, result.options) == (len(events), len(rates), len(options))
    assert result.channels == len(server.catalogue.channels) == Channel.objects.count()
    assert result.promoters == len(server.catalogue.users) == Promoter.objects.count()
    assert result.delisted == 0
    assert set(Event.objects.values_list("remote_id", flat=True)) == {e["_id"] for e in events}
    assert set(Rate.objects.values_list("remote_id", flat=True)) == {r["_id"] for r in rates}
    assert set(PriceOption.objects.values_list("remote_id", flat=True)) == {
        o["_id"] for o in options
    }
    for model in MIRROR_MODELS:
        assert not model.objects.filter(is_listed=False).exists()
        assert set(model.objects.values_list("refreshed_at", flat=True)) == {result.refreshed_at}


@pytest.mark.django_db
def test_the_mirror_keeps_the_fields_issuing_needs_and_the_raw_json(server, sandbox_credential):
    _refresh(server, sandbox_credential)
    remote_event = server.catalogue.events[0]
    event = Event.objects.get(remote_id=remote_event["_id"])
    assert event.raw == remote_event
    assert (event.name, event.slug, event.min_age) == (
        remote_event["name"],
        remote_event["slug"],
        remote_event["age"],
    )
    assert event.starts_at == dt.datetime.fromtimestamp(remote_event["start"], dt.UTC)
    assert event.rates_refreshed_at is not None

    remote_rates = server.catalogue.rates_for(remote_event["_id"])
    rates = list(event.rates.order_by("position"))
    assert [r.remote_id for r in rates] == [r["_id"] for r in remote_rates]
    remote_option = remote_rates[0]["options"][0]
    option = PriceOption.objects.get(rate=rates[0], remote_id=remote_option["_id"])
    assert option.price == Decimal(str(remote_option["price"])).quantize(Decimal("0.01"))
    assert option.until_seconds == remote_option["until"]
    assert option.raw == remote_option

    remote_user = server.catalogue.users[1]  # the one whose id starts with "ñ"
    promoter = Promoter.objects.get(remote_id=remote_user["_id"])
    assert promoter.remote_id.startswith("ñ")
    assert (promoter.first_name, promoter.last_name, promoter.email) == (
        remote_user["profile"]["name"],
        remote_user["profile"]["last_name"],
        remote_user["email"],
    )


@pytest.mark.django_db
def test_event_nights_are_venue_dates_even_for_events_starting_after_midnight(
    server, sandbox_credential
):
    _refresh(server, sandbox_credential, days=28)
    after_midnight = 0
    for event in Event.objects.all():
        assert event.night == night_of(event.raw["date"])  # Madrid date of `date`
        if timezone.localtime(event.starts_at, MADRID).date() != event.night:
            after_midnight += 1
    assert after_midnight, "the seeded catalogue has events starting after midnight"


def test_the_night_comes_from_date_in_venue_time_else_from_the_start():
    summer_midnight_in_madrid = dt.datetime(2025, 7, 4, 22, 0, tzinfo=dt.UTC)
    assert event_night(date=summer_midnight_in_madrid, start=None) == dt.date(2025, 7, 5)
    winter_midnight_in_madrid = dt.datetime(2025, 1, 9, 23, 0, tzinfo=dt.UTC)
    assert event_night(date=winter_midnight_in_madrid, start=None) == dt.date(2025, 1, 10)

    friday_2330 = dt.datetime(2025, 7, 4, 23, 30, tzinfo=MADRID)
    saturday_0130 = dt.datetime(2025, 7, 5, 1, 30, tzinfo=MADRID)
    assert event_night(date=None, start=friday_2330) == dt.date(2025, 7, 4)
    assert event_night(date=None, start=saturday_0130) == dt.date(2025, 7, 4)
    assert event_night(date=None, start=None) is None


@pytest.mark.django_db
def test_a_second_refresh_changes_nothing_and_duplicates_nothing(server, sandbox_credential):
    first = _refresh(server, sandbox_credential)
    before = {
        model.__name__: set(model.objects.values_list("pk", flat=True)) for model in MIRROR_MODELS
    }

    second = _refresh(server, sandbox_credential)

    after = {
        model.__name__: set(model.objects.values_list("pk", flat=True)) for model in MIRROR_MODELS
    }
    assert after == before
    assert (second.events, second.rates, second.options, second.delisted) == (
        first.events,
        first.rates,
        first.options,
        0,
    )
    assert AuditEntry.objects.filter(action="catalogue.refreshed").count() == 2


@pytest.mark.django_db
def test_what_fourvenues_stops_listing_is_delisted_and_kept(server, sandbox_credential):
    _refresh(server, sandbox_credential)
    events = server.catalogue.events_between(*_window(server, 14))
    gone_event = events[0]
    gone_rate = server.catalogue.rates_for(events[1]["_id"])[0]
    trimmed_rate = next(
        r for r in server.catalogue.rates_for(events[2]["_id"]) if len(r["options"]) > 1
    )
    gone_option = trimmed_rate["options"][-1]
    gone_channel = server.catalogue.channels[2]
    gone_user = server.catalogue.users[3]

    def stop_listing(data):
        data["events"] = [e for e in data["events"] if e["_id"] != gone_event["_id"]]
        del data["rates"][gone_event["_id"]]
        data["rates"][events[1]["_id"]] = [
            r for r in data["rates"][events[1]["_id"]] if r["_id"] != gone_rate["_id"]
        ]
        for rate in data["rates"][events[2]["_id"]]:
            rate["options"] = [o for o in rate["options"] if o["_id"] != gone_option["_id"]]
        data["channels"] = [c for c in data["channels"] if c["_id"] != gone_channel["_id"]]
        data["users"] = [u for u in data["users"] if u["_id"] != gone_user["_id"]]

    serve(server, stop_listing)
    result = _refresh(server, sandbox_credential)

    delisted = {
        "event": Event.objects.get(remote_id=gone_event["_id"]),
        "rate": Rate.objects.get(remote_id=gone_rate["_id"]),
        "option": PriceOption.objects.get(remote_id=gone_option["_id"]),
        "channel": Channel.objects.get(remote_id=gone_channel["_id"]),
        "promoter": Promoter.objects.get(remote_id=gone_user["_id"]),
    }
    assert {name for name, row in delisted.items() if row.is_listed} == set()
    # The options of a delisted rate go with it; everything else is still listed.
    assert not PriceOption.objects.filter(rate=delisted["rate"], is_listed=True).exists()
    assert result.delisted == 5 + len(gone_rate["options"])
    assert Event.objects.filter(is_listed=True).count() == len(events) - 1
    assert Channel.objects.filter(is_listed=True).count() == len(server.catalogue.channels)
    assert gone_event["_id"] not in {
        e.remote_id for e in catalogue_selectors.upcoming_events(environment="alpha")
    }


@pytest.mark.django_db
def test_an_entry_that_comes_back_is_listed_again(server, sandbox_credential):
    _refresh(server, sandbox_credential)
    channel = server.catalogue.channels[0]
    original = server.catalogue

    serve(server, lambda data: data["channels"].pop(0))
    _refresh(server, sandbox_credential)
    assert not Channel.objects.get(remote_id=channel["_id"]).is_listed

    server.app.catalogue = original
    _refresh(server, sandbox_credential)
    assert Channel.objects.get(remote_id=channel["_id"]).is_listed
    assert Channel.objects.filter(remote_id=channel["_id"]).count() == 1


@pytest.mark.django_db
def test_events_outside_a_narrower_window_are_left_alone(server, sandbox_credential):
    _refresh(server, sandbox_credential, days=28)
    listed_before = Event.objects.filter(is_listed=True).count()

    result = _refresh(server, sandbox_credential, days=7)

    assert result.events == len(_served(server, 7)[0]) < listed_before
    assert result.delisted == 0
    assert Event.objects.filter(is_listed=True).count() == listed_before


@pytest.mark.django_db
def test_the_window_defaults_to_the_setting(server, sandbox_credential, settings):
    settings.FOURVENUES_CATALOGUE_DAYS = 10
    result = refresh_catalogue(credential=sandbox_credential, today=server.catalogue.today)
    assert (result.first_night, result.last_night) == _window(server, 10)
    assert result.events == len(_served(server, 10)[0])


@pytest.mark.django_db
def test_success_is_audited_with_the_counts_and_marks_the_credential_used(
    server, sandbox_credential
):
    result = _refresh(server, sandbox_credential)
    entry = AuditEntry.objects.get(action="catalogue.refreshed")
    assert entry.data["events"] == result.events
    assert entry.data["options"] == result.options
    assert entry.data["environment"] == "alpha"
    sandbox_credential.refresh_from_db()
    assert sandbox_credential.last_used_at == result.refreshed_at
    assert catalogue_selectors.last_catalogue_refresh(environment="alpha") == result.refreshed_at


@pytest.mark.django_db
def test_a_refresh_writes_the_mirror_in_a_bounded_number_of_queries(server, sandbox_credential):
    with CaptureQueriesContext(connection) as queries:
        result = _refresh(server, sandbox_credential, days=56)
    assert result.events > 20
    assert result.options > 100
    # Per HTTP call, as the calls happen: its ApiCall row, and its moment reserved from the key's
    # shared rate budget. Everything else is bulk.
    calls = ApiCall.objects.count()
    assert calls == 3 + result.events
    reservations = [q for q in queries.captured_queries if "tickets_ratebudget" in q["sql"]]
    assert len(reservations) <= calls + 2  # + the budget's row, looked up once
    assert len(queries) - calls - len(reservations) <= 20


# --- Failures ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_call_keeps_the_previous_mirror_exactly(server, sandbox_credential, settings):
    _refresh(server, sandbox_credential)
    before = _snapshot()
    settings.FOURVENUES_GET_RETRIES = 0  # the failure is persistent; retrying only takes longer
    server.inject("error_before_commit", status=500, times=0, match_path="/tickets-rates")

    with pytest.raises(CatalogueRefreshError) as excinfo:
        _refresh(server, sandbox_credential)

    assert _snapshot() == before
    message = str(excinfo.value)
    assert "could not be refreshed" in message
    assert "the previous one (refreshed " in message
    assert ") is kept" in message
    assert "HTTP 500" in message
    entry = AuditEntry.objects.get(action="catalogue.refresh_failed")
    assert entry.data["status"] == 500
    assert AuditEntry.objects.filter(action="catalogue.refreshed").count() == 1


@pytest.mark.django_db
def test_a_failure_after_most_calls_succeeded_still_writes_nothing(server, sandbox_credential):
    last_event = server.catalogue.events_between(*_window(server, 14))[-1]

    def break_the_last_rates(data):
        # A rate without an `_id` cannot be mirrored: the client refuses the whole answer.
        data["rates"][last_event["_id"]][0]["_id"] = ""

    serve(server, break_the_last_rates)

    with pytest.raises(CatalogueRefreshError, match="no previous catalogue yet"):
        _refresh(server, sandbox_credential)

    assert all(not model.objects.exists() for model in MIRROR_MODELS)
    assert ApiCall.objects.count() > 3  # the channels, users and events calls did succeed


@pytest.mark.django_db
def test_a_rejected_key_keeps_the_mirror_and_says_why(server, sandbox_credential):
    _refresh(server, sandbox_credential)
    before = _snapshot()
    sandbox_credential.api_key = "ik_test_revoked_key_value"
    sandbox_credential.save()

    with pytest.raises(CatalogueRefreshError) as excinfo:
        _refresh(server, sandbox_credential)

    assert _snapshot() == before
    assert "rejected the API credentials" in str(excinfo.value)
    assert "ik_test_revoked_key_value" not in str(excinfo.value)
    entry = AuditEntry.objects.get(action="catalogue.refresh_failed")
    assert entry.data["status"] == 401
    assert "ik_test_revoked_key_value" not in str(entry.data)


@pytest.mark.django_db
def test_a_credential_that_cannot_build_a_client_is_reported_not_crashed(
    server, sandbox_credential
):
    sandbox_credential.api_key = " ik_test_key_with_a_leading_space"
    sandbox_credential.save()
    with pytest.raises(CatalogueRefreshError, match="cannot be used"):
        _refresh(server, sandbox_credential)
    assert not Event.objects.exists()
    assert AuditEntry.objects.filter(action="catalogue.refresh_failed").exists()


@pytest.mark.django_db
def test_an_empty_window_is_refused_with_a_reason(server, sandbox_credential, settings):
    settings.FOURVENUES_CATALOGUE_DAYS = 0
    with pytest.raises(CatalogueRefreshError, match="FOURVENUES_CATALOGUE_DAYS"):
        refresh_catalogue(credential=sandbox_credential)


# --- One event's rates -------------------------------------------------------------------------


@pytest.mark.django_db
def test_refreshing_one_event_updates_only_its_rates(server, sandbox_credential):
    _refresh(server, sandbox_credential)
    events = server.catalogue.events_between(*_window(server, 14))
    target, other = events[0], events[1]
    gone = server.catalogue.rates_for(target["_id"])[0]
    before_other = list(Rate.objects.filter(event__remote_id=other["_id"]).values())

    def drop_rate(data):
        data["rates"][target["_id"]] = data["rates"][target["_id"]][1:]
        data["rates"][other["_id"]] = []

    serve(server, drop_rate)
    event = Event.objects.get(remote_id=target["_id"])
    stamped = event.rates_refreshed_at

    result = catalogue.refresh_event_rates(credential=sandbox_credential, event=event)

    assert result.rates == len(server.catalogue.rates_for(target["_id"]))
    assert result.delisted == 1 + len(gone["options"])
    assert not Rate.objects.get(remote_id=gone["_id"]).is_listed
    event.refresh_from_db()
    assert event.rates_refreshed_at == result.refreshed_at > stamped
    assert list(Rate.objects.filter(event__remote_id=other["_id"]).values()) == before_other
    assert not catalogue.rates_are_stale(event=event)
    assert catalogue.rates_are_stale(
        event=event, now=result.refreshed_at + catalogue.RATES_MAX_AGE + dt.timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_refreshing_one_event_that_fails_keeps_its_rates(server, sandbox_credential, settings):
    _refresh(server, sandbox_credential)
    event = Event.objects.filter(is_listed=True).first()
    before = _snapshot()
    settings.FOURVENUES_GET_RETRIES = 0
    server.inject("error_before_commit", status=503, times=0, match_path="/tickets-rates")

    with pytest.raises(CatalogueRefreshError, match=f"rates of {event.name} could not be"):
        catalogue.refresh_event_rates(credential=sandbox_credential, event=event)

    assert _snapshot() == before
    assert AuditEntry.objects.filter(action="catalogue.rates_refresh_failed").exists()


@pytest.mark.django_db
def test_an_event_of_the_other_environment_is_refused(server, sandbox_credential):
    _refresh(server, sandbox_credential)
    event = Event.objects.first()
    production = register(server, name="Production", environment="production")
    with pytest.raises(CatalogueRefreshError, match="belongs to the Alpha \\(test\\) catalogue"):
        catalogue.refresh_event_rates(credential=production, event=event)
