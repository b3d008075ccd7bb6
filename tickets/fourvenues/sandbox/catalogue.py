"""The sandbox's seeded catalogue: channels, promoter users, events and their ticket rates.

Everything here is derived from a ``seed`` and an anchor date (``today``), so two sandboxes built
with the same pair serve byte-identical catalogues (see :meth:`Catalogue.to_json`).

Each event (ids, rates, options, everything but its publication flags) is derived from the seed
and the event's *night* rather than from its position in the listing. A sandbox restarted on a
later day therefore serves the same events for the nights both runs cover, so tickets kept in a
state file still point at a known event. Only ``active``/``visible`` depend on the anchor: the
furthest nights are not published yet.

Shapes follow ``/work/shared/fourvenues-api.md``: §3.1 (channels), §3.3 (events: epoch seconds for
``date``/``start``/``end``), §3.4 (rates with price options), §3.12 (users as promoters). Ids are
opaque: most are 32 alphanumeric characters, one promoter id starts with ``ñ`` and some price
option ids are 13-digit numeric strings, as seen in the real API.
"""

from __future__ import annotations

import json
import random
import string
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

VENUE_TZ = ZoneInfo("Europe/Madrid")
"""The venue's timezone: event nights and ``GET /events/`` date ranges are local to it."""

VENUE_NAME = "Sandbox Club"
VENUE_SLUG = "sandbox-club"
VENUE_TOWN = "Madrid"

WEEKS_AHEAD = 8
"""How many weeks of Thursday, Friday and Saturday nights the catalogue covers."""

HIDDEN_AFTER_DAYS = (WEEKS_AHEAD - 2) * 7
"""Nights this many days or more ahead are ``visible: false``."""
DRAFT_AFTER_DAYS = (WEEKS_AHEAD - 1) * 7
"""Nights this many days or more ahead are drafts (``active: false``)."""

EVENT_WEEKDAYS = (3, 4, 5)  # Thursday, Friday, Saturday (date.weekday())

_ID_ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits

# Documented music_genres values (fourvenues-api.md §3.3).
_GENRES = (
    "hits",
    "urban",
    "pop",
    "rock",
    "remember",
    "techno",
    "house",
    "edm",
    "reggaeton",
    "latin",
    "tech-house",
    "melodic",
)
_EVENT_NAMES = {
    3: ("Jueves Universitario", "Thursday Sessions", "Afterwork Jueves"),
    4: ("Viernes Urbano", "Friday Deep", "Latin Fridays"),
    5: ("Saturday Night", "Sábado Techno", "Noche Remember"),
}
_ARTISTS = (
    "DJ Nerea",
    "Kike Vidal",
    "Sara Moon",
    "Los Gemelos",
    "Marco Ibiza",
    "Ana Bass",
    "Tomi Groove",
    "La Resistencia",
    "Pablo Tempo",
)
_OUTFITS = ("casual", "smart casual", "elegante")
# (hour, minute, day offset): some nights start after midnight, as real events do.
_STARTS = ((23, 0, 0), (23, 30, 0), (23, 30, 0), (0, 0, 1))
_ENDS = ((5, 30), (6, 0), (6, 0), (7, 0))

_PAID_RATES = (
    ("Early Bird", 8),
    ("Entrada con copa", 15),
    ("VIP", 30),
    ("Backstage", 45),
)
_FREE_RATES = ("Invitación", "Guest list")
_CHANNELS = (
    (VENUE_NAME, VENUE_SLUG),
    ("Comps Backoffice", "comps-backoffice"),
    ("Taquilla", "taquilla"),
)
_PROMOTERS = (
    ("Lucía", "Fernández"),
    ("Íñigo", "Zubizarreta"),
    ("Carmen", "Ruiz"),
    ("Javier", "Ortega"),
    ("Marta", "Iglesias"),
    ("Álvaro", "Núñez"),
)
_NON_ASCII_PROMOTER = 1
"""Index of the promoter whose id starts with ``ñ``, keeping clients honest that ids are opaque."""


def venue_today() -> date:
    """Today's date in the venue's timezone, the default catalogue anchor."""
    return datetime.now(VENUE_TZ).date()


