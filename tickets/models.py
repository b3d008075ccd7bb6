"""The Comps data model.

Only the foundation lives here so far: Fourvenues credentials, the record of every outbound
API call, and the append-only audit log. The issuing ledger and the ticket mirror build on it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from tickets.fields import EncryptedTextField


class Environment(models.TextChoices):
    ALPHA = "alpha", "Alpha (test)"
    PRODUCTION = "production", "Production"


DEFAULT_BASE_URLS: dict[str, str] = {
    Environment.ALPHA: "https://api-alpha.fourvenues.com/integrations",
    Environment.PRODUCTION: "https://api.fourvenues.com/integrations",
}


class AuthScheme(models.TextChoices):
    API_KEY = "api_key", "API key (X-Api-Key, v2)"
    LEGACY = "legacy", "Integration id + secret (v1)"


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

    def __str__(self) -> str:
        return f"{self.name} ({self.get_environment_display()})"

    @property
    def base_url(self) -> str:
        return self.base_url_override or DEFAULT_BASE_URLS[self.environment]

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


class AuditEntry(models.Model):
    """Append-only record of who did what, when and from where.

    Written only through `tickets.services.audit.record`; the model refuses updates and deletes
    so that no code path can rewrite history by accident.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    actor_label = models.CharField(max_length=150, blank=True)  # survives user deletion
    action = models.CharField(
        max_length=100, db_index=True
    )  # dotted code, e.g. "credential.verified"
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AuditLogIsAppendOnly("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")


class AuditLogIsAppendOnly(Exception):
    pass
