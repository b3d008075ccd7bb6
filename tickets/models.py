"""The Comps data model: credentials, the record of outbound calls and the audit log; the
catalogue mirrored from Fourvenues; the issuing ledger (Issuance + IssuanceLine); the mirror
of every remote ticket (IssuedTicket + TicketSupplement); and reconciliation (ReconciliationRun,
Discrepancy, TicketChange)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from tickets.fields import EncryptedTextField


class Environment(models.TextChoices):
    ALPHA = "alpha", _("Alpha (test)")
    PRODUCTION = "production", _("Production")


DEFAULT_BASE_URLS: dict[str, str] = {
    Environment.ALPHA: "https://api-alpha.fourvenues.com/integrations",
    Environment.PRODUCTION: "https://api.fourvenues.com/integrations",
}


# Admins are warned this many days before a credential expires (Fourvenues has no rotation API).
EXPIRY_WARNING_DAYS = 14


class AuthScheme(models.TextChoices):
    API_KEY = "api_key", _("API key (X-Api-Key, v2)")
    LEGACY = "legacy", _("Integration id + secret (v1)")


class Credential(models.Model):
    """A Fourvenues Integrations API credential. The secrets are encrypted at rest."""

    name = models.CharField(max_length=100, unique=True)
    environment = models.CharField(max_length=20, choices=Environment.choices)
    # Blank means the environment's documented base URL; set it to point at the sandbox.
    base_url_override = models.URLField(blank=True, max_length=300, verbose_name="base URL")
    auth_scheme = models.CharField(
        max_length=20, choices=AuthScheme.choices, default=AuthScheme.API_KEY
    )
    api_key = EncryptedTextField(blank=True)
    integration_id = EncryptedTextField(blank=True)
    secret = EncryptedTextField(blank=True)
    expires_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="The credential issuing uses for its environment."
    )
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Fourvenues documents no delivery of Integrations-created tickets; a venue that has seen on
    # alpha that it e-mails them turns this on, and issuers may then leave the sending to it.
    fourvenues_sends_tickets = models.BooleanField(
        default=False,
        verbose_name=_("Fourvenues e-mails the tickets"),
        help_text=_(
            "Only once the venue has seen on alpha that Fourvenues e-mails tickets created "
            "through the Integrations API to their holders."
        ),
    )
    # Whether the refund call (amount 0) cancels a comp on the real API is undocumented: until the
    # venue has seen it do so on alpha, withdrawals are done by hand in the Fourvenues dashboard
    # and confirmed by reconciliation when the ticket comes back cancelled.
    withdraw_through_api = models.BooleanField(
        default=False,
        verbose_name=_("Withdraw comps through the API"),
        help_text=_(
            "Only once the venue has seen on alpha that a refund of 0 cancels a comp. Otherwise "
            "managers withdraw in the Fourvenues dashboard and reconciliation confirms it."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment"],
                condition=Q(is_active=True),
                name="one_active_credential_per_environment",
            ),
            models.CheckConstraint(
                condition=Q(environment__in=Environment.values), name="credential_environment_valid"
            ),
        ]
        permissions = [("manage_credentials", "Can add, change, test and deactivate credentials")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_environment_display()})"

    @property
    def base_url(self) -> str:
        return self.base_url_override or DEFAULT_BASE_URLS[self.environment]

    @property
    def is_expired(self) -> bool:
        return self.expires_on is not None and self.expires_on < timezone.localdate()

    @property
    def expires_soon(self) -> bool:
        """Within the warning window before expiry (admins see a banner from then on)."""
        if self.expires_on is None:
            return False
        return self.expires_on - timezone.localdate() <= dt.timedelta(days=EXPIRY_WARNING_DAYS)

    @property
    def secret_hint(self) -> str:
        """The last four characters of the secret in use, the only part ever shown."""
        value = self.api_key if self.auth_scheme == AuthScheme.API_KEY else self.secret
        return f"…{value[-4:]}" if value and len(value) > 8 else "…"


class ApiCall(models.Model):
    """One outbound HTTP attempt to Fourvenues, redacted (no auth headers, masked documents)."""

    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_calls"
    )
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.JSONField(default=dict, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    attempt = models.PositiveSmallIntegerField(default=1)
    request_body = models.JSONField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status or self.error or '?'}"


class RateBudget(models.Model):
    """The shared request budget of one Fourvenues API key (`services.ratelimit`).

    Every process and machine that uses the key reserves the moment of its next request here, so
    that together they stay under Fourvenues' limit; a 429 seen by any of them slows all of them.
    Times are seconds since the epoch by the database's clock, the one clock they all share.
    """

    key = models.CharField(max_length=64, primary_key=True)  # the credential's fingerprint
    last_slot = models.FloatField(default=0)  # the latest moment reserved for a request
    slow_until = models.FloatField(default=0)  # after a 429: requests spaced wider until then

    def __str__(self) -> str:
        return f"Rate budget {self.key[:12]}"


class TaskHeartbeat(models.Model):
    """A long task's sign of life (`services.heartbeat`): the reaper takes a running task as
    dead only when its heartbeat, or its start if it never beat, is older than the stale limit."""

    task_id = models.UUIDField(primary_key=True)  # django-tasks-db's DBTaskResult id
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Task {self.task_id} alive at {self.beat_at:%H:%M:%S}"


class ProcessBeat(models.Model):
    """When each kind of background process was last seen working: the scheduler on each pass,
    a worker each time it runs the heartbeat task the scheduler queues. `/healthz`, the
    containers' health checks and the metrics read it."""

    process = models.CharField(max_length=20, primary_key=True)  # "scheduler" | "worker"
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.process} seen at {self.seen_at:%H:%M:%S}"


