"""The catalogue mirror: events, their rates and price options, channels and promoter users,
copied from Fourvenues so that issuing never waits on (or breaks with) the remote API.

A refresh is all or nothing. Every list is fetched first; only when every call succeeded is the
mirror written, in one transaction. A refresh that fails therefore leaves the previous mirror
exactly as it was, which is what staff need in the middle of a night: yesterday's catalogue is
far more useful than half of today's.

Rows are never deleted, because issuances point at them: whatever a refresh no longer sees is
marked `is_listed=False` and disappears from the issuing form only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tickets import tasks
from tickets.fourvenues import schemas
from tickets.fourvenues.errors import FourvenuesError
from tickets.models import Channel, Credential, Event, PriceOption, Promoter, Rate
from tickets.selectors import catalogue as catalogue_selectors
from tickets.selectors import credentials as credential_selectors
from tickets.services import audit
from tickets.services.credentials import build_client, mark_used

logger = logging.getLogger(__name__)

# Events start late and end at dawn; an instant before this local hour belongs to the previous
# night (a 01:30 start is Friday night's party, not Saturday's).
NIGHT_ROLLOVER_HOUR = 6
# How old an event's rates may be before the issuing form should refresh them first.
RATES_MAX_AGE = dt.timedelta(minutes=15)

# Bounds of the columns the mirror writes to. Remote values outside them (a negative age, an
# absurd `until`) are stored as unknown rather than failing the whole refresh on PostgreSQL.
_SMALL_POSITIVE_MAX = 32_767
_POSITIVE_MAX = 2_147_483_647


class CatalogueRefreshError(Exception):
    """A refresh failed and nothing was written; the message is fit for staff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class CatalogueRefreshResult:
    """What one full refresh mirrored (counts of listed entries) and how many it delisted."""

    environment: str
    first_night: dt.date
    last_night: dt.date
    events: int
    rates: int
    options: int
    channels: int
    promoters: int
    delisted: int
    refreshed_at: dt.datetime
    # Events without a night (neither `date` nor `start`) cannot be placed, so are left out.
    skipped_events: int = 0

    def summary(self) -> str:
        # One wording for the command, the button's outcome and the home page.
        return catalogue_selectors.refresh_summary(self.as_audit_data())

    def as_audit_data(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "first_night": self.first_night.isoformat(),
            "last_night": self.last_night.isoformat(),
            "events": self.events,
            "rates": self.rates,
            "options": self.options,
            "channels": self.channels,
            "promoters": self.promoters,
            "delisted": self.delisted,
            "skipped_events": self.skipped_events,
        }


@dataclass(frozen=True, slots=True)
class EventRatesRefreshResult:
    rates: int
    options: int
    delisted: int
    refreshed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class _Fetched:
    """Everything one refresh read from Fourvenues, before anything is written."""

    channels: list[schemas.Channel]
    promoters: list[schemas.Promoter]
    events: list[tuple[schemas.Event, dt.date]]  # with the night each belongs to
    rates: dict[str, list[schemas.Rate]]  # by event remote id
    skipped_events: int


Actor = AbstractBaseUser | AnonymousUser | None
_T = TypeVar("_T", schemas.Channel, schemas.Promoter, schemas.Event, schemas.Rate)


# --------------------------------------------------------------------------------------------
# Public
# --------------------------------------------------------------------------------------------


