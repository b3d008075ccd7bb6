"""Fourvenues credentials: registering, changing, activating and checking them,
building an API client, and rotating the encryption of every stored secret.

No secret value ever reaches the audit log from here: entries name the fields that changed,
never their values (`tickets.redaction.redact` masks secret-looking keys as a second line of
defence).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.fields import EncryptedTextField
from tickets.fourvenues.auth import ApiKeyAuth, LegacyAuth, UnusableAuth, header_value_problem
from tickets.fourvenues.calls import CallRecord
from tickets.fourvenues.endpoints import FourvenuesClient
from tickets.fourvenues.errors import FourvenuesError
from tickets.fourvenues.schemas import Channel
from tickets.models import ApiCall, AuthScheme, Credential
from tickets.redaction import without_personal_data
from tickets.selectors import purge as purge_selectors
from tickets.services import audit
from tickets.services.ratelimit import SharedLimiter

SECRET_FIELDS = ("api_key", "integration_id", "secret")
SCHEME_SECRETS: dict[str, tuple[str, ...]] = {
    AuthScheme.API_KEY: ("api_key",),
    AuthScheme.LEGACY: ("integration_id", "secret"),
}
# What an admin may change on a credential besides its secrets.
EDITABLE_FIELDS = (
    "name",
    "environment",
    "base_url_override",
    "auth_scheme",
    "expires_on",
    "notes",
    "fourvenues_sends_tickets",
)


class CredentialError(Exception):
    """A credential cannot be saved or used; the message is fit for staff. `field` names the
    form field at fault, when one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ReplacementChanged(CredentialError):
    """The admin confirmed replacing one credential, but another one (or none) is in use now:
    they must confirm again, knowing which one they replace. `current` is the one in use."""

    def __init__(self, message: str, *, current: Credential | None) -> None:
        super().__init__(message)
        self.current = current


class _Any:
    """No expectation about which credential an activation replaces (scripts, the demo)."""


ANY_REPLACED = _Any()


def _check_name_free(name: str, *, other_than: Credential | None = None) -> None:
    others = Credential.objects.filter(name=name)
    if other_than is not None:
        others = others.exclude(pk=other_than.pk)
    if others.exists():
        raise CredentialError(
            _("Another credential is already named “%(name)s”.") % {"name": name}, field="name"
        )


SECRET_LABELS = {
    "api_key": gettext_lazy("API key"),
    "integration_id": gettext_lazy("integration id"),
    "secret": gettext_lazy("secret"),
}


def secret_problem(name: str, value: str) -> str:
    """Why the secret `name` cannot be stored as `value` ("" when it can): a value that cannot
    travel in an HTTP header would make every call fail. Names the field, never quotes it."""
    problem = header_value_problem(value)
    if not problem:
        return ""
    return _(
        "This %(secret)s %(problem)s, so it could not be sent to Fourvenues. Type it again (or "
        "paste it from a plain-text copy)."
    ) % {"secret": SECRET_LABELS[name], "problem": problem}


def _check_secrets(auth_scheme: str, secrets: dict[str, str]) -> None:
    if auth_scheme == AuthScheme.API_KEY and not secrets.get("api_key"):
        raise CredentialError(_("An API key is required for the API key scheme."))
    if auth_scheme == AuthScheme.LEGACY and not (
        secrets.get("integration_id") and secrets.get("secret")
    ):
        raise CredentialError(_("Both the integration id and the secret are required for v1."))
    # The guarantee behind the form's own check: every save of a credential goes through here.
    for name in SCHEME_SECRETS[auth_scheme]:
        if problem := secret_problem(name, secrets.get(name, "")):
            raise CredentialError(problem, field=name)


def _facts(credential: Credential) -> dict[str, object]:
    """What the audit log keeps about a credential: never a secret, not even its hint."""
    return {
        "id": credential.pk,
        "environment": credential.environment,
        "auth_scheme": credential.auth_scheme,
        "base_url": credential.base_url,
        "is_active": credential.is_active,
        "expires_on": credential.expires_on.isoformat() if credential.expires_on else None,
    }


@transaction.atomic
def register_credential(
    *,
    name: str,
    environment: str,
    auth_scheme: str = AuthScheme.API_KEY,
    api_key: str = "",
    integration_id: str = "",
    secret: str = "",
    base_url_override: str = "",
    expires_on: dt.date | None = None,
    notes: str = "",
    fourvenues_sends_tickets: bool = False,
    activate: bool = True,
    actor: AbstractBaseUser | None,
) -> Credential:
    """Store a new credential; by default it becomes the active one for its environment."""
    secrets = {"api_key": api_key, "integration_id": integration_id, "secret": secret}
    _check_secrets(auth_scheme, secrets)
    _check_name_free(name)
    if activate:
        _deactivate_active(environment)
    credential = Credential.objects.create(
        name=name,
        environment=environment,
        auth_scheme=auth_scheme,
        # Only the secrets the scheme uses: a stale one of the other scheme is one more secret
        # to leak, and nobody would think to rotate it.
        **{field: secrets[field] for field in SCHEME_SECRETS[auth_scheme]},
        base_url_override=base_url_override,
        expires_on=expires_on,
        notes=notes,
        fourvenues_sends_tickets=fourvenues_sends_tickets,
        is_active=activate,
    )
    audit.record(
        action="credential.created", actor=actor, target=credential, data=_facts(credential)
    )
    return credential