class AuditAction(models.TextChoices):
    """Every action the audit log records: the one registry of dotted codes, each with the
    sentence the log shows for it. `services.audit.record` refuses a code not listed here."""

    AUTH_LOGIN = "auth.login", _("Signed in")
    AUTH_LOGOUT = "auth.logout", _("Signed out")
    AUTH_LOGIN_FAILED = "auth.login_failed", _("Failed to sign in")
    AUTH_LOCKED_OUT = "auth.locked_out", _("Locked out after too many failed sign-ins")
    USER_CREATED = "user.created", _("Created a user")
    USER_ROLE_CHANGED = "user.role_changed", _("Changed a user's role")
    USER_DEACTIVATED = "user.deactivated", _("Deactivated a user")
    USER_REACTIVATED = "user.reactivated", _("Reactivated a user")
    USER_PASSWORD_RESET = "user.password_reset", _("Reset a user's password")
    USER_UNLOCKED = "user.unlocked", _("Let a locked-out person sign in again")
    USER_TWO_FACTOR_RESET = (
        "user.two_factor_reset",
        _("Reset a person's two-factor sign-in"),
    )
    AUTH_TWO_FACTOR_ENROLLED = "auth.two_factor_enrolled", _("Turned on two-factor sign-in")
    AUTH_TWO_FACTOR_FAILED = "auth.two_factor_failed", _("Typed a wrong two-factor code")
    AUTH_RECOVERY_CODES_CREATED = "auth.recovery_codes_created", _("Made new recovery codes")
    AUTH_RECOVERY_CODE_USED = "auth.recovery_code_used", _("Signed in with a recovery code")
    EXPORT_PREPARED = "tickets.export_prepared", _("A large export was prepared")
    CREDENTIAL_CREATED = "credential.created", _("Added a Fourvenues credential")
    CREDENTIAL_CHANGED = "credential.changed", _("Changed a Fourvenues credential")
    CREDENTIAL_ACTIVATED = "credential.activated", _("Activated a Fourvenues credential")
    CREDENTIAL_DEACTIVATED = "credential.deactivated", _("Deactivated a Fourvenues credential")
    CREDENTIAL_VERIFIED = "credential.verified", _("Tested a Fourvenues credential: it works")
    CREDENTIAL_VERIFY_FAILED = (
        "credential.verify_failed",
        _("Tested a Fourvenues credential: it failed"),
    )
    CATALOGUE_REFRESHED = "catalogue.refreshed", _("Refreshed the catalogue from Fourvenues")
    CATALOGUE_REFRESH_FAILED = "catalogue.refresh_failed", _("Could not refresh the catalogue")
    CATALOGUE_RATES_REFRESHED = "catalogue.rates_refreshed", _("Refreshed an event's rates")
    CATALOGUE_RATES_REFRESH_FAILED = (
        "catalogue.rates_refresh_failed",
        _("Could not refresh an event's rates"),
    )
    ISSUANCE_CREATED = "issuance.created", _("Submitted comps to issue")
    ISSUANCE_LINES_CONFIRMED = "issuance.lines_confirmed", _("Fourvenues issued tickets")
    ISSUANCE_LINES_FAILED = "issuance.lines_failed", _("Tickets failed")
    ISSUANCE_LINES_UNKNOWN = "issuance.lines_unknown", _("Tickets' outcome unknown: checking")
    ISSUANCE_UNMATCHED_TICKET = "issuance.unmatched_ticket", _("Kept a ticket that matched no line")
    ISSUANCE_LINE_RETRIED = "issuance.line_retried", _("Sent a failed ticket again")
    ISSUANCE_RESOLVE_REQUESTED = "issuance.resolve_requested", _("Asked to check tickets now")
    RESOLVER_POSTPONED = "resolver.postponed", _("Could not check tickets yet: will ask again")
    TICKET_DOCUMENT_VIEWED = "ticket.document_viewed", _("Viewed a holder's document number")
    TICKETS_EXPORTED = "tickets.exported", _("Exported tickets")
    RECONCILIATION_REQUESTED = "reconciliation.requested", _("Started a reconciliation")
    DISCREPANCY_ACKNOWLEDGED = "discrepancy.acknowledged", _("Acknowledged a difference")
    DISCREPANCY_ADOPTED = "discrepancy.adopted", _("Adopted a ticket unknown to Comps")
    DISCREPANCY_RECHECKED = "discrepancy.rechecked", _("Checked a difference again")
    REASON_CREATED = "reason.created", _("Added a reason")
    REASON_CHANGED = "reason.changed", _("Changed a reason")
    REASON_DELETED = "reason.deleted", _("Deleted a reason")
    SUPPLEMENT_CREATED = "supplement.created", _("Added a supplement")
    SUPPLEMENT_CHANGED = "supplement.changed", _("Changed a supplement")
    SUPPLEMENT_DELETED = "supplement.deleted", _("Deleted a supplement")
    DELIVERY_RESEND_REQUESTED = (
        "delivery.resend_requested",
        _("Asked for a ticket to be sent to its guest again"),
    )
    DELIVERY_EMAIL_CHANGED = "delivery.email_changed", _("Changed where a guest's ticket is sent")
    DELIVERY_WHATSAPP = "delivery.whatsapp", _("Sent a guest their ticket by WhatsApp")
    ALLOWANCE_CREATED = "allowance.created", _("Set an allowance")
    ALLOWANCE_CHANGED = "allowance.changed", _("Changed an allowance")
    ALLOWANCE_DELETED = "allowance.deleted", _("Removed an allowance")
    ISSUER_GROUP_CREATED = "issuer_group.created", _("Created a group of issuers")
    ISSUER_GROUP_CHANGED = "issuer_group.changed", _("Changed a group of issuers")
    ISSUER_GROUP_DELETED = "issuer_group.deleted", _("Deleted a group of issuers")
    EVENT_POLICY_CHANGED = "event_policy.changed", _("Changed an event's cut-off or approval")
    VENUE_POLICY_CHANGED = (
        "venue_policy.changed",
        _("Changed the venue's approval or withdrawal rules"),
    )
    ISSUANCE_CUT_OFF_OVERRIDDEN = (
        "issuance.cut_off_overridden",
        _("Issued after the cut-off"),
    )
    APPROVAL_REQUESTED = "approval.requested", _("Asked for approval")
    APPROVAL_APPROVED = "approval.approved", _("Approved comps")
    APPROVAL_REJECTED = "approval.rejected", _("Rejected comps")
    WITHDRAWAL_REQUESTED = "withdrawal.requested", _("Asked to withdraw a comp")
    WITHDRAWAL_CONFIRMED = "withdrawal.confirmed", _("A comp was withdrawn")
    WITHDRAWAL_FAILED = "withdrawal.failed", _("A comp could not be withdrawn")
    WITHDRAWAL_UNKNOWN = "withdrawal.unknown", _("A withdrawal's outcome is unknown: checking")
    WITHDRAWAL_RETRIED = "withdrawal.retried", _("Tried to withdraw a comp again")
    EVENT_SUMMARY_SENT = "event_summary.sent", _("Sent the morning-after summary")
    PERSONAL_DATA_PURGED = "personal_data.purged", _("Removed holders' personal data")