def catalogue_window(
    *, days: int | None = None, today: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The nights a refresh covers: `days` nights from `today` (venue time), both inclusive."""
    days = settings.FOURVENUES_CATALOGUE_DAYS if days is None else days
    if days < 1:
        # Most likely FOURVENUES_CATALOGUE_DAYS set to 0: say so rather than fail with a 500.
        raise CatalogueRefreshError(
            _(
                "The catalogue window must be at least one night, not %(days)s "
                "(see FOURVENUES_CATALOGUE_DAYS)."
            )
            % {"days": days}
        )
    first = today if today is not None else timezone.localdate()
    return first, first + dt.timedelta(days=days - 1)


def event_night(*, date: dt.datetime | None, start: dt.datetime | None) -> dt.date | None:
    """The night an event belongs to, in the venue's time zone (settings.TIME_ZONE).

    `date` is documented as the start of the event's day, so its local date is the night. When
    it is missing the start decides, and a start in the small hours counts as the previous
    night.
    """
    venue = timezone.get_default_timezone()
    if date is not None:
        return date.astimezone(venue).date()
    if start is not None:
        return (start.astimezone(venue) - dt.timedelta(hours=NIGHT_ROLLOVER_HOUR)).date()
    return None


def rates_are_stale(*, event: Event, now: dt.datetime | None = None) -> bool:
    """Whether `event`'s mirrored rates are old enough to refresh before issuing from them."""
    if event.rates_refreshed_at is None:
        return True
    return (now or timezone.now()) - event.rates_refreshed_at > RATES_MAX_AGE


def refresh_catalogue(
    *,
    credential: Credential,
    actor: Actor = None,
    days: int | None = None,
    today: dt.date | None = None,
) -> CatalogueRefreshResult:
    """Mirror channels, promoters and the events (with rates and options) of the window.

    Raises CatalogueRefreshError, having written nothing to the mirror, if any call fails.
    """
    first, last = catalogue_window(days=days, today=today)
    try:
        fetched = _fetch_everything(credential=credential, first=first, last=last)
    except FourvenuesError as exc:
        raise _refresh_failed(
            credential=credential, actor=actor, exc=exc, first=first, last=last
        ) from exc

    now = timezone.now()
    environment = credential.environment
    with transaction.atomic():
        delisted = _write_channels(environment, fetched.channels, now)
        delisted += _write_promoters(environment, fetched.promoters, now)
        event_pks, events_delisted = _write_events(
            environment, fetched.events, now, first=first, last=last
        )
        rates, options, rates_delisted = _write_rates(
            environment,
            {event_pks[remote_id]: rates for remote_id, rates in fetched.rates.items()},
            now,
        )
        delisted += events_delisted + rates_delisted
        mark_used(credential, at=now)
        result = CatalogueRefreshResult(
            environment=environment,
            first_night=first,
            last_night=last,
            events=len(fetched.events),
            rates=rates,
            options=options,
            channels=len(fetched.channels),
            promoters=len(fetched.promoters),
            delisted=delisted,
            refreshed_at=now,
            skipped_events=fetched.skipped_events,
        )
        audit.record(
            action="catalogue.refreshed",
            actor=actor,
            target=credential,
            data=result.as_audit_data(),
        )
    return result


def refresh_issuing_catalogue() -> CatalogueRefreshResult | None:
    """The scheduler's refresh: the catalogue of the credential issuing uses, if there is one.
    Raises CatalogueRefreshError as `refresh_catalogue` does (the task then fails, and the
    scheduler tries again)."""
    credential = credential_selectors.active_credential()
    if credential is None:
        return None
    return refresh_catalogue(credential=credential)


@transaction.atomic
def request_catalogue_refresh(*, credential: Credential, actor: Actor) -> bool:
    """The "Refresh catalogue" button: queue a refresh for the worker (it takes seconds), unless
    one is queued or running already. Returns whether one was queued."""
    # Two clicks at once: the second waits on this lock, then sees the first one's task.
    Credential.objects.select_for_update().filter(pk=credential.pk).first()
    if catalogue_selectors.refresh_in_progress():
        return False
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    tasks.refresh_catalogue_requested.enqueue(credential.pk, actor_id)
    return True


def run_requested_refresh(*, credential_id: int, actor_id: int | None) -> None:
    """The worker's side of the button. A failure is audited by `refresh_catalogue` and shown on
    the home page from there, so it ends the task quietly (nothing to retry on its own)."""
    credential = Credential.objects.filter(pk=credential_id).first()
    if credential is None:
        return
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        refresh_catalogue(credential=credential, actor=actor)
    except CatalogueRefreshError as exc:
        logger.warning("Requested catalogue refresh failed: %s", exc)


def refresh_event_rates(
    *, credential: Credential, event: Event, actor: Actor = None
) -> EventRatesRefreshResult:
    """Refresh one event's rates and price options (say, before issuing from stale ones).

    Raises CatalogueRefreshError, having written nothing, if the call fails.
    """
    if event.environment != credential.environment:
        raise CatalogueRefreshError(
            _("%(event)s belongs to the %(environment)s catalogue, not to %(name)s (%(its)s).")
            % {
                "event": event.name,
                "environment": event.get_environment_display(),
                "name": credential.name,
                "its": credential.get_environment_display(),
            }
        )
    try:
        with build_client(credential) as client:
            rates = client.list_ticket_rates(event_id=event.remote_id)
    except FourvenuesError as exc:
        when = event.rates_refreshed_at
        if when is not None:
            message = _(
                "The rates of %(event)s could not be refreshed, so the rates shown are those of "
                "%(when)s. %(error)s"
            ) % {"event": event.name, "when": _local(when), "error": exc}
        else:
            message = _(
                "The rates of %(event)s could not be refreshed, and no rates were mirrored "
                "before. %(error)s"
            ) % {"event": event.name, "error": exc}
        audit.record(
            action="catalogue.rates_refresh_failed",
            actor=actor,
            target=event,
            data={"environment": event.environment, "event": event.remote_id, "error": str(exc)},
        )
        raise CatalogueRefreshError(message) from exc

    now = timezone.now()
    with transaction.atomic():
        rate_count, option_count, delisted = _write_rates(event.environment, {event.pk: rates}, now)
        Event.objects.filter(pk=event.pk).update(rates_refreshed_at=now)
        mark_used(credential, at=now)
        audit.record(
            action="catalogue.rates_refreshed",
            actor=actor,
            target=event,
            data={
                "environment": event.environment,
                "event": event.remote_id,
                "rates": rate_count,
                "options": option_count,
                "delisted": delisted,
            },
        )
    event.rates_refreshed_at = now
    return EventRatesRefreshResult(
        rates=rate_count, options=option_count, delisted=delisted, refreshed_at=now
    )


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


def _fetch_everything(*, credential: Credential, first: dt.date, last: dt.date) -> _Fetched:
    with build_client(credential) as client:
        channels = _unique(client.list_channels())
        promoters = _unique(client.list_promoters())
        events: list[tuple[schemas.Event, dt.date]] = []
        skipped = 0
        for event in _unique(client.list_events(start=first, end=last)):
            night = event_night(date=event.date, start=event.start)
            if night is None:
                logger.warning("Fourvenues event %s has no date nor start; left out", event.id)
                skipped += 1
                continue
            events.append((event, night))
        rates = {event.id: client.list_ticket_rates(event_id=event.id) for event, _ in events}
    return _Fetched(
        channels=channels, promoters=promoters, events=events, rates=rates, skipped_events=skipped
    )


def _unique(items: Iterable[_T]) -> list[_T]:
    # Paging over a list that changes underneath can repeat an item; one row per id is
    # required by the upserts below (PostgreSQL refuses to update a row twice in one statement).
    by_id: dict[str, _T] = {}
    for item in items:
        by_id[item.id] = item
    return list(by_id.values())


def _refresh_failed(
    *,
    credential: Credential,
    actor: Actor,
    exc: Exception,
    first: dt.date,
    last: dt.date,
) -> CatalogueRefreshError:
    """Audit the failure; returns the error to raise, which says what is kept and why."""
    previous = catalogue_selectors.last_catalogue_refresh(environment=credential.environment)
    if previous is not None:
        message = _(
            "The catalogue could not be refreshed from Fourvenues, so the previous one "
            "(refreshed %(when)s) is kept. %(error)s"
        ) % {"when": _local(previous), "error": exc}
    else:
        message = _(
            "The catalogue could not be refreshed from Fourvenues, and there is no previous "
            "catalogue yet. %(error)s"
        ) % {"error": exc}
    data: dict[str, Any] = {
        "environment": credential.environment,
        "first_night": first.isoformat(),
        "last_night": last.isoformat(),
        "error": str(exc),
    }
    if isinstance(exc, FourvenuesError):
        data.update(status=exc.status, method=exc.method, path=exc.path)
    audit.record(action="catalogue.refresh_failed", actor=actor, target=credential, data=data)
    return CatalogueRefreshError(message)


def _local(moment: dt.datetime) -> str:
    return date_format(timezone.localtime(moment), "j M Y H:i")


# --------------------------------------------------------------------------------------------
# Writing (inside the refresh's transaction)
# --------------------------------------------------------------------------------------------


def _text(value: str | None, field: str, model: type[models.Model]) -> str:
    max_length = model._meta.get_field(field).max_length
    text = value or ""
    return text[:max_length] if max_length else text


def _bounded(value: int | None, maximum: int, minimum: int = 0) -> int | None:
    return value if value is not None and minimum <= value <= maximum else None


def _raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    return dict(raw)


def _upsert(
    model: type[models.Model],
    rows: list[models.Model],
    *,
    unique_fields: list[str],
    update_fields: list[str],
) -> None:
    if rows:
        model.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=update_fields,
        )