@transaction.atomic
def update_credential(
    *,
    credential: Credential,
    actor: AbstractBaseUser | None,
    new_secrets: dict[str, str] | None = None,
    **changes: object,
) -> Credential:
    """Change a credential. `new_secrets` holds only the secrets typed anew (a blank field keeps
    the stored value); secrets the scheme does not use are erased."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    credential = Credential.objects.select_for_update().get(pk=credential.pk)
    if changes.get("environment", credential.environment) != credential.environment:
        # Its issuances, tickets and catalogue belong to the environment it was made for.
        raise CredentialError(
            _("A credential's environment cannot change; add a new credential for the other one.")
        )
    changed = [name for name, value in changes.items() if getattr(credential, name) != value]
    # The audit log shows a change as old -> new; secrets are only ever named, never valued.
    values = {
        name: [_loggable(getattr(credential, name)), _loggable(changes[name])] for name in changed
    }
    for name in changed:
        setattr(credential, name, changes[name])
    needed = SCHEME_SECRETS[credential.auth_scheme]
    secrets = {name: getattr(credential, name) for name in SECRET_FIELDS}
    for name, value in (new_secrets or {}).items():
        if value and name in needed and value != secrets[name]:
            secrets[name] = value
            changed.append(name)
    for name in SECRET_FIELDS:
        if name not in needed and secrets[name]:
            secrets[name] = ""
            changed.append(name)
    _check_secrets(credential.auth_scheme, secrets)
    if "name" in changed:
        _check_name_free(credential.name, other_than=credential)
    if not changed:
        return credential
    for name, value in secrets.items():
        setattr(credential, name, value)
    credential.save()
    audit.record(
        action="credential.changed",
        actor=actor,
        target=credential,
        data={**_facts(credential), "changed": sorted(changed), "changes": values},
    )
    return credential


def _loggable(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value[:200]
    return value


def _deactivate_active(environment: str) -> None:
    """One active credential per environment: the one in use steps aside for another."""
    Credential.objects.filter(environment=environment, is_active=True).update(is_active=False)


# The credentials pages show the last use to the minute: a use within a minute of the one stored,
# as far as the caller's copy knows, is not written again (a busy worker would write it each task).
LAST_USE_RESOLUTION = dt.timedelta(minutes=1)


def mark_used(credential: Credential, *, at: dt.datetime | None = None) -> None:
    """Remember when the credential last did real work (shown on the credentials pages)."""
    at = at or timezone.now()
    if credential.last_used_at is not None and at < credential.last_used_at + LAST_USE_RESOLUTION:
        return  # within the minute stored, or older than it
    credential.last_used_at = at
    Credential.objects.filter(pk=credential.pk).update(last_used_at=at)


def in_use_besides(credential: Credential) -> Credential | None:
    """The credential issuing uses in `credential`'s environment, when it is another one: the
    one that activating `credential` replaces."""
    return (
        Credential.objects.filter(environment=credential.environment, is_active=True)
        .exclude(pk=credential.pk)
        .first()
    )


@transaction.atomic
def set_credential_active(
    *,
    credential: Credential,
    active: bool,
    actor: AbstractBaseUser | None,
    expect_replacing: int | _Any | None = ANY_REPLACED,
) -> Credential:
    """Make `credential` the one issuing uses for its environment, or take it out of use.

    `expect_replacing` is the id of the credential the admin was told this replaces (None: they
    were told it replaces none). Should another be in use by now, nothing changes and
    `ReplacementChanged` says which, so that no working key is replaced without being named."""
    credential = Credential.objects.select_for_update().get(pk=credential.pk)
    if credential.is_active == active:
        return credential
    data = _facts(credential)
    if active:
        if credential.is_expired:
            raise CredentialError(_("This credential has expired; it cannot be made active."))
        # Lock the environment's credentials: two admins activating at once both see the truth.
        list(Credential.objects.select_for_update().filter(environment=credential.environment))
        replaced = in_use_besides(credential)
        if not isinstance(expect_replacing, _Any) and expect_replacing != (
            replaced.pk if replaced else None
        ):
            raise ReplacementChanged(
                _("Another credential is in use by now: confirm again."), current=replaced
            )
        if replaced is not None:
            data["replaces"] = {"id": replaced.pk, "name": replaced.name}
        _deactivate_active(credential.environment)
    credential.is_active = active
    credential.save(update_fields=["is_active", "updated_at"])
    audit.record(
        action="credential.activated" if active else "credential.deactivated",
        actor=actor,
        target=credential,
        data={**data, "is_active": active},
    )
    return credential


def activate_after_first_test(
    *, credential: Credential, was_verified: bool, actor: AbstractBaseUser | None
) -> bool:
    """After a successful connection test: a credential never tested before and not in use
    becomes the one issuing uses when it replaces none (nothing working is put aside). Otherwise
    the admin decides, told which one it replaces. Returns whether it was activated."""
    if was_verified or credential.is_active or credential.is_expired:
        return False
    try:
        set_credential_active(
            credential=credential, active=True, actor=actor, expect_replacing=None
        )
    except ReplacementChanged:
        return False
    credential.is_active = True
    return True


def record_call(credential: Credential, record: CallRecord) -> None:
    request_body, response_body = record.request_body, record.response_body
    # Only ticket answers hold holders' data (not the rates'), so only they pay for the lookup.
    if record.path.startswith("/tickets/") and purge_selectors.names_purged_event(record.query):
        # The event's holders' personal data is gone: its later listings do not keep it either.
        request_body = without_personal_data(request_body)
        response_body = without_personal_data(response_body)
    ApiCall.objects.create(
        credential=credential,
        method=record.method,
        path=record.path[:500],
        query=record.query,
        status=record.status,
        duration_ms=round(record.duration_ms),
        attempt=record.attempt,
        request_body=request_body,
        response_body=response_body,
        error=(record.error or "")[:500],
    )


def build_client(
    credential: Credential,
    *,
    record_calls: bool = True,
    on_call: Callable[[CallRecord], None] | None = None,
) -> FourvenuesClient:
    """A client for `credential`, with the project's timeouts and limits, recording every call
    (and telling `on_call` about each, for callers that count them).

    Never fails for the credential's values: one that cannot be sent (stored before values were
    checked) gives a client whose every call raises `CredentialUnusable` before sending, so
    each caller reports it the way it reports any Fourvenues error."""
    auth: ApiKeyAuth | LegacyAuth | UnusableAuth
    try:
        if credential.auth_scheme == AuthScheme.LEGACY:
            auth = LegacyAuth(integration_id=credential.integration_id, secret=credential.secret)
        else:
            auth = ApiKeyAuth(api_key=credential.api_key)
    except ValueError as exc:
        stored = (credential.api_key, credential.integration_id, credential.secret)
        auth = UnusableAuth(problem=str(exc), secrets=tuple(value for value in stored if value))
    return FourvenuesClient(
        base_url=credential.base_url,
        auth=auth,
        connect_timeout=settings.FOURVENUES_CONNECT_TIMEOUT,
        read_timeout=settings.FOURVENUES_READ_TIMEOUT,
        get_retries=settings.FOURVENUES_GET_RETRIES,
        backoff_seconds=settings.FOURVENUES_BACKOFF_SECONDS,
        # One budget per key for every process and machine (services.ratelimit).
        rate_limiter=SharedLimiter(auth.fingerprint),
        on_call=(
            (lambda record: _on_call(credential, record, record_calls, on_call))
            if record_calls or on_call is not None
            else None
        ),
    )


def _on_call(
    credential: Credential,
    record: CallRecord,
    record_calls: bool,
    listener: Callable[[CallRecord], None] | None,
) -> None:
    if record_calls:
        record_call(credential, record)
    if listener is not None:
        listener(record)


def verify_credential(*, credential: Credential, actor: AbstractBaseUser | None) -> list[Channel]:
    """The credentials page's "Test connection": call `GET /channels/` (the documented key check),
    remember when it last worked, and return the channels the key sees."""
    client = build_client(credential)
    try:
        channels = client.check_connection()
    except FourvenuesError as exc:
        audit.record(
            action="credential.verify_failed",
            actor=actor,
            target=credential,
            data={"error": exc.message, "status": exc.status},
        )
        raise
    now = timezone.now()
    Credential.objects.filter(pk=credential.pk).update(last_verified_at=now, last_used_at=now)
    credential.last_verified_at = credential.last_used_at = now
    audit.record(
        action="credential.verified",
        actor=actor,
        target=credential,
        data={"channels": len(channels)},
    )
    return channels


ROTATION_CHUNK = 500


@transaction.atomic
def rotate_encryption() -> dict[str, int]:
    """Re-encrypt every stored secret (credentials, their history, document numbers) with the
    first key of FIELD_ENCRYPTION_KEYS. Returns how many values each model had re-encrypted.

    Each value is read with any configured key and written back with the first: put the new
    key first, keep the old ones after it, run this, then drop the old ones. A value that no
    configured key opens raises `DecryptionError`, and nothing at all is changed.
    """
    rotated: dict[str, int] = {}
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not fields:
            continue
        count = 0
        manager = model._base_manager
        pks = list(manager.order_by("pk").values_list("pk", flat=True))
        # In chunks of plain queries: a server-side cursor (`iterator()`) left open by a failed
        # decryption would abort the transaction on PostgreSQL instead of raising cleanly.
        for start in range(0, len(pks), ROTATION_CHUNK):
            chunk = manager.filter(pk__in=pks[start : start + ROTATION_CHUNK])
            for row in chunk.values("pk", *fields):
                values = {name: row[name] for name in fields if row[name]}
                if values:
                    # update() re-encrypts through the field, without new history rows.
                    manager.filter(pk=row["pk"]).update(**values)
                    count += len(values)
        rotated[model._meta.label] = count
    return rotated