class AuditLogIsAppendOnly(Exception):
    pass


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Bulk `update()` and `delete()` would bypass the model's guard: refuse them too. (Deleting a
    user still clears `actor` through Django's base manager; `actor_label` keeps the name.)"""

    def update(self, **kwargs: object) -> int:
        raise AuditLogIsAppendOnly("Audit entries cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """Append-only record of who did what, when and from where.

    Written only through `tickets.services.audit.record`; the model and its queryset refuse
    updates and deletes so that no code path can rewrite history by accident, and on PostgreSQL
    a trigger refuses them too (migration 0010).
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    actor_label = models.CharField(max_length=150, blank=True)  # survives user deletion
    action = models.CharField(max_length=100, db_index=True, choices=AuditAction.choices)
    # What the action was done to, as "<kind>:<pk>" ("issuance:42", "user:7"), or blank; and how
    # staff know it by (a username, a credential's name) when the key alone does not say.
    target = models.CharField(max_length=200, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        # Django's User lives in contrib.auth, so the in-app users page's permission sits here,
        # with the log that records every change it makes.
        permissions = [
            ("view_audit_log", "Can read the audit log"),
            ("manage_users", "Can create and deactivate users and set their role"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AuditLogIsAppendOnly("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")


# --- The catalogue: local mirrors of Fourvenues, refreshed by services.catalogue -------------


class CatalogueEntry(models.Model):
    """Fields every mirrored catalogue object has. Remote ids are opaque and per environment."""

    environment = models.CharField(max_length=20, choices=Environment.choices)
    remote_id = models.CharField(max_length=100)
    raw = models.JSONField(default=dict, blank=True)
    # False once a refresh no longer sees it; kept so old issuances still point somewhere.
    is_listed = models.BooleanField(default=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        abstract = True


class Event(CatalogueEntry):
    name = models.CharField(max_length=300)
    slug = models.CharField(max_length=300, blank=True)
    night = models.DateField(help_text="The night the event belongs to, in the venue's time zone.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(null=True)
    visible = models.BooleanField(null=True)
    rates_refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["night", "starts_at", "name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "remote_id"], name="event_remote_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.night:%a %d %b %Y})"


class Rate(CatalogueEntry):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rates")
    name = models.CharField(max_length=300)
    slug = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["event", "position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "event", "remote_id"], name="rate_remote_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class PriceOption(CatalogueEntry):
    rate = models.ForeignKey(Rate, on_delete=models.CASCADE, related_name="options")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    max_quantity = models.PositiveIntegerField(null=True, blank=True)
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    content = models.CharField(max_length=500, blank=True)
    additional_info = models.TextField(blank=True)
    until_seconds = models.IntegerField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["rate", "position", "price"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "rate", "remote_id"], name="price_option_remote_unique"
            )
        ]

    def __str__(self) -> str:
        label = f"{self.price} €"
        return f"{label} · {self.content}" if self.content else label


class Channel(CatalogueEntry):
    name = models.CharField(max_length=300)
    slug = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "remote_id"], name="channel_remote_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Promoter(CatalogueEntry):
    email = models.CharField(max_length=300, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["first_name", "last_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "remote_id"], name="promoter_remote_unique"
            )
        ]

    def __str__(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email


class Supplement(models.Model):
    """Admin-kept supplements (Fourvenues lists none): what issuers may add to a comp."""

    supplement_id = models.CharField(max_length=100, unique=True, verbose_name=_("Fourvenues id"))
    label = models.CharField(max_length=200, verbose_name=_("label"))
    default_price = models.DecimalField(
        max_digits=10, decimal_places=2, default=0, verbose_name=_("default price")
    )
    rate_names = models.JSONField(
        default=list,
        blank=True,
        verbose_name=_("rate names"),
        help_text=_("Rate names it applies to; empty means every rate."),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        ordering = ["label"]
        verbose_name = _("supplement")
        verbose_name_plural = _("supplements")

    def __str__(self) -> str:
        return self.label


class Reason(models.Model):
    """Why a comp was given (artist, press, promoter, staff, VIP...): admin-managed."""

    label = models.CharField(max_length=100, unique=True, verbose_name=_("label"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    is_active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        ordering = ["position", "label"]
        verbose_name = _("reason")
        verbose_name_plural = _("reasons")

    def __str__(self) -> str:
        return self.label


# --- The issuing ledger ------------------------------------------------------------------------


class LineState(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
    PENDING = "pending", _("Queued")
    SENDING = "sending", _("Sending")
    CONFIRMED = "confirmed", _("Issued")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Checking with Fourvenues")
    REJECTED = "rejected", _("Rejected")


class FailureCause(models.TextChoices):
    """Why a line failed: what the issuer is told to do differs (fix the key, fix the holder)."""

    NONE = "", _("—")
    CREDENTIAL = "credential", _("The Fourvenues credential was refused")
    REFUSED = "refused", _("Fourvenues refused the ticket")
    NOT_CREATED = "not_created", _("Fourvenues has no such ticket")
    NOT_SENT = "not_sent", _("Not sent: the request could not be built")
    GAVE_UP = "gave_up", _("Fourvenues stayed unavailable")
    # While the line is looked up (unknown), not once failed: our code in use means an earlier
    # send created it, so the resolver must not say "not created" if it cannot find it.
    QR_CODE_TAKEN = "qr_code_taken", _("Fourvenues says its QR code is already in use")


class IssuanceStatus(models.TextChoices):
    """Derived from the lines (`services.ledger.derive_status`); stored for lists and filters."""

    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    IN_PROGRESS = "in_progress", _("In progress")
    CHECKING = "checking", _("Checking with Fourvenues")
    COMPLETED = "completed", _("Completed")
    PARTIAL = "partial", _("Completed with failures")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")


class DeliveryMode(models.TextChoices):
    """How an issuance's tickets reach their guests (chosen per issuance)."""

    COMPS = "comps", _("Comps e-mails each guest their ticket")
    FOURVENUES = "fourvenues", _("Fourvenues e-mails the tickets")
    HAND_OUT = "hand_out", _("Hand out: nothing is sent")


class Issuance(models.Model):
    """One submission of the issuing form: the unit a double click must not duplicate."""

    # Minted when the form is first rendered; a resubmitted page finds the same row.
    idempotency_key = models.UUIDField(unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="issuances"
    )
    credential = models.ForeignKey(Credential, on_delete=models.PROTECT, related_name="issuances")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="issuances")
    rate = models.ForeignKey(Rate, on_delete=models.PROTECT, related_name="issuances")
    price_option = models.ForeignKey(
        PriceOption, on_delete=models.PROTECT, related_name="issuances"
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="issuances"
    )
    promoter = models.ForeignKey(
        Promoter, null=True, blank=True, on_delete=models.PROTECT, related_name="issuances"
    )
    sale_type = models.CharField(max_length=30)
    reason = models.ForeignKey(Reason, on_delete=models.PROTECT, related_name="issuances")
    note = models.TextField(blank=True)
    # Set when a manager issued after the event's cut-off: why (the override is audited too).
    cut_off_override_reason = models.CharField(max_length=300, blank=True)
    delivery_mode = models.CharField(
        max_length=20, choices=DeliveryMode.choices, default=DeliveryMode.COMPS
    )
    status = models.CharField(
        max_length=20, choices=IssuanceStatus.choices, default=IssuanceStatus.IN_PROGRESS
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__isnull=True) | Q(promoter__isnull=True),
                name="issuance_channel_or_promoter_never_both",
            )
        ]
        indexes = [
            # The sender looks for a key's issuances still sending before each call.
            models.Index(
                fields=["credential"],
                condition=Q(status="in_progress"),
                name="issuance_in_progress",
            ),
            # An issuer's own, newest first (their home page and "My issuances"), without a sort.
            models.Index(
                fields=["created_by", "-created_at", "-id"], name="issuance_by_creator_newest"
            ),
        ]
        permissions = [
            ("issue_comps", "Can issue comps"),
            ("view_all_issuances", "Can see every issuance and ticket"),
            ("refresh_catalogue", "Can refresh the catalogue from Fourvenues"),
        ]

    def __str__(self) -> str:
        return f"Issuance #{self.pk} · {self.event.name}"


class IssuanceLine(models.Model):
    """One ticket holder of an issuance, and where sending their ticket stands."""

    issuance = models.ForeignKey(Issuance, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    full_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=30, blank=True)
    gender = models.CharField(max_length=20, blank=True)
    birthday = models.DateField(null=True, blank=True)
    address = models.CharField(max_length=300, blank=True)
    country = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    document_type = models.CharField(max_length=30, blank=True)
    document_number = EncryptedTextField(blank=True)
    # A keyed hash of the normalised number: exact-match search without storing it readably.
    document_digest = models.CharField(max_length=64, blank=True, db_index=True)
    supplements = models.JSONField(default=list, blank=True)  # [{supplement_id, label, price}]
    total_price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    fee = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    # Our own code sent as `qr_code`, so the resolver can find the ticket for certain.
    qr_code = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The language of the guest's messages and page (blank: the venue's, LANGUAGE_CODE).
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True)
    # Why Comps sends this holder nothing although the issuance sends (no address that can
    # receive mail): staff hand the ticket out. Stored in English, translated where shown.
    hand_out_reason = models.CharField(max_length=200, blank=True)

    state = models.CharField(max_length=20, choices=LineState.choices, default=LineState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    failure_cause = models.CharField(
        max_length=20, choices=FailureCause.choices, default=FailureCause.NONE, blank=True
    )
    batch_id = models.UUIDField(null=True, blank=True, db_index=True)  # lines sent in one call
    # Put back after a 429 or an outage: not sent again before this moment (backing off).
    send_after = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    resolve_attempts = models.PositiveSmallIntegerField(default=0)
    next_resolve_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)  # personal data removed

    class Meta:
        ordering = ["issuance", "position"]
        constraints = [
            models.UniqueConstraint(fields=["issuance", "position"], name="line_position_unique")
        ]
        indexes = [
            # The lines still in play by state (to retry, to resolve, awaiting approval): a
            # handful among a million confirmed ones, which never enter this index.
            models.Index(
                fields=["state", "issuance"],
                condition=~Q(state=LineState.CONFIRMED),
                name="line_unfinished_by_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"


# --- The mirror of remote tickets ---------------------------------------------------------------


class IssuedTicket(models.Model):
    """A ticket as Fourvenues holds it: every field of the response, and the raw JSON too."""

    environment = models.CharField(max_length=20, choices=Environment.choices)
    remote_id = models.CharField(max_length=100)
    line = models.OneToOneField(
        IssuanceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="ticket"
    )
    # Who issued it (the creator of its line's issuance; none without a line), so that an
    # issuer's own tickets come from an index of their own, not through every line and issuance
    # they ever made. Kept by the database (triggers, migration 0031) on every insert and every
    # change of `line`, whatever writes the row; what is assigned here is overwritten. SQLite
    # drops a table's triggers when a migration rebuilds it: tests/test_issued_by.py says so.
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # issued_ticket_issuer_text_idx leads with it
    )
    event = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        db_index=False,  # issued_ticket_event_text_idx leads with it
    )
    event_remote_id = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=100, blank=True, db_index=True)
    qr_code = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=30, blank=True)  # the first of `statuses`
    statuses = models.JSONField(default=list, blank=True)
    # None: Fourvenues sent no status, so whether it is valid is unknown (never "activated").
    is_valid = models.BooleanField(default=True, null=True)
    activation_date = models.DateTimeField(null=True, blank=True)
    event_night = models.DateField(null=True, blank=True)
    rate_remote_id = models.CharField(max_length=100, blank=True)
    rate_name = models.CharField(max_length=300, blank=True)
    price_option_remote_id = models.CharField(max_length=100, blank=True)
    # This amount and those below are None when Fourvenues left them out: unknown, never 0.
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0, null=True)
    channel_remote_id = models.CharField(max_length=100, blank=True)
    referral_remote_id = models.CharField(max_length=100, blank=True)
    payment_id = models.CharField(max_length=100, blank=True, db_index=True)
    sale_type = models.CharField(max_length=30, blank=True)
    name = models.CharField(max_length=300, blank=True)
    email = models.CharField(max_length=300, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    gender = models.CharField(max_length=20, blank=True)
    address = models.CharField(max_length=300, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=10, blank=True)
    language = models.CharField(max_length=10, blank=True)
    admits = models.PositiveSmallIntegerField(default=1)
    entered = models.PositiveSmallIntegerField(default=0)
    entry_date = models.DateTimeField(null=True, blank=True)
    refunded = models.DecimalField(max_digits=10, decimal_places=2, default=0, null=True)
    total_extras = models.DecimalField(max_digits=10, decimal_places=2, default=0, null=True)
    total_fees = models.DecimalField(max_digits=10, decimal_places=2, default=0, null=True)
    total_paid = models.DecimalField(max_digits=10, decimal_places=2, default=0, null=True)
    invoice_reference = models.CharField(max_length=100, blank=True)
    remote_created_at = models.DateTimeField(null=True, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    # When Comps issued it (its issuance's creation), else when Fourvenues created it: copied
    # here so that the search and exports sort on an index of this table, not through joins.
    issued_at = models.DateTimeField(null=True, blank=True)
    # Set when a manager adopted a ticket found on Fourvenues that Comps had no record of.
    adopted_at = models.DateTimeField(null=True, blank=True)
    # Set when a withdrawal of this ticket was confirmed (by the refund call's answer, a lookup,
    # or reconciliation seeing it cancelled): it shows as withdrawn everywhere and admits no one.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Set when the holder's personal data was removed (services.purge): what counts survives.
    purged_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict)
    # Name, email, phone digits, codes and ids, folded (lowercase, no accents): what the search
    # box matches, through a trigram index on PostgreSQL (migration 0006).
    search_text = models.TextField(blank=True)
    mirrored_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-remote_created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "remote_id"], name="issued_ticket_remote_unique"
            )
        ]
        indexes = [
            # With the search text alongside, a text search in issue order (deep pages too)
            # reads the index alone on PostgreSQL. SQLite leaves the included column out
            # (check models.W040, silenced in settings) and keeps the sort.
            models.Index(
                fields=["issued_at", "id"],
                name="issued_ticket_issued_idx",
                include=["search_text"],
            ),
            # The newest tickets of one event (the commonest filter) without a sort, and with
            # the search text, an event's text search from the index alone. It serves every
            # lookup by event, so the foreign key has no index of its own.
            models.Index(
                fields=["event", "issued_at", "id"],
                name="issued_ticket_event_text_idx",
                include=["search_text"],
            ),
            # An issuer's own tickets, newest first, with the search text: their search (and its
            # bounded count) reads this index alone.
            models.Index(
                fields=["issued_by", "issued_at", "id"],
                name="issued_ticket_issuer_text_idx",
                include=["search_text"],
            ),
        ]
        permissions = [
            ("view_document_numbers", "Can see holders' full document numbers (audited)"),
        ]

    def __str__(self) -> str:
        return f"{self.code or self.remote_id} · {self.name}"