def _delist(queryset: models.QuerySet[Any], now: dt.datetime) -> int:
    # Everything this refresh saw was stamped with `now`; anything listed in the same scope with
    # an older stamp was not returned any more.
    return queryset.filter(is_listed=True).exclude(refreshed_at=now).update(is_listed=False)


_LISTED = ["raw", "is_listed", "refreshed_at"]


def _write_channels(environment: str, channels: list[schemas.Channel], now: dt.datetime) -> int:
    rows = [
        Channel(
            environment=environment,
            remote_id=channel.id,
            name=_text(channel.name or channel.slug or channel.id, "name", Channel),
            slug=_text(channel.slug, "slug", Channel),
            raw=_raw(channel.raw),
            is_listed=True,
            refreshed_at=now,
        )
        for channel in channels
    ]
    _upsert(
        Channel,
        rows,
        unique_fields=["environment", "remote_id"],
        update_fields=["name", "slug", *_LISTED],
    )
    return _delist(Channel.objects.filter(environment=environment), now)


def _write_promoters(environment: str, promoters: list[schemas.Promoter], now: dt.datetime) -> int:
    rows = [
        Promoter(
            environment=environment,
            remote_id=promoter.id,
            email=_text(promoter.email, "email", Promoter),
            first_name=_text(promoter.first_name, "first_name", Promoter),
            last_name=_text(promoter.last_name, "last_name", Promoter),
            raw=_raw(promoter.raw),
            is_listed=True,
            refreshed_at=now,
        )
        for promoter in promoters
    ]
    _upsert(
        Promoter,
        rows,
        unique_fields=["environment", "remote_id"],
        update_fields=["email", "first_name", "last_name", *_LISTED],
    )
    return _delist(Promoter.objects.filter(environment=environment), now)


