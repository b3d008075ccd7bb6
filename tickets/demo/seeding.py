"""Fill the database with many realistic issued tickets, for benchmarks and demos at scale.

Every ticket is linked as the real ones are: IssuedTicket -> IssuanceLine -> Issuance (about
ten holders per issuance) -> event, rate, price option, issuer, reason, channel or promoter.
Names carry accents, a few surnames are very common (a "common surname" search hits many rows)
and a few are rare. The same `seed` on the same database gives the same tickets.

The three big tables are written with explicit primary keys: through COPY on PostgreSQL (a
million tickets in a few minutes), through executemany elsewhere. Sequences are reset after.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from tickets import roles
from tickets.models import (
    Channel,
    Credential,
    Environment,
    Event,
    Issuance,
    IssuanceLine,
    IssuanceStatus,
    IssuedTicket,
    LineState,
    PriceOption,
    Promoter,
    Rate,
    Reason,
)
from tickets.text import document_digest, fold, search_text

FIRST_NAMES = (
    "José", "Núria", "Iñaki", "Begoña", "María", "Jordi", "Àlex", "Maite", "Íñigo", "Lucía",
    "Martí", "Mònica", "Andrés", "Raúl", "Sofía", "Ángel", "Carmen", "Joan", "Pau", "Laia",
    "Júlia", "Óscar", "Inés", "Marc", "Ramón", "Elena", "Álvaro", "Noémie", "François", "Zoë",
    "Chloé", "Jürgen", "Søren", "Björn", "Anaïs", "Hélène", "Giuseppe", "Nicolás", "Ainhoa",
    "Irene", "Hugo", "Martina", "Pol", "Aitana", "Sergi", "Berta", "Gonzalo", "Rocío", "Iván",
    "Adrià",
)  # fmt: skip
# The first few dominate (weighted below): "common surname" searches hit many rows.
COMMON_SURNAMES = ("García", "Martínez", "López", "Gómez", "Fernández", "Rodríguez")
SURNAMES = (
    "Muñoz", "Peña", "Sánchez", "Pérez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz",
    "Moreno", "Álvarez", "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez",
    "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano", "Blanco", "Molina", "Castro", "Ortega",
    "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido", "Cortés", "Castillo",
    "Santos", "Lozano", "Guerrero", "Cano", "Prieto", "Méndez", "Cruz", "Calvo", "Gallego",
    "Vidal", "León", "Márquez", "Herrera", "Puig", "Ferrer", "Casals", "Font", "Vilà", "Soler",
    "Pujol", "Roig", "Bosch", "Riera", "Arrieta", "Etxeberria", "Goikoetxea", "Agirre",
    "Müller", "Dubois", "Rossi", "Smith", "Nowak", "Andersen", "O'Brien", "Lefèvre",
)  # fmt: skip
# A handful of rows each at most: what a "rare name" search looks for.
RARE_SURNAMES = ("Zubizarreta", "Quiñonero", "Xirinachs", "Ybarrola", "Wenceslao", "Çelebi")
EMAIL_DOMAINS = (
    "gmail.com",
    "hotmail.com",
    "yahoo.es",
    "outlook.com",
    "icloud.com",
    "telefonica.net",
)
EVENT_NAMES = (
    "Noche Latina", "Techno Friday", "Sala Grande Live", "Indie Thursday", "Reggaeton Party",
    "House Sessions", "Flamenco Fusión", "Rock Night", "Disco Inferno", "Urban Saturday",
)  # fmt: skip
RATE_NAMES = ("General", "VIP", "Lista", "Early entry")
PRICES = (Decimal("10.00"), Decimal("15.00"), Decimal("20.00"), Decimal("25.00"), Decimal("40.00"))
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ISSUERS = 12
CHANNELS = 5
PROMOTERS = 8
DEFAULT_REASONS = ("Artist", "Press", "Promoter", "Staff", "VIP", "Partner", "Other")


@dataclass(frozen=True)
class SeedResult:
    tickets: int
    issuances: int
    events: int
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.tickets} tickets in {self.issuances} issuances over {self.events} events, "
            f"in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class _Catalogue:
    credential: Credential
    events: list[Event]
    # Per event: [(rate, [price options])]
    rates: dict[int, list[tuple[Rate, list[PriceOption]]]]
    channels: list[Channel]
    promoters: list[Promoter]
    issuers: list[User]
    reasons: list[Reason]


def seed_tickets(
    *,
    count: int,
    environment: str = Environment.ALPHA,
    batch: int = 10_000,
    seed: int = 1,
    events: int = 150,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Write `count` issued tickets (with their lines, issuances and a catalogue) for
    `environment`. Deterministic for a given `seed` on a given database."""
    started = timezone.now()
    rng = random.Random(seed)
    catalogue = _ensure_catalogue(environment=environment, events=events, rng=rng)
    writer = _CopyWriter() if connection.vendor == "postgresql" else _InsertWriter()
    ticket_fields = _concrete_fields(IssuedTicket)
    line_fields = _concrete_fields(IssuanceLine)
    issuance_fields = _concrete_fields(Issuance)
    next_ids = {
        model: (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        for model in (Issuance, IssuanceLine, IssuedTicket)
    }
    now = timezone.now()
    written = 0
    issuance_count = 0
    with transaction.atomic():
        while written < count:
            size = min(batch, count - written)
            issuances, lines, tickets = _build_batch(
                rng=rng,
                catalogue=catalogue,
                environment=environment,
                size=size,
                next_ids=next_ids,
                now=now,
            )
            writer.write(Issuance, issuance_fields, issuances)
            writer.write(IssuanceLine, line_fields, lines)
            writer.write(IssuedTicket, ticket_fields, tickets)
            written += size
            issuance_count += len(issuances)
            if progress is not None:
                progress(written)
        _reset_sequences()
    seconds = (timezone.now() - started).total_seconds()
    return SeedResult(written, issuance_count, len(catalogue.events), seconds)


# --- The catalogue, issuers and reasons: few rows, through the ORM ------------------------------


def _ensure_catalogue(*, environment: str, events: int, rng: random.Random) -> _Catalogue:
    now = timezone.now()
    today = timezone.localdate()
    credential, _ = Credential.objects.get_or_create(
        name=f"Seeded ({environment})",
        defaults={"environment": environment, "api_key": "seeded-not-a-key", "is_active": False},
    )
    event_rows = []
    rates: dict[int, list[tuple[Rate, list[PriceOption]]]] = {}
    first_night = today - dt.timedelta(days=300)
    step = max(1, 365 // max(events, 1))
    for i in range(events):
        night = first_night + dt.timedelta(days=i * step % 365)
        event, _ = Event.objects.get_or_create(
            environment=environment,
            remote_id=f"seed-evt-{i:04d}",
            defaults={
                "name": f"{EVENT_NAMES[i % len(EVENT_NAMES)]} #{i + 1}",
                "night": night,
                "starts_at": _at(night, 23),
                "refreshed_at": now,
                "active": True,
                "visible": True,
            },
        )
        event_rows.append(event)
        event_rates = []
        for r in range(2):
            rate, _ = Rate.objects.get_or_create(
                environment=environment,
                event=event,
                remote_id=f"seed-rate-{i:04d}-{r}",
                defaults={"name": RATE_NAMES[(i + r) % len(RATE_NAMES)], "refreshed_at": now},
            )
            option, _ = PriceOption.objects.get_or_create(
                environment=environment,
                rate=rate,
                remote_id=f"seed-opt-{i:04d}-{r}",
                defaults={"price": PRICES[(i * 2 + r) % len(PRICES)], "refreshed_at": now},
            )
            event_rates.append((rate, [option]))
        rates[event.pk] = event_rates
    channels = [
        Channel.objects.get_or_create(
            environment=environment,
            remote_id=f"seed-chan-{i}",
            defaults={"name": f"Channel {i + 1}", "refreshed_at": now},
        )[0]
        for i in range(CHANNELS)
    ]
    promoters = [
        Promoter.objects.get_or_create(
            environment=environment,
            remote_id=f"seed-rrpp-{i}",
            defaults={
                "first_name": FIRST_NAMES[i * 3 % len(FIRST_NAMES)],
                "last_name": SURNAMES[i * 5 % len(SURNAMES)],
                "refreshed_at": now,
            },
        )[0]
        for i in range(PROMOTERS)
    ]
    issuer_group = Group.objects.get(name=roles.ISSUER)
    issuers = []
    for i in range(ISSUERS):
        user, created = User.objects.get_or_create(
            username=f"seed-issuer-{i + 1:02d}",
            defaults={
                "first_name": FIRST_NAMES[i * 7 % len(FIRST_NAMES)],
                "last_name": SURNAMES[i * 11 % len(SURNAMES)],
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(issuer_group)
        issuers.append(user)
    reasons = list(Reason.objects.all()) or [
        Reason.objects.create(label=label, position=i) for i, label in enumerate(DEFAULT_REASONS)
    ]
    return _Catalogue(credential, event_rows, rates, channels, promoters, issuers, reasons)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


# --- The big tables -----------------------------------------------------------------------------


def _concrete_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields]


def _build_batch(
    *,
    rng: random.Random,
    catalogue: _Catalogue,
    environment: str,
    size: int,
    next_ids: dict[type[models.Model], int],
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    issuances: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    tickets: list[dict[str, Any]] = []
    today = timezone.localdate()
    remaining = size
    while remaining:
        holders = min(remaining, rng.randint(5, 15))
        remaining -= holders
        event = rng.choice(catalogue.events)
        rate, options = rng.choice(catalogue.rates[event.pk])
        option = options[0]
        # Issued in the 45 days before the night (never in the future).
        created_at = _at(event.night, 12) - dt.timedelta(
            days=rng.randint(0, 45), minutes=rng.randint(0, 600)
        )
        created_at = min(created_at, now - dt.timedelta(minutes=rng.randint(1, 600)))
        use_channel = rng.random() < 0.5
        issuance_id = next_ids[Issuance]
        next_ids[Issuance] += 1
        issuances.append(
            {
                "id": issuance_id,
                "idempotency_key": uuid.UUID(int=(issuance_id << 64) | rng.getrandbits(64)),
                "created_by_id": (issuer_id := rng.choice(catalogue.issuers).pk),
                "credential_id": catalogue.credential.pk,
                "event_id": event.pk,
                "rate_id": rate.pk,
                "price_option_id": option.pk,
                "channel_id": rng.choice(catalogue.channels).pk if use_channel else None,
                "promoter_id": None if use_channel else rng.choice(catalogue.promoters).pk,
                "sale_type": "online",
                "reason_id": rng.choice(catalogue.reasons).pk,
                "status": IssuanceStatus.COMPLETED,
                "created_at": created_at,
                "completed_at": created_at + dt.timedelta(seconds=holders),
            }
        )
        past = event.night < today
        for position in range(holders):
            line_id = next_ids[IssuanceLine]
            next_ids[IssuanceLine] += 1
            ticket_id = next_ids[IssuedTicket]
            next_ids[IssuedTicket] += 1
            first, surname1, surname2 = _person(rng)
            full_name = f"{first} {surname1} {surname2}"
            email = _email(rng, first, surname1)
            phone = f"+34{rng.choice('67')}{rng.randint(0, 99_999_999):08d}"
            code = "".join(rng.choices(CODE_ALPHABET, k=9))
            qr_code = f"COMPS-{line_id:08d}-{code}"
            payment_id = f"pay_{issuance_id:08d}{rng.getrandbits(32):08x}"
            remote_id = f"seed{ticket_id:010d}"
            digest = ""
            if rng.random() < 0.2:
                digest = document_digest(f"{rng.randint(10_000_000, 99_999_999)}X")
            entered = 1 if past and rng.random() < 0.65 else 0
            sent_at = created_at + dt.timedelta(seconds=position)
            lines.append(
                {
                    "id": line_id,
                    "issuance_id": issuance_id,
                    "position": position,
                    "full_name": full_name,
                    "email": email,
                    "phone": phone,
                    "document_type": "dni" if digest else "",
                    "document_digest": digest,
                    "supplements": [],
                    "qr_code": qr_code,
                    "state": LineState.CONFIRMED,
                    "attempts": 1,
                    "sent_at": sent_at,
                    "settled_at": sent_at,
                }
            )
            tickets.append(
                {
                    "id": ticket_id,
                    "environment": environment,
                    "remote_id": remote_id,
                    "line_id": line_id,
                    "issued_by_id": issuer_id,  # what the database's trigger sets too
                    "event_id": event.pk,
                    "event_remote_id": event.remote_id,
                    "code": code,
                    "qr_code": qr_code,
                    "status": "activated",
                    "statuses": ["activated"],
                    "is_valid": True,
                    "event_night": event.night,
                    "rate_remote_id": rate.remote_id,
                    "rate_name": rate.name,
                    "price_option_remote_id": option.remote_id,
                    "price": Decimal("0.00"),
                    "payment_id": payment_id,
                    "sale_type": "online",
                    "name": full_name,
                    "email": email,
                    "phone": phone,
                    "language": "es",
                    "entered": entered,
                    "entry_date": _at(event.night, 23, rng.randint(0, 59)) if entered else None,
                    "remote_created_at": sent_at,
                    "remote_updated_at": sent_at,
                    "issued_at": created_at,
                    "raw": {"_id": remote_id, "code": code},
                    "search_text": search_text(
                        full_name, email, code, qr_code, payment_id, remote_id, phone=phone
                    ),
                    "mirrored_at": sent_at,
                    "updated_at": sent_at,
                }
            )
    return issuances, lines, tickets


def _person(rng: random.Random) -> tuple[str, str, str]:
    first = rng.choice(FIRST_NAMES)
    surnames = []
    for _ in range(2):
        roll = rng.random()
        if roll < 0.0005:
            surnames.append(rng.choice(RARE_SURNAMES))
        elif roll < 0.25:
            surnames.append(rng.choice(COMMON_SURNAMES))
        else:
            surnames.append(rng.choice(SURNAMES))
    return first, surnames[0], surnames[1]


def _email(rng: random.Random, first: str, surname: str) -> str:
    local = _ascii(first) + rng.choice((".", "_", "")) + _ascii(surname)
    return f"{local}{rng.randint(1, 9999)}@{rng.choice(EMAIL_DOMAINS)}"


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


# --- Writers ------------------------------------------------------------------------------------


def _default(field: models.Field) -> Any:
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if isinstance(field, (models.CharField, models.TextField)):
        return ""
    return None


def _values(fields: Sequence[models.Field], row: dict[str, Any]) -> Iterator[Any]:
    for field in fields:
        yield row[field.attname] if field.attname in row else _default(field)


class _CopyWriter:
    """PostgreSQL: COPY FROM STDIN through psycopg 3, the fastest way in."""

    def write(
        self, model: type[models.Model], fields: Sequence[models.Field], rows: list[dict[str, Any]]
    ) -> None:
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        json_columns = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                values = list(_values(fields, row))
                for i in json_columns:
                    values[i] = json.dumps(values[i])
                copy.write_row(values)


class _InsertWriter:
    """Other databases (SQLite): one executemany per table and batch."""

    def write(
        self, model: type[models.Model], fields: Sequence[models.Field], rows: list[dict[str, Any]]
    ) -> None:
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608, E501
        params = [
            [
                f.get_db_prep_save(v, connection)
                for f, v in zip(fields, _values(fields, row), strict=True)
            ]
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def _reset_sequences() -> None:
    statements = connection.ops.sequence_reset_sql(
        no_style(), [Issuance, IssuanceLine, IssuedTicket]
    )
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