class TicketSupplement(models.Model):
    ticket = models.ForeignKey(IssuedTicket, on_delete=models.CASCADE, related_name="supplements")
    remote_id = models.CharField(max_length=100, blank=True)
    label = models.CharField(max_length=300, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    product_quantity = models.PositiveIntegerField(null=True, blank=True)
    product_quantity_used = models.PositiveIntegerField(null=True, blank=True)
    raw = models.JSONField(default=dict)

    def __str__(self) -> str:
        return self.label or self.remote_id


class SavedSearch(models.Model):
    """A ticket search a user named and kept: the query string of the search page."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=100)
    query = models.TextField(blank=True)  # the URL's query string, filters and columns included
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_search_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


# --- Reconciliation with Fourvenues -------------------------------------------------------------


class RunTrigger(models.TextChoices):
    UI = "ui", _("Started from the page")
    COMMAND = "command", _("manage.py reconcile")
    SCHEDULE = "schedule", _("Schedule")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ReconciliationRun(models.Model):
    """One comparison of an event's tickets on Fourvenues with the local mirror."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="reconciliation_runs")
    credential = models.ForeignKey(
        Credential, on_delete=models.PROTECT, related_name="reconciliation_runs"
    )
    trigger = models.CharField(max_length=20, choices=RunTrigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reconciliation_runs",
    )
    full = models.BooleanField(help_text="Every ticket of the event, not only recent changes.")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # Incremental runs ask for tickets updated since this (the previous run's newest update).
    since = models.DateTimeField(null=True, blank=True)
    high_water_mark = models.DateTimeField(null=True, blank=True)
    remote_tickets = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    missing_remotely = models.PositiveIntegerField(default=0)
    unknown_locally = models.PositiveIntegerField(default=0)
    drift = models.PositiveIntegerField(default=0)
    lines_settled = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two runs of one event never overlap: their comparisons would race.
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(status__in=["queued", "running"]),
                name="one_open_reconciliation_per_event",
            )
        ]
        permissions = [("reconcile_tickets", "Can reconcile tickets with Fourvenues")]

    def __str__(self) -> str:
        return f"Reconciliation #{self.pk} · {self.event}"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class DiscrepancyKind(models.TextChoices):
    MISSING_REMOTELY = "missing_remotely", _("Missing on Fourvenues")
    UNKNOWN_LOCALLY = "unknown_locally", _("Unknown here")
    DRIFT = "drift", _("Holder differs")


