"""Django admin: the local lists admins keep (supplements, reasons), and read-only views of the
credentials (managed on the app's credentials pages), the mirror and the logs.

Anything staff change here is written to the audit log like any other action. The mirrored
catalogue, the record of API calls and the audit log are read-only: the first belongs to
Fourvenues (refresh it instead), the other two are history.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tickets import roles
from tickets.models import (
    ApiCall,
    AuditEntry,
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
            target=obj,
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
        target, label = audit.Ref(type(obj), obj.pk), str(obj)
        super().delete_model(request, obj)
        audit.record(
            action=f"{self.audit_prefix}.deleted",
            actor=request.user,
            target=target,
            target_label=label,
            data={"id": target.pk},
            request=request,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        deleted = [(audit.Ref(type(obj), obj.pk), str(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)
        for target, label in deleted:
            audit.record(
                action=f"{self.audit_prefix}.deleted",
                actor=request.user,
                target=target,
                target_label=label,
                data={"id": target.pk},
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
            roles.REFRESH_CATALOGUE
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
# Credentials: managed on the credentials pages (/credentials/); here only to look at, no secret
# --------------------------------------------------------------------------------------------


@admin.register(Credential)
class CredentialAdmin(ReadOnlyAdmin):
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
    # The encrypted fields are left out: a read-only admin field would show the plaintext.
    fields = (
        "name",
        "environment",
        "base_url_override",
        "auth_scheme",
        "secret_hint",
        "is_active",
        "expires_on",
        "notes",
        "last_verified_at",
        "last_used_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields


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


# django-otp's own admin pages would show each person's authenticator secret and recovery codes
# in clear, and let them be changed unaudited: two-factor is managed on the users page instead
# (an admin's reset, audited), and by each person on their own two-factor page.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)