def slugify(text: str) -> str:
    """Lowercase ASCII slug (accents folded), like the slugs Fourvenues shows."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = "".join(c if c.isalnum() else " " for c in folded.lower()).split()
    return "-".join(words)


def night_of(epoch_seconds: int) -> date:
    """The local (venue) calendar date of an epoch-seconds instant."""
    return datetime.fromtimestamp(epoch_seconds, VENUE_TZ).date()


def _local_epoch(day: date, hour: int, minute: int) -> int:
    return int(datetime.combine(day, time(hour, minute), tzinfo=VENUE_TZ).timestamp())


def _random_id(rng: random.Random, length: int = 32) -> str:
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(length))


def _option_id(rng: random.Random) -> str:
    # Real option ids are either millisecond-timestamp-like numbers or 32-char strings.
    if rng.random() < 0.4:
        return str(rng.randrange(1_600_000_000_000, 1_800_000_000_000))
    return _random_id(rng)


@dataclass(frozen=True)
class Catalogue:
    """A read-only catalogue as the API serves it: plain JSON-ready dicts.

    ``rates`` maps an event ``_id`` to its rates (each with ``options``). Use the lookup helpers
    rather than scanning the lists; callers must not mutate the dicts.
    """

    seed: int
    today: date
    channels: list[dict[str, Any]]
    users: list[dict[str, Any]]
    events: list[dict[str, Any]]
    rates: dict[str, list[dict[str, Any]]]
    _events_by_id: dict[str, dict[str, Any]] = field(init=False, repr=False, compare=False)
    _rate_index: dict[str, tuple[dict[str, Any], dict[str, Any]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        events_by_id = {event["_id"]: event for event in self.events}
        rate_index = {
            rate["_id"]: (events_by_id[event_id], rate)
            for event_id, rates in self.rates.items()
            for rate in rates
        }
        object.__setattr__(self, "_events_by_id", events_by_id)
        object.__setattr__(self, "_rate_index", rate_index)

    def event(self, event_id: str) -> dict[str, Any] | None:
        """The event with this ``_id``, or ``None``."""
        return self._events_by_id.get(event_id)

    def rates_for(self, event_id: str) -> list[dict[str, Any]]:
        """The rates of an event (empty for an unknown event)."""
        return self.rates.get(event_id, [])

    def find_rate(self, rate_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(event, rate)`` for a ticket rate ``_id``, or ``None``."""
        return self._rate_index.get(rate_id)

    @staticmethod
    def option(rate: dict[str, Any], price_id: str) -> dict[str, Any] | None:
        """The price option of ``rate`` whose ``_id`` is ``price_id``, or ``None``."""
        return next((opt for opt in rate["options"] if opt["_id"] == price_id), None)

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        """The channel with this ``_id``, or ``None``."""
        return next((c for c in self.channels if c["_id"] == channel_id), None)

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The promoter user with this ``_id``, or ``None``."""
        return next((u for u in self.users if u["_id"] == user_id), None)

    def events_between(self, first: date, last: date) -> list[dict[str, Any]]:
        """Events whose night (local ``date``) lies in ``[first, last]``, ordered by start."""
        return [e for e in self.events if first <= night_of(e["date"]) <= last]

    def free_rate(self, event_id: str) -> dict[str, Any]:
        """The event's free guest-list style rate (every seeded event has one)."""
        return next(r for r in self.rates_for(event_id) if r["options"][0]["price"] == 0)

    def with_publication(
        self, event_id: str, *, active: bool | None = None, visible: bool | None = None
    ) -> Catalogue:
        """A copy in which one event is a draft (``active: false``) or hidden
        (``visible: false``), or published again, as a venue does in the dashboard; ``None``
        leaves a flag as it is. Raises ``KeyError`` for an unknown event."""
        if event_id not in self._events_by_id:
            raise KeyError(event_id)
        changes = {
            name: value
            for name, value in (("active", active), ("visible", visible))
            if value is not None
        }
        events = [
            {**event, **changes} if event["_id"] == event_id else event for event in self.events
        ]
        return replace(self, events=events)

    def as_dict(self) -> dict[str, Any]:
        """The whole catalogue as one JSON-ready dict."""
        return {
            "seed": self.seed,
            "today": self.today.isoformat(),
            "channels": self.channels,
            "users": self.users,
            "events": self.events,
            "rates": self.rates,
        }

    def to_json(self) -> bytes:
        """Canonical UTF-8 JSON: identical bytes for the same seed and anchor date."""
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":")).encode()


def build_catalogue(seed: int, today: date | None = None) -> Catalogue:
    """Build the deterministic catalogue for ``seed``, anchored on ``today`` (venue-local).

    Events cover every Thursday, Friday and Saturday night from ``today`` (inclusive) for
    :data:`WEEKS_AHEAD` weeks.
    """
    anchor = today if today is not None else venue_today()
    channels = _build_channels(seed)
    users = _build_users(seed)
    events: list[dict[str, Any]] = []
    rates: dict[str, list[dict[str, Any]]] = {}
    for offset in range(WEEKS_AHEAD * 7):
        night = anchor + timedelta(days=offset)
        if night.weekday() not in EVENT_WEEKDAYS:
            continue
        rng = random.Random(f"fourvenues-sandbox:{seed}:night:{night.isoformat()}")
        event = _build_event(rng, night, today=anchor)
        events.append(event)
        rates[event["_id"]] = _build_rates(rng, age=event["age"])
    return Catalogue(
        seed=seed, today=anchor, channels=channels, users=users, events=events, rates=rates
    )


