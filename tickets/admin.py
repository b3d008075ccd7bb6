"""Django admin: the local lists admins keep (supplements, reasons), Fourvenues credentials until
the in-app credential pages exist, and read-only views of the mirror and the logs.

Anything staff change here is written to the audit log like any other action. The mirrored
catalogue, the record of API calls and the audit log are read-only: the first belongs to
Fourvenues (refresh it instead), the other two are history.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from tickets import selectors
from tickets.models import (
    ApiCall,
    AuditEntry,
    AuthScheme,
    Channel,
    Credential,
    Event,
    PriceOption,
    Promoter,
    Rate,
    Reason,
    Supplement,
)
from tickets.services import audit

# --------------------------------------------------------------------------------------------
# Shared
# --------------------------------------------------------------------------------------------


class AuditedAdmin(admin.ModelAdmin):
    """Writes `<prefix>.created|changed|deleted` to the audit log for every save and delete.

    Only field names are recorded, never values, so a secret typed into a form cannot reach the
    log through here.
    """

    audit_prefix: str = ""

    def _audit(self, request: HttpRequest, action: str, obj: Model, data: dict[str, Any]) -> None:
        audit.record(
            action=f"{self.audit_prefix}.{action}",
            actor=request.user,
            target=str(obj),
            data=data,
            request=request,
        )

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        data = {"id": obj.pk, "changed": sorted(form.changed_data), **self.audit_data(obj)}
        self._audit(request, "changed" if change else "created", obj, data)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        target, pk = str(obj), obj.pk
        super().delete_model(request, obj)
        audit.record(
            action=f"{self.audit_prefix}.deleted",
            actor=request.user,
            target=target,
            data={"id": pk},
            request=request,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        deleted = [(str(obj), obj.pk) for obj in queryset]
        super().delete_queryset(request, queryset)
        for target, pk in deleted:
            audit.record(
                action=f"{self.audit_prefix}.deleted",
                actor=request.user,
                target=target,
                data={"id": pk},
                request=request,
            )

    def audit_data(self, obj: Any) -> dict[str, Any]:
        """Extra, non-secret facts worth keeping with the entry."""
        return {}


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never added, changed or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MirrorAdmin(ReadOnlyAdmin):
    """The catalogue mirror. Whoever may refresh it may look at it, without a separate grant."""

    list_filter: tuple[str, ...] = ("environment", "is_listed")
    readonly_fields = ("raw",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "tickets.refresh_catalogue"
        )


# --------------------------------------------------------------------------------------------
# Supplements and reasons: the local lists admins keep
# --------------------------------------------------------------------------------------------

_RATE_NAME_SEPARATORS = re.compile(r"[,\n\r]+")


class SupplementAdminForm(forms.ModelForm):
    rate_names = forms.CharField(
        label="Rates",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "The names of the rates this supplement may be added to, exactly as Fourvenues "
            "names them (e.g. “VIP”), separated by commas or one per line. Leave it empty for "
            "every rate."
        ),
    )

    class Meta:
        model = Supplement
        fields = ["supplement_id", "label", "default_price", "rate_names", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.initial.get("rate_names")
        if isinstance(stored, list):
            self.initial["rate_names"] = "\n".join(stored)

    def clean_rate_names(self) -> list[str]:
        names: list[str] = []
        for part in _RATE_NAME_SEPARATORS.split(self.cleaned_data.get("rate_names") or ""):
            name = " ".join(part.split())  # stray spaces would make a name never match
            if name and name not in names:
                names.append(name)
        return names


@admin.register(Supplement)
class SupplementAdmin(AuditedAdmin):
    audit_prefix = "supplement"
    form = SupplementAdminForm
    list_display = ("supplement_id", "label", "default_price", "rates", "is_active")
    list_filter = ("is_active",)
    search_fields = ("supplement_id", "label")

    @admin.display(description="Rates")
    def rates(self, obj: Supplement) -> str:
        return ", ".join(obj.rate_names) if obj.rate_names else "Every rate"

    def audit_data(self, obj: Supplement) -> dict[str, Any]:
        return {
            "supplement_id": obj.supplement_id,
            "default_price": str(obj.default_price),
            "rate_names": obj.rate_names,
            "is_active": obj.is_active,
        }


@admin.register(Reason)
class ReasonAdmin(AuditedAdmin):
    audit_prefix = "reason"
    list_display = ("label", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("is_active",)
    search_fields = ("label",)

    def audit_data(self, obj: Reason) -> dict[str, Any]:
        return {"position": obj.position, "is_active": obj.is_active}


# --------------------------------------------------------------------------------------------
# Credentials (interim: the in-app pages come later)
# --------------------------------------------------------------------------------------------

SECRET_FIELDS = ("api_key", "integration_id", "secret")
_SCHEME_SECRETS = {
    AuthScheme.API_KEY: ("api_key",),
    AuthScheme.LEGACY: ("integration_id", "secret"),
}


def _secret_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        # render_value=False: a stored secret is never sent back to the browser, not even
        # masked in a value attribute that "view source" would show.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class CredentialAdminForm(forms.ModelForm):
    base_url_override = forms.URLField(
        label="Base URL",
        required=False,
        max_length=300,
        assume_scheme="https",
        help_text=(
            "Leave blank for the environment's documented address; set it only to point at the "
            "sandbox."
        ),
    )
    api_key = _secret_field("API key")
    integration_id = _secret_field("Integration id")
    secret = _secret_field("Secret")

    class Meta:
        model = Credential
        fields = [
            "name",
            "environment",
            "base_url_override",
            "auth_scheme",
            "api_key",
            "integration_id",
            "secret",
            "expires_on",
            "notes",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            # Out of `initial` so that no widget, hidden field or change detection sees them.
            self.initial.pop(name, None)
            stored = bool(self.instance.pk and getattr(self.instance, name))
            self.fields[name].help_text = (
                "A value is stored. It is never shown; leave this blank to keep it."
                if stored
                else "Nothing stored yet."
            )

    def _keep_stored(self, name: str) -> str:
        typed = self.cleaned_data.get(name) or ""
        if typed:
            return typed
        return getattr(self.instance, name) if self.instance.pk else ""

    def clean_api_key(self) -> str:
        return self._keep_stored("api_key")

    def clean_integration_id(self) -> str:
        return self._keep_stored("integration_id")

    def clean_secret(self) -> str:
        return self._keep_stored("secret")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        scheme = cleaned.get("auth_scheme")
        needed = _SCHEME_SECRETS.get(scheme, ())
        for name in needed:
            if not cleaned.get(name):
                self.add_error(name, "Required for this authentication scheme.")
        # Keep only the secrets the scheme uses, as registering a credential does: a stale key
        # of the other scheme is one more secret to leak and nobody would think to rotate it.
        for name in SECRET_FIELDS:
            if scheme and name not in needed:
                cleaned[name] = ""
        environment = cleaned.get("environment")
        if cleaned.get("is_active") and environment:
            active = selectors.active_credential(environment=environment)
            if active is not None and active.pk != self.instance.pk:
                self.add_error(
                    "is_active",
                    f"“{active.name}” is the active credential for this environment, and only "
                    "one can be. Untick “is active” here, or deactivate that one first.",
                )
        return cleaned


@admin.register(Credential)
class CredentialAdmin(AuditedAdmin):
    audit_prefix = "credential"
    form = CredentialAdminForm
    list_display = (
        "name",
        "environment",
        "auth_scheme",
        "secret_hint",
        "is_active",
        "expires_on",
        "last_verified_at",
        "last_used_at",
    )
    list_filter = ("environment", "is_active", "auth_scheme")
    search_fields = ("name",)
    readonly_fields = ("last_verified_at", "last_used_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "environment", "base_url_override", "is_active")}),
        (
            "Authentication",
            {
                "fields": ("auth_scheme", "api_key", "integration_id", "secret"),
                "description": (
                    "Secrets are write-only: type a new value to replace the stored one, or "
                    "leave the field blank to keep it."
                ),
            },
        ),
        (None, {"fields": ("expires_on", "notes")}),
        (None, {"fields": readonly_fields}),
    )

    def audit_data(self, obj: Credential) -> dict[str, Any]:
        return {
            "environment": obj.environment,
            "auth_scheme": obj.auth_scheme,
            "base_url": obj.base_url,
            "is_active": obj.is_active,
        }

    def save_model(
        self, request: HttpRequest, obj: Credential, form: forms.ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if change and set(form.changed_data) & {"api_key", "integration_id", "secret"}:
            messages.info(
                request, "The new secret is stored. Check the connection before issuing with it."
            )


# --------------------------------------------------------------------------------------------
# Read-only: the catalogue mirror and the logs
# --------------------------------------------------------------------------------------------


@admin.register(Event)
class EventAdmin(MirrorAdmin):
    list_display = ("name", "night", "starts_at", "environment", "active", "visible", "is_listed")
    list_filter = ("environment", "is_listed", "active", "visible")
    search_fields = ("name", "slug", "remote_id")
    date_hierarchy = "night"


@admin.register(Rate)
class RateAdmin(MirrorAdmin):
    list_display = ("name", "event", "position", "environment", "is_listed")
    list_select_related = ("event",)
    search_fields = ("name", "remote_id", "event__name")


@admin.register(PriceOption)
class PriceOptionAdmin(MirrorAdmin):
    list_display = ("__str__", "rate", "event", "price", "max_quantity", "is_listed")
    list_select_related = ("rate__event",)
    search_fields = ("remote_id", "rate__name", "rate__event__name")

    @admin.display(description="Event", ordering="rate__event__night")
    def event(self, obj: PriceOption) -> Event:
        return obj.rate.event


@admin.register(Channel)
class ChannelAdmin(MirrorAdmin):
    list_display = ("name", "slug", "environment", "is_listed", "refreshed_at")
    search_fields = ("name", "slug", "remote_id")


@admin.register(Promoter)
class PromoterAdmin(MirrorAdmin):
    list_display = ("__str__", "email", "environment", "is_listed", "refreshed_at")
    search_fields = ("first_name", "last_name", "email", "remote_id")


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "method", "path", "status", "duration_ms", "attempt", "error")
    list_filter = ("method", "status", "credential")
    list_select_related = ("credential",)
    search_fields = ("path", "error")
    date_hierarchy = "created_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_label", "action", "target", "ip_address")
    list_filter = ("action",)
    search_fields = ("action", "target", "actor_label")
    date_hierarchy = "created_at"