def _write_events(
    environment: str,
    events: list[tuple[schemas.Event, dt.date]],
    now: dt.datetime,
    *,
    first: dt.date,
    last: dt.date,
) -> tuple[dict[str, int], int]:
    """Upsert the events; returns their primary keys by remote id, and how many were delisted."""
    rows = [
        Event(
            environment=environment,
            remote_id=event.id,
            name=_text(event.name or event.slug or event.id, "name", Event),
            slug=_text(event.slug, "slug", Event),
            night=night,
            starts_at=event.start,
            ends_at=event.end,
            url=_text(event.url, "url", Event),
            min_age=_bounded(event.age, _SMALL_POSITIVE_MAX),
            active=event.active,
            visible=event.visible,
            raw=_raw(event.raw),
            is_listed=True,
            refreshed_at=now,
            # Every event's rates are fetched in the same refresh.
            rates_refreshed_at=now,
        )
        for event, night in events
    ]
    _upsert(
        Event,
        rows,
        unique_fields=["environment", "remote_id"],
        update_fields=[
            "name",
            "slug",
            "night",
            "starts_at",
            "ends_at",
            "url",
            "min_age",
            "active",
            "visible",
            "rates_refreshed_at",
            *_LISTED,
        ],
    )
    pks = dict(
        Event.objects.filter(
            environment=environment, remote_id__in=[event.id for event, _ in events]
        ).values_list("remote_id", "pk")
    )
    # Only nights inside the window were asked for: an event outside it is not gone, just not
    # looked at this time.
    delisted = _delist(
        Event.objects.filter(environment=environment, night__range=(first, last)), now
    )
    return pks, delisted