def _build_channels(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"fourvenues-sandbox:{seed}:channels")
    return [{"_id": _random_id(rng), "name": name, "slug": slug} for name, slug in _CHANNELS]


def _build_users(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"fourvenues-sandbox:{seed}:users")
    users = []
    for index, (name, last_name) in enumerate(_PROMOTERS):
        user_id = _random_id(rng)
        if index == _NON_ASCII_PROMOTER:
            user_id = "ñ" + user_id[1:]
        email = f"{slugify(name)}.{slugify(last_name)}@{VENUE_SLUG}.example"
        users.append(
            {"_id": user_id, "email": email, "profile": {"name": name, "last_name": last_name}}
        )
    return users


def _build_event(rng: random.Random, night: date, *, today: date) -> dict[str, Any]:
    event_id = _random_id(rng)
    name = rng.choice(_EVENT_NAMES[night.weekday()])
    slug = f"{slugify(name)}-{night.strftime('%d-%m-%Y')}"
    start_hour, start_minute, start_day = rng.choice(_STARTS)
    end_hour, end_minute = rng.choice(_ENDS)
    genre = rng.choice(_GENRES)
    artists = rng.sample(_ARTISTS, rng.randint(1, 3))
    # Far-off nights are not published yet, as at a real venue: the last week of the window
    # is drafts (active false) and the week before is active but hidden. Nearer events are live,
    # so demos and tests can pick events[0] safely.
    days_ahead = (night - today).days
    active = days_ahead < DRAFT_AFTER_DAYS
    visible = days_ahead < HIDDEN_AFTER_DAYS
    return {
        "_id": event_id,
        "name": name,
        "slug": slug,
        "date": _local_epoch(night, 0, 0),
        "start": _local_epoch(night + timedelta(days=start_day), start_hour, start_minute),
        "end": _local_epoch(night + timedelta(days=1), end_hour, end_minute),
        "url": f"https://{VENUE_SLUG}.example/events/{slug}",
        "flyer": f"https://{VENUE_SLUG}.example/flyers/{event_id}.jpg",
        "description": (
            f"{name} en {VENUE_NAME} ({VENUE_TOWN}): {genre} toda la noche con "
            f"{', '.join(artists)}."
        ),
        "age": rng.choice((18, 18, 21)),
        "music_genres": genre,
        "outfit": rng.choice(_OUTFITS),
        "location_town": VENUE_TOWN,
        "artists": artists,
        "active": active,
        "visible": visible,
    }


def _build_rates(rng: random.Random, *, age: int) -> list[dict[str, Any]]:
    paid = [("General Access", 12), *rng.sample(_PAID_RATES, rng.randint(0, 3))]
    rates = [_paid_rate(rng, name, base, age=age) for name, base in paid]
    rates.insert(rng.randint(1, len(rates)), _free_rate(rng, rng.choice(_FREE_RATES), age=age))
    return rates


def _paid_rate(rng: random.Random, name: str, base_price: int, *, age: int) -> dict[str, Any]:
    options = []
    for release in range(rng.randint(1, 3)):
        drinks = rng.choice((0, 1, 2))
        options.append(
            {
                "_id": _option_id(rng),
                "price": base_price + 3 * release + rng.choice((0, 0, 0.5)),
                "max_quantity": rng.choice((6, 10, 1000)),
                "age": age,
                "content": _drinks_label(drinks),
                "additional_info": rng.choice(("", "Release limitado", "Incluye guardarropa")),
                "until": rng.choice((0, 0, 5400, 23400)),
            }
        )
    return {"_id": _random_id(rng), "name": name, "slug": slugify(name), "options": options}


def _drinks_label(drinks: int) -> str:
    if drinks == 0:
        return "Entrada sin consumición"
    return "1 copa" if drinks == 1 else f"{drinks} copas"


def _free_rate(rng: random.Random, name: str, *, age: int) -> dict[str, Any]:
    deadlines = ("Hasta la 1:00", "Hasta la 1:30", "Hasta las 2:00")
    options = [
        {
            "_id": _option_id(rng),
            "price": 0,
            "max_quantity": rng.choice((1, 4, 10)),
            "age": age,
            "content": "Entrada gratuita",
            "additional_info": deadlines[index],
            "until": 3600 * (index + 1),
        }
        for index in range(rng.randint(1, 3))
    ]
    return {"_id": _random_id(rng), "name": name, "slug": slugify(name), "options": options}