class DiscrepancyState(models.TextChoices):
    OPEN = "open", _("Open")
    ADOPTED = "adopted", _("Adopted")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved on re-check")


class Discrepancy(models.Model):
    """A difference a reconciliation found, for a manager to adopt, acknowledge or re-check."""

    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="discrepancies"
    )  # the run that last saw it
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="discrepancies")
    environment = models.CharField(max_length=20, choices=Environment.choices)
    ticket = models.ForeignKey(
        IssuedTicket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="discrepancies",
    )
    remote_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=DiscrepancyKind.choices)
    # {field: {"local": ..., "remote": ...}} for drift; why it looks like ours for unknown ones.
    details = models.JSONField(default=dict, blank=True)
    remote_snapshot = models.JSONField(default=dict, blank=True)  # redacted: documents masked
    state = models.CharField(
        max_length=20, choices=DiscrepancyState.choices, default=DiscrepancyState.OPEN
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="settled_discrepancies",
    )
    settled_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        verbose_name_plural = "discrepancies"
        constraints = [
            # A later run updates the open row instead of adding a second one.
            models.UniqueConstraint(
                fields=["environment", "remote_id", "kind"],
                condition=Q(state="open"),
                name="one_open_discrepancy_per_ticket_and_kind",
            )
        ]
        indexes = [models.Index(fields=["event", "state"], name="discrepancy_event_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.remote_id}"


class TicketChange(models.Model):
    """A change Fourvenues made to a mirrored ticket (check-in, refund, cancellation...), as a
    reconciliation saw it. Written in bulk: a run may change thousands of tickets."""

    ticket = models.ForeignKey(IssuedTicket, on_delete=models.CASCADE, related_name="changes")
    run = models.ForeignKey(
        ReconciliationRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_changes",
    )
    field = models.CharField(max_length=50)
    old = models.CharField(max_length=300, blank=True)
    new = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old} → {self.new}"


# --- People's preferences ------------------------------------------------------------------------


class UserPreferences(models.Model):
    """What the product remembers about one person: the language they chose, and their last
    issuing choices, which the next issuing form starts from."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="preferences",
    )
    # Blank: no choice made, the browser's languages decide.
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True)
    last_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_rate = models.ForeignKey(
        Rate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_price_option = models.ForeignKey(
        PriceOption, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_reason = models.ForeignKey(
        Reason, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_promoter = models.ForeignKey(
        Promoter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


# --- Delivery to guests -------------------------------------------------------------------------


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WHATSAPP = "whatsapp", _("WhatsApp")


class DeliveryState(models.TextChoices):
    # In context: a message (Spanish "enviado", masculine) is not a ticket ("emitida").
    QUEUED = "queued", pgettext_lazy("delivery state", "Queued")
    SENDING = "sending", pgettext_lazy("delivery state", "Sending")
    SENT = "sent", pgettext_lazy("delivery state", "Sent")
    FAILED = "failed", pgettext_lazy("delivery state", "Failed")
    BOUNCED = "bounced", pgettext_lazy("delivery state", "Bounced")
    OPENED = "opened", pgettext_lazy("delivery state", "Opened")


class DeliveryKind(models.TextChoices):
    TICKET = "ticket", _("The ticket")
    WITHDRAWN = "withdrawn", _("Notice that the comp was withdrawn")


class Delivery(models.Model):
    """One message carrying one ticket to its guest, on one channel: the delivery ledger.

    Written in the transaction that confirms the ticket (or by a deliberate resend) and sent by
    the worker: `queued -> sending -> sent | failed`, `sending -> queued` when the mail server
    provably did not take it (retried with backoff); `sent -> bounced | opened` from the mail
    provider's webhooks. A message is claimed (`sending`, committed) before it is handed to the
    mail server and marked `sent` as soon as the server accepts it, so no path sends it twice.
    """

    ticket = models.ForeignKey(IssuedTicket, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20, choices=DeliveryChannel.choices)
    # What the message says: the ticket itself, or that it was withdrawn (no QR, no PDF).
    kind = models.CharField(
        max_length=20, choices=DeliveryKind.choices, default=DeliveryKind.TICKET
    )
    state = models.CharField(
        max_length=20, choices=DeliveryState.choices, default=DeliveryState.QUEUED
    )
    # The address or phone it went to (personal data: the purge removes it with the ticket's).
    recipient = models.CharField(max_length=254)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    # Null for the one sent when the ticket was confirmed; the person who asked, for a resend
    # or a WhatsApp message.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_resend = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    send_after = models.DateTimeField(null=True, blank=True)  # backing off after a refusal
    last_error = models.CharField(max_length=500, blank=True)
    # Our Message-ID, or the provider's id once it answered: how webhooks find the delivery.
    message_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "created_at", "id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            # The automatic message is written once per ticket, whichever path confirms it.
            models.UniqueConstraint(
                fields=["ticket", "channel", "kind"],
                condition=Q(is_resend=False, requested_by__isnull=True),
                name="delivery_one_automatic_per_ticket",
            )
        ]
        indexes = [
            models.Index(
                fields=["send_after"],
                condition=Q(state="queued"),
                name="delivery_queued",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.get_state_display()}"


class GuestPage(models.Model):
    """A ticket's private page for its guest: reached by a signed link carrying `key`, no
    login; counts its openings."""

    ticket = models.OneToOneField(IssuedTicket, on_delete=models.CASCADE, related_name="guest_page")
    key = models.CharField(max_length=43, unique=True)  # secrets.token_urlsafe(32)
    created_at = models.DateTimeField(auto_now_add=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    opens = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("guest page")
        verbose_name_plural = _("guest pages")

    def __str__(self) -> str:
        return f"Guest page of ticket {self.ticket_id}"


# --- Managers in control: allowances, approvals, cut-offs, withdrawals -------------------------


class IssuerGroup(models.Model):
    """Issuers a manager treats together: one allowance for the whole team, approval on or off."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="issuer_groups",
        verbose_name=_("members"),
    )
    # People find approval "too much work" where it is not needed: off, the group's issuances
    # over an allowance are refused instead of waiting for a manager.
    approval_required = models.BooleanField(
        default=True,
        verbose_name=_("over an allowance, ask a manager"),
        help_text=_(
            "Off: issuances over an allowance are refused instead of waiting for approval."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("group of issuers")
        verbose_name_plural = _("groups of issuers")

    def __str__(self) -> str:
        return self.name


class AllowancePeriod(models.TextChoices):
    EVENT = "event", _("For the event")  # every night of the event (or each event, unscoped)
    NIGHT = "night", _("Per night")
    WEEK = "week", _("Per week")


class Allowance(models.Model):
    """How many people (and, optionally, how much face value) one issuer, one promoter or one
    group of issuers may give comps to: for an event, a rate of it, or every event in a period.

    Counted in people admitted (Fourvenues' `for`): a line counts its ticket's `admits` once
    mirrored, one person before. Lines pending, sending, unknown or issued count; failed,
    rejected and withdrawn ones give their places back.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="allowances",
        verbose_name=_("issuer"),
    )
    promoter = models.ForeignKey(
        Promoter,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="allowances",
        verbose_name=_("promoter"),
    )
    issuer_group = models.ForeignKey(
        IssuerGroup,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="allowances",
        verbose_name=_("group of issuers"),
    )
    event = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="allowances",
        verbose_name=_("event"),
    )
    rate = models.ForeignKey(
        Rate,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="allowances",
        verbose_name=_("rate"),
    )
    period = models.CharField(
        max_length=10,
        choices=AllowancePeriod.choices,
        default=AllowancePeriod.EVENT,
        verbose_name=_("period"),
    )
    people = models.PositiveIntegerField(verbose_name=_("people"))
    face_value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        verbose_name=_("face value"),
        help_text=_("Optional: the most the comps may be worth at the rate's price."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("allowance")
        verbose_name_plural = _("allowances")
        constraints = [
            models.CheckConstraint(
                name="allowance_exactly_one_holder",
                condition=(
                    Q(user__isnull=False, promoter__isnull=True, issuer_group__isnull=True)
                    | Q(user__isnull=True, promoter__isnull=False, issuer_group__isnull=True)
                    | Q(user__isnull=True, promoter__isnull=True, issuer_group__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="allowance_rate_needs_its_event",
                condition=Q(rate__isnull=True) | Q(event__isnull=False),
            ),
            models.CheckConstraint(
                name="allowance_period_valid", condition=Q(period__in=AllowancePeriod.values)
            ),
        ]
        permissions = [
            ("manage_allowances", "Can set allowances, cut-offs and approval rules"),
            ("approve_issuances", "Can approve or reject comps that need approval"),
            ("withdraw_tickets", "Can withdraw any issued comp"),
            ("purge_personal_data", "Can see and purge holders' personal data"),
        ]

    def __str__(self) -> str:
        return f"Allowance #{self.pk}: {self.people}"


class VenuePolicy(models.Model):
    """The venue-wide rules managers set (one row, pk 1; absent means the defaults)."""

    # An issuance with more holders than this waits for approval even within the allowances.
    approval_over_size = models.PositiveIntegerField(
        null=True,
        blank=True,
        verbose_name=_("ask for approval above this many holders"),
        help_text=_("Empty: only allowances decide."),
    )
    # How long after issuing an issuer may withdraw their own comp; 0: only managers may.
    issuer_withdrawal_minutes = models.PositiveIntegerField(
        default=0,
        verbose_name=_("issuers may withdraw their own comps for (minutes)"),
        help_text=_("0: only managers withdraw comps."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("venue rules")
        verbose_name_plural = _("venue rules")

    def __str__(self) -> str:
        return "Venue rules"


class EventPolicy(models.Model):
    """What managers set for one event, and what was done for it, apart from the catalogue
    mirror (which a refresh rewrites)."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="policy")
    # Empty: the event's doors opening (`Event.starts_at`), else the end of its night.
    cut_off_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=_("no issuing after"),
        help_text=_("Empty: when the doors open."),
    )
    approval_required = models.BooleanField(
        default=True,
        verbose_name=_("over an allowance, ask a manager"),
        help_text=_(
            "Off: issuances over an allowance are refused instead of waiting for approval."
        ),
    )
    approval_over_size = models.PositiveIntegerField(
        null=True,
        blank=True,
        verbose_name=_("ask for approval above this many holders"),
        help_text=_("Empty: the venue's rule."),
    )
    summary_sent_at = models.DateTimeField(null=True, blank=True)  # the morning-after summary
    purged_at = models.DateTimeField(null=True, blank=True)  # holders' personal data removed
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("event rules")
        verbose_name_plural = _("event rules")

    def __str__(self) -> str:
        return f"Rules of event {self.event_id}"


class ApprovalState(models.TextChoices):
    REQUESTED = "requested", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ApprovalRequest(models.Model):
    """An issuance that waits for a manager (over an allowance, or over the size set): its lines
    are `pending_approval` until someone other than the requester approves or rejects it."""

    issuance = models.OneToOneField(
        Issuance, on_delete=models.CASCADE, related_name="approval_request"
    )
    # Why it waits, as data the page words in the reader's language:
    # [{"kind": "allowance"|"size", "allowance": id, "people_left": n, "asked": n, ...}]
    grounds = models.JSONField(default=list, blank=True)
    state = models.CharField(
        max_length=20, choices=ApprovalState.choices, default=ApprovalState.REQUESTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(state="requested"), name="approval_waiting"
            )
        ]

    def __str__(self) -> str:
        return f"Approval of issuance {self.issuance_id}: {self.state}"