def _write_rates(
    environment: str, rates_by_event: dict[int, list[schemas.Rate]], now: dt.datetime
) -> tuple[int, int, int]:
    """Upsert the rates and options of the given events (by local pk).

    Returns (rates, options, delisted), where delisted counts rates and options together.
    """
    rate_rows = [
        Rate(
            environment=environment,
            event_id=event_pk,
            remote_id=rate.id,
            name=_text(rate.name or rate.slug or rate.id, "name", Rate),
            slug=_text(rate.slug, "slug", Rate),
            position=min(position, _SMALL_POSITIVE_MAX),
            raw=_raw(rate.raw),
            is_listed=True,
            refreshed_at=now,
        )
        for event_pk, rates in rates_by_event.items()
        for position, rate in enumerate(_unique(rates))
    ]
    _upsert(
        Rate,
        rate_rows,
        unique_fields=["environment", "event", "remote_id"],
        update_fields=["name", "slug", "position", *_LISTED],
    )
    event_pks = list(rates_by_event)
    rate_pks = {
        (event_pk, remote_id): pk
        for event_pk, remote_id, pk in Rate.objects.filter(
            environment=environment, event_id__in=event_pks
        ).values_list("event_id", "remote_id", "pk")
    }
    option_rows = []
    for event_pk, rates in rates_by_event.items():
        for rate in _unique(rates):
            rate_pk = rate_pks[(event_pk, rate.id)]
            seen: set[str] = set()
            for position, option in enumerate(rate.options):
                if option.id in seen:
                    continue
                seen.add(option.id)
                option_rows.append(
                    PriceOption(
                        environment=environment,
                        rate_id=rate_pk,
                        remote_id=option.id,
                        price=option.price,
                        max_quantity=_bounded(option.max_quantity, _POSITIVE_MAX),
                        min_age=_bounded(option.age, _SMALL_POSITIVE_MAX),
                        content=_text(option.content, "content", PriceOption),
                        additional_info=option.additional_info or "",
                        until_seconds=_bounded(
                            option.until_seconds, _POSITIVE_MAX, minimum=-_POSITIVE_MAX
                        ),
                        position=min(position, _SMALL_POSITIVE_MAX),
                        raw=_raw(option.raw),
                        is_listed=True,
                        refreshed_at=now,
                    )
                )
    _upsert(
        PriceOption,
        option_rows,
        unique_fields=["environment", "rate", "remote_id"],
        update_fields=[
            "price",
            "max_quantity",
            "min_age",
            "content",
            "additional_info",
            "until_seconds",
            "position",
            *_LISTED,
        ],
    )
    delisted = _delist(Rate.objects.filter(environment=environment, event_id__in=event_pks), now)
    delisted += _delist(
        PriceOption.objects.filter(environment=environment, rate__event_id__in=event_pks), now
    )
    return len(rate_rows), len(option_rows), delisted
