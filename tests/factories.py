"""Shared test factories (factory-boy). Every test module builds its rows through these.

Catalogue rows default to the "alpha" environment, listed and freshly refreshed, with the event
night a week ahead, so they show up in `selectors.catalogue.upcoming_events(environment="alpha")`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from tickets import roles
from tickets.models import (
    Channel,
    Credential,
    Environment,
    Event,
    Issuance,
    IssuanceLine,
    IssuedTicket,
    PriceOption,
    Promoter,
    Rate,
    Reason,
    Supplement,
)
from tickets.services.credentials import register_credential
from tickets.text import search_text as text_search_text


class UserFactory(factory.django.DjangoModelFactory):
    """A user; `role=roles.ISSUER` (or MANAGER / ADMIN) puts them in that migrated group.

    The password is "a-long-password-1", but log in with `client.force_login` (axes breaks
    `client.login`).
    """

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password("a-long-password-1")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


def issuer(**kwargs: Any) -> User:
    return UserFactory(role=roles.ISSUER, **kwargs)


def manager(**kwargs: Any) -> User:
    return UserFactory(role=roles.MANAGER, **kwargs)


def admin(**kwargs: Any) -> User:
    # Staff, as the users page makes admins: reasons and supplements live in Django's admin.
    return UserFactory(role=roles.ADMIN, **{"is_staff": True, **kwargs})


class CredentialFactory(factory.django.DjangoModelFactory):
    """An active credential, created through the service (which retires the previous active one
    for the environment, as the one-active-per-environment constraint requires)."""

    class Meta:
        model = Credential

    name = factory.Sequence(lambda n: f"Credential {n}")
    environment = Environment.ALPHA
    api_key = "k"
    # Port 9 (discard): nothing answers, so a test that forgets to stub the API fails fast.
    base_url_override = "http://127.0.0.1:9/integrations"

    @classmethod
    def _create(cls, model_class: type[Credential], *args: Any, **kwargs: Any) -> Credential:
        return register_credential(actor=None, **kwargs)


class CatalogueFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    environment = Environment.ALPHA
    is_listed = True
    refreshed_at = factory.LazyFunction(timezone.now)


class EventFactory(CatalogueFactory):
    class Meta:
        model = Event

    remote_id = factory.Sequence(lambda n: f"evt{n}")
    name = factory.Sequence(lambda n: f"Event {n}")
    night = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=7))
    active = True
    visible = True


class RateFactory(CatalogueFactory):
    class Meta:
        model = Rate

    event = factory.SubFactory(EventFactory)
    environment = factory.SelfAttribute("event.environment")
    remote_id = factory.Sequence(lambda n: f"rate{n}")
    name = factory.Sequence(lambda n: f"Rate {n}")


class PriceOptionFactory(CatalogueFactory):
    class Meta:
        model = PriceOption

    rate = factory.SubFactory(RateFactory)
    environment = factory.SelfAttribute("rate.environment")
    remote_id = factory.Sequence(lambda n: f"opt{n}")
    price = Decimal("20.00")
    min_age = 18
    content = "1 drink"


class ChannelFactory(CatalogueFactory):
    class Meta:
        model = Channel

    remote_id = factory.Sequence(lambda n: f"chan{n}")
    name = factory.Sequence(lambda n: f"Channel {n}")


class PromoterFactory(CatalogueFactory):
    class Meta:
        model = Promoter

    remote_id = factory.Sequence(lambda n: f"rrpp{n}")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Promoter{n}")
    email = factory.LazyAttribute(lambda o: f"{o.last_name.lower()}@example.com")


class ReasonFactory(factory.django.DjangoModelFactory):
    """Migration 0004 already seeds Artist, Press, Promoter, Staff, VIP, Partner, Other."""

    class Meta:
        model = Reason
        django_get_or_create = ("label",)

    label = factory.Sequence(lambda n: f"Reason {n}")
    is_active = True


class SupplementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplement

    supplement_id = factory.Sequence(lambda n: f"sup{n}")
    label = factory.Sequence(lambda n: f"Supplement {n}")
    default_price = Decimal("5.00")
    rate_names = factory.LazyFunction(list)
    is_active = True


class IssuanceFactory(factory.django.DjangoModelFactory):
    """A ledger row; add lines with `IssuanceLineFactory(issuance=...)`."""

    class Meta:
        model = Issuance

    idempotency_key = factory.LazyFunction(uuid.uuid4)
    created_by = factory.SubFactory(UserFactory, role=roles.ISSUER)
    credential = factory.LazyFunction(
        lambda: (
            Credential.objects.filter(is_active=True, environment=Environment.ALPHA).first()
            or CredentialFactory()
        )
    )
    price_option = factory.SubFactory(PriceOptionFactory)
    rate = factory.SelfAttribute("price_option.rate")
    event = factory.SelfAttribute("price_option.rate.event")
    sale_type = "online"
    reason = factory.LazyFunction(lambda: Reason.objects.get_or_create(label="Staff")[0])


class IssuanceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IssuanceLine

    issuance = factory.SubFactory(IssuanceFactory)
    position = factory.Sequence(lambda n: n)
    full_name = factory.Sequence(lambda n: f"Holder {n}")
    email = factory.Sequence(lambda n: f"holder{n}@example.com")


class IssuedTicketFactory(factory.django.DjangoModelFactory):
    """A mirrored ticket of a confirmed line; `search_text` is built as the mirror builds it.

    Pass `line=IssuanceLineFactory(issuance=...)` to choose the issuance (and so its issuer),
    or `line=None` for a ticket Comps did not issue.
    """

    class Meta:
        model = IssuedTicket

    line = factory.SubFactory(IssuanceLineFactory, state="confirmed")
    environment = Environment.ALPHA
    remote_id = factory.Sequence(lambda n: f"tkt{n:06d}")
    event = factory.LazyAttribute(lambda o: o.line.issuance.event if o.line else None)
    event_remote_id = factory.LazyAttribute(lambda o: o.event.remote_id if o.event else "")
    event_night = factory.LazyAttribute(lambda o: o.event.night if o.event else None)
    code = factory.Sequence(lambda n: f"CODE{n:06d}")
    qr_code = factory.Sequence(lambda n: f"COMPS-QR{n:06d}")
    status = "activated"
    statuses = factory.LazyFunction(lambda: ["activated"])
    is_valid = True
    rate_name = factory.LazyAttribute(lambda o: o.line.issuance.rate.name if o.line else "General")
    price = Decimal("0.00")
    payment_id = factory.Sequence(lambda n: f"pay{n:06d}")
    name = factory.LazyAttribute(lambda o: o.line.full_name if o.line else "Walk In")
    email = factory.LazyAttribute(lambda o: o.line.email if o.line else "walkin@example.com")
    phone = ""
    remote_created_at = factory.LazyFunction(timezone.now)
    issued_at = factory.LazyAttribute(
        lambda o: o.line.issuance.created_at if o.line else o.remote_created_at
    )
    raw = factory.LazyAttribute(lambda o: {"_id": o.remote_id, "code": o.code, "name": o.name})
    search_text = factory.LazyAttribute(
        lambda o: text_search_text(
            o.name, o.email, o.code, o.qr_code, o.payment_id, o.remote_id, phone=o.phone
        )
    )