class WithdrawalMethod(models.TextChoices):
    API = "api", _("Through the Fourvenues API")
    DASHBOARD = "dashboard", _("In the Fourvenues dashboard")


class WithdrawalState(models.TextChoices):
    # Through the API: pending -> sending -> withdrawn | failed | unknown; unknown -> withdrawn |
    # failed (looked up, never resent blindly). In the dashboard: awaiting_dashboard ->
    # withdrawn when reconciliation sees the ticket cancelled.
    PENDING = "pending", pgettext_lazy("withdrawal state", "Queued")
    SENDING = "sending", pgettext_lazy("withdrawal state", "Sending")
    AWAITING_DASHBOARD = "awaiting_dashboard", _("To do in the Fourvenues dashboard")
    UNKNOWN = "unknown", pgettext_lazy("withdrawal state", "Checking with Fourvenues")
    WITHDRAWN = "withdrawn", pgettext_lazy("withdrawal state", "Withdrawn")
    FAILED = "failed", pgettext_lazy("withdrawal state", "Failed")


class Withdrawal(models.Model):
    """Taking back one issued comp: a call that changes Fourvenues, so a ledger of its own,
    written and committed before the call and never repeated blindly (like a create)."""

    ticket = models.OneToOneField(IssuedTicket, on_delete=models.CASCADE, related_name="withdrawal")
    credential = models.ForeignKey(Credential, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=20, choices=WithdrawalMethod.choices)
    state = models.CharField(max_length=20, choices=WithdrawalState.choices)
    reason = models.CharField(max_length=300)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        constraints = [
            models.CheckConstraint(
                name="withdrawal_state_valid", condition=Q(state__in=WithdrawalState.values)
            )
        ]

    def __str__(self) -> str:
        return f"Withdrawal of ticket {self.ticket_id}: {self.state}"


