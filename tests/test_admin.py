import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import CREDENTIAL_API_KEY as API_KEY
from tickets.models import (
    ApiCall,
    AuditEntry,
    Reason,
    Supplement,
)
from tickets.services import audit


def _change_url(obj):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


# --- Credentials: managed on the app's credentials pages; the admin only shows them ----------


@pytest.mark.django_db
def test_the_credential_admin_shows_only_the_secret_hint_and_changes_nothing(
    admin_client, credential
):
    change = admin_client.get(_change_url(credential))
    listing = admin_client.get(reverse("admin:tickets_credential_changelist"))
    assert change.status_code == listing.status_code == 200
    for page in (change.content.decode(), listing.content.decode()):
        assert API_KEY not in page
        assert API_KEY[:12] not in page
        assert credential.secret_hint in page  # the last four characters only
    assert admin_client.post(_change_url(credential), {"name": "x"}).status_code == 403
    assert admin_client.get(reverse("admin:tickets_credential_add")).status_code == 403
    credential.refresh_from_db()
    assert credential.name == "Production key"


@pytest.mark.django_db
def test_managers_cannot_open_the_credential_admin(client, credential):
    client.force_login(factories.manager(is_staff=True))
    assert client.get(_change_url(credential)).status_code == 403


# --- Logs and the mirror are read-only ----------------------------------------------------------


@pytest.mark.django_db
def test_audit_entries_and_api_calls_can_be_read_but_never_edited(admin_client):
    entry = audit.record(action="catalogue.refreshed", data={"events": 3})
    call = ApiCall.objects.create(method="GET", path="/channels/", status=200, duration_ms=12)
    for obj in (entry, call):
        meta = obj._meta
        change_url = _change_url(obj)
        page = admin_client.get(change_url)
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert admin_client.post(change_url, {"action": "x", "_save": "Save"}).status_code == 403
        assert admin_client.get(reverse(f"admin:tickets_{meta.model_name}_add")).status_code == 403
        delete_url = reverse(f"admin:tickets_{meta.model_name}_delete", args=[obj.pk])
        assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.action == "catalogue.refreshed"
    assert ApiCall.objects.filter(pk=call.pk).exists()


@pytest.mark.django_db
def test_admins_can_browse_the_mirror_but_not_change_it(admin_client):
    option = factories.PriceOptionFactory()
    event = option.rate.event
    assert admin_client.get(reverse("admin:tickets_event_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:tickets_priceoption_changelist")).status_code == 200
    page = admin_client.get(_change_url(event))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get(reverse("admin:tickets_event_add")).status_code == 403


# --- Supplements and reasons ---------------------------------------------------------------------


@pytest.mark.django_db
def test_supplement_rates_are_typed_as_text_and_stored_as_a_list(admin_client):
    response = admin_client.post(
        reverse("admin:tickets_supplement_add"),
        {
            "supplement_id": "1712861139741",
            "label": "Botella de cava",
            "default_price": "45.00",
            "rate_names": "VIP,  Backstage\nGuest   list\n\nVIP",
            "is_active": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()
    supplement = Supplement.objects.get()
    assert supplement.rate_names == ["VIP", "Backstage", "Guest list"]
    assert AuditEntry.objects.get(action="supplement.created").data["rate_names"] == [
        "VIP",
        "Backstage",
        "Guest list",
    ]

    change = admin_client.get(_change_url(supplement)).content.decode()
    assert "VIP\nBackstage\nGuest list</textarea>" in change
    listing = admin_client.get(reverse("admin:tickets_supplement_changelist")).content.decode()
    assert "VIP, Backstage, Guest list" in listing


@pytest.mark.django_db
def test_a_supplement_without_rates_applies_to_every_rate(admin_client):
    factories.SupplementFactory(label="Guardarropa", rate_names=[])
    listing = admin_client.get(reverse("admin:tickets_supplement_changelist")).content.decode()
    assert "Every rate" in listing


@pytest.mark.django_db
def test_reasons_are_reordered_and_switched_off_from_the_list(admin_client):
    reasons = list(Reason.objects.order_by("pk"))
    press, staff = reasons[1], reasons[3]
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(press.pk),
        "form-0-position": "40",
        "form-1-id": str(staff.pk),
        "form-1-position": "0",
        "form-1-is_active": "on",
        "_save": "Save",
    }
    response = admin_client.post(reverse("admin:tickets_reason_changelist"), data)
    assert response.status_code == 302, response.content.decode()
    press.refresh_from_db()
    staff.refresh_from_db()
    assert (press.position, press.is_active) == (40, False)
    assert (staff.position, staff.is_active) == (0, True)
    assert AuditEntry.objects.filter(action="reason.changed").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model_name",
    [
        "supplement",
        "reason",
        "credential",
        "event",
        "rate",
        "priceoption",
        "channel",
        "promoter",
        "apicall",
        "auditentry",
    ],
)
def test_every_admin_list_opens_for_an_admin(admin_client, credential, model_name):
    factories.PriceOptionFactory()
    factories.ChannelFactory()
    factories.PromoterFactory()
    factories.SupplementFactory(rate_names=["VIP"])
    assert admin_client.get(reverse("admin:index")).status_code == 200
    assert admin_client.get(reverse(f"admin:tickets_{model_name}_changelist")).status_code == 200