# --- Exports prepared in the background ------------------------------------------------------


class ExportJobState(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("export state", "Queued")
    RUNNING = "running", pgettext_lazy("export state", "Being prepared")
    READY = "ready", pgettext_lazy("export state", "Ready")
    FAILED = "failed", pgettext_lazy("export state", "Failed")
    EXPIRED = "expired", pgettext_lazy("export state", "Expired")


class ExportJob(models.Model):
    """An export of the ticket search too large to build while the person waits: built by the
    worker (`services.export_jobs`) into a private file, offered to its owner only, deleted once
    fetched or after COMPS_EXPORT_TTL_HOURS.

    `filters` is the search as the worker re-runs it; a document number is only there as its
    keyed digest (the same guarantee as saved searches), and it is emptied once the job ends.
    `logged_filter` is the masked form the audit log and the pages show."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    format = models.CharField(max_length=10)
    filters = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list)
    logged_filter = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10, blank=True)
    state = models.CharField(
        max_length=10, choices=ExportJobState.choices, default=ExportJobState.QUEUED
    )
    task_id = models.CharField(max_length=64, blank=True)  # the DBTaskResult building it
    row_count = models.PositiveIntegerField(null=True, blank=True)
    # A random name inside COMPS_EXPORT_DIR: nothing of the search, nothing of the person.
    file_name = models.CharField(max_length=80, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["owner", "-created_at"], name="export_job_owner_recent")]
        constraints = [
            models.CheckConstraint(
                name="export_job_state_valid", condition=Q(state__in=ExportJobState.values)
            )
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.format}): {self.state}"
