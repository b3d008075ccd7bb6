"""Credentials: admins add, change, test, activate and deactivate credentials; secrets go in and
never come back out."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.conftest import CREDENTIAL_API_KEY as API_KEY
from tickets.models import AuditEntry, AuthScheme, Credential, Environment
from tickets.services.credentials import CredentialError, register_credential, update_credential


def _form(credential, **overrides):
    data = {
        "name": credential.name,
        "environment": credential.environment,
        "base_url_override": credential.base_url_override,
        "auth_scheme": credential.auth_scheme,
        "api_key": "",
        "integration_id": "",
        "secret": "",
        "expires_on": "",
        "notes": credential.notes,
    }
    data.update(overrides)
    return data


def _detail(credential):
    return reverse("credential-detail", args=[credential.pk])


@pytest.mark.django_db
def test_the_credential_pages_never_show_the_secret_only_its_last_four_characters(
    admin_client, credential
):
    listing = admin_client.get(reverse("credential-list")).content.decode()
    detail = admin_client.get(_detail(credential)).content.decode()
    for page in (listing, detail):
        assert API_KEY not in page
        assert API_KEY[:-4] not in page
        assert "…alue" in page
    assert "A value is stored" in detail
    assert 'value="ik_' not in detail


@pytest.mark.django_db
def test_a_blank_secret_keeps_the_stored_one_and_the_change_is_audited(admin_client, credential):
    response = admin_client.post(_detail(credential), _form(credential, notes="Rotates in June"))
    assert response.status_code == 302, response.content.decode()
    credential.refresh_from_db()
    assert credential.api_key == API_KEY
    assert credential.notes == "Rotates in June"
    entry = AuditEntry.objects.get(action="credential.changed")
    assert entry.data["changed"] == ["notes"]
    assert API_KEY not in str(entry.data)


@pytest.mark.django_db
def test_a_typed_secret_replaces_the_stored_one_without_reaching_the_log(admin_client, credential):
    new_key = "ik_live_rotated_key_9876543210zyxw"
    response = admin_client.post(_detail(credential), _form(credential, api_key=new_key))
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.api_key == new_key
    entry = AuditEntry.objects.get(action="credential.changed")
    assert entry.data["changed"] == ["api_key"]
    assert new_key not in str(list(AuditEntry.objects.values()))
    assert new_key not in admin_client.get(_detail(credential)).content.decode()


@pytest.mark.django_db
def test_switching_to_the_v1_scheme_needs_both_secrets_and_drops_the_api_key(
    admin_client, credential
):
    response = admin_client.post(_detail(credential), _form(credential, auth_scheme="legacy"))
    assert response.status_code == 200
    assert "Required for this authentication scheme" in response.content.decode()
    credential.refresh_from_db()
    assert credential.auth_scheme == AuthScheme.API_KEY

    response = admin_client.post(
        _detail(credential),
        _form(
            credential,
            auth_scheme=AuthScheme.LEGACY,
            integration_id="integration-42",
            secret="v1-secret-value-abcdef",
        ),
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.integration_id, credential.secret) == (
        "integration-42",
        "v1-secret-value-abcdef",
    )
    assert credential.api_key == ""


@pytest.mark.django_db
def test_adding_a_credential_does_not_put_it_in_use_and_is_audited_without_its_secret(
    admin_client, credential
):
    response = admin_client.post(
        reverse("credential-new"),
        {
            "name": "New production key",
            "environment": Environment.PRODUCTION,
            "auth_scheme": AuthScheme.API_KEY,
            "api_key": "ik_live_brand_new_key_value",
            # The box of old: posted by a stale page, it must not activate anything.
            "activate": "on",
        },
        follow=True,
    )
    added = Credential.objects.get(name="New production key")
    credential.refresh_from_db()
    assert not added.is_active
    assert credential.is_active  # the working key stays the one issuing uses
    assert added.api_key == "ik_live_brand_new_key_value"
    assert "is stored but not in use yet" in response.content.decode()
    entry = AuditEntry.objects.get(action="credential.created", target=f"credential:{added.pk}")
    assert "ik_live_brand_new_key_value" not in str(entry.data)


@pytest.mark.django_db
def test_the_new_credential_form_has_no_box_that_activates_it(admin_client):
    page = admin_client.get(reverse("credential-new")).content.decode()
    assert 'name="activate"' not in page


@pytest.mark.django_db
def test_a_successful_first_test_puts_a_new_credential_in_use_when_it_replaces_none(
    admin_client, sandbox
):
    admin_client.post(
        reverse("credential-new"),
        {
            "name": "Sandbox",
            "environment": Environment.ALPHA,
            "auth_scheme": AuthScheme.API_KEY,
            "api_key": sandbox.app.api_key,
            "base_url_override": sandbox.base_url,
        },
    )
    added = Credential.objects.get(name="Sandbox")
    assert not added.is_active

    page = admin_client.post(reverse("credential-test", args=[added.pk])).content.decode()

    added.refresh_from_db()
    assert added.is_active
    assert 'data-testid="activated"' in page
    assert AuditEntry.objects.filter(action="credential.activated").count() == 1


@pytest.mark.django_db
def test_a_failed_test_puts_nothing_in_use(admin_client, sandbox):
    added = register_credential(
        name="Wrong",
        environment=Environment.ALPHA,
        api_key="ik_test_wrong_key_value",
        base_url_override=sandbox.base_url,
        activate=False,
        actor=None,
    )
    admin_client.post(reverse("credential-test", args=[added.pk]))
    added.refresh_from_db()
    assert not added.is_active


@pytest.mark.django_db
def test_a_successful_test_offers_to_replace_the_key_in_use_naming_it(
    admin_client, sandbox, credential
):
    working = register_credential(
        name="Working alpha key",
        environment=Environment.ALPHA,
        api_key="ik_test_working_key_value",
        actor=None,
    )
    added = register_credential(
        name="Sandbox",
        environment=Environment.ALPHA,
        api_key=sandbox.app.api_key,
        base_url_override=sandbox.base_url,
        activate=False,
        actor=None,
    )

    page = admin_client.post(reverse("credential-test", args=[added.pk])).content.decode()

    added.refresh_from_db()
    working.refresh_from_db()
    assert not added.is_active  # a working key is never replaced without the admin's word
    assert working.is_active
    assert "This replaces <strong>Working alpha key</strong> for issuing." in page
    assert f'name="replaces" value="{working.pk}"' in page

    response = admin_client.post(
        reverse("credential-active", args=[added.pk]),
        {"active": "1", "replaces": str(working.pk)},
        follow=True,
    )
    added.refresh_from_db()
    working.refresh_from_db()
    assert added.is_active
    assert not working.is_active
    assert "instead of “Working alpha key”" in response.content.decode()
    entry = AuditEntry.objects.get(action="credential.activated")
    assert entry.data["replaces"] == {"id": working.pk, "name": "Working alpha key"}


@pytest.mark.django_db
def test_activating_without_a_confirmation_asks_for_one_naming_what_it_replaces(
    admin_client, credential
):
    other = register_credential(
        name="Other",
        environment=Environment.PRODUCTION,
        api_key="k" * 20,
        activate=False,
        actor=None,
    )
    response = admin_client.post(reverse("credential-active", args=[other.pk]), {"active": "1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"This replaces <strong>{credential.name}</strong> for issuing." in page
    assert "Its connection has not been tested successfully yet." in page
    other.refresh_from_db()
    credential.refresh_from_db()
    assert not other.is_active
    assert credential.is_active


@pytest.mark.django_db
def test_a_confirmation_made_stale_by_another_activation_is_asked_again(admin_client, credential):
    other = register_credential(
        name="Other",
        environment=Environment.PRODUCTION,
        api_key="k" * 20,
        activate=False,
        actor=None,
    )
    # The admin was told it replaces none, but `credential` is in use by now.
    response = admin_client.post(
        reverse("credential-active", args=[other.pk]), {"active": "1", "replaces": ""}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f"This replaces <strong>{credential.name}</strong> for issuing." in page
    other.refresh_from_db()
    assert not other.is_active


@pytest.mark.django_db
def test_the_replacement_is_named_in_spanish(admin_client, credential):
    other = register_credential(
        name="Other",
        environment=Environment.PRODUCTION,
        api_key="k" * 20,
        activate=False,
        actor=None,
    )
    page = admin_client.get(_detail(other), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert f"Esto sustituye a <strong>{credential.name}</strong> para emitir." in page
    assert "Probar la conexión" in page


@pytest.mark.django_db
def test_a_duplicate_name_is_refused_with_a_message(admin_client, credential):
    response = admin_client.post(
        reverse("credential-new"),
        {"name": credential.name, "environment": "alpha", "auth_scheme": "api_key", "api_key": "k"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        f"Another credential is already named “{credential.name}”."
    ]
    assert Credential.objects.count() == 1


@pytest.mark.django_db
def test_renaming_to_another_credentials_name_is_refused_on_the_field(admin_client, credential):
    other = register_credential(
        name="Alpha key", environment=Environment.ALPHA, api_key="ak_other_key", actor=None
    )
    response = admin_client.post(_detail(other), _form(other, name=credential.name))
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        f"Another credential is already named “{credential.name}”."
    ]
    other.refresh_from_db()
    assert other.name == "Alpha key"
    # Its own name is no conflict: saving unchanged works.
    assert admin_client.post(_detail(other), _form(other)).status_code == 302


@pytest.mark.django_db
def test_deactivating_and_reactivating_switch_which_credential_issuing_uses(
    admin_client, credential
):
    url = reverse("credential-active", args=[credential.pk])
    admin_client.post(url, {"active": "0"})
    credential.refresh_from_db()
    assert not credential.is_active
    other = register_credential(
        name="Other", environment=Environment.PRODUCTION, api_key="k" * 20, actor=None
    )
    admin_client.post(url, {"active": "1", "replaces": str(other.pk)})
    credential.refresh_from_db()
    other.refresh_from_db()
    assert credential.is_active
    assert not other.is_active
    actions = list(
        AuditEntry.objects.filter(action__startswith="credential.").values_list("action", flat=True)
    )
    assert "credential.deactivated" in actions
    assert "credential.activated" in actions


@pytest.mark.django_db
def test_an_expired_credential_cannot_be_made_active(admin_client, credential):
    credential.expires_on = timezone.localdate() - dt.timedelta(days=1)
    credential.is_active = False
    credential.save()
    response = admin_client.post(
        reverse("credential-active", args=[credential.pk]), {"active": "1"}, follow=True
    )
    assert "has expired" in response.content.decode()
    credential.refresh_from_db()
    assert not credential.is_active


@pytest.mark.django_db
def test_test_connection_lists_the_channels_the_key_sees_and_remembers_when(admin_client, sandbox):
    credential = register_credential(
        name="Sandbox",
        environment=Environment.ALPHA,
        api_key=sandbox.app.api_key,
        base_url_override=sandbox.base_url,
        actor=None,
    )
    response = admin_client.post(reverse("credential-test", args=[credential.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "The connection works" in page
    for channel in sandbox.catalogue.channels:
        assert channel["name"] in page
    credential.refresh_from_db()
    assert credential.last_verified_at is not None
    assert AuditEntry.objects.filter(action="credential.verified").exists()


@pytest.mark.django_db
def test_test_connection_with_a_refused_key_says_why(admin_client, sandbox):
    credential = register_credential(
        name="Sandbox",
        environment=Environment.ALPHA,
        api_key="ik_test_wrong_key_value",
        base_url_override=sandbox.base_url,
        actor=None,
    )
    response = admin_client.post(reverse("credential-test", args=[credential.pk]))
    page = response.content.decode()
    assert "The connection test failed (HTTP 401)" in page
    assert "ik_test_wrong_key_value" not in page
    credential.refresh_from_db()
    assert credential.last_verified_at is None


@pytest.mark.django_db
def test_admins_see_an_expiry_banner_from_fourteen_days_before(client, credential):
    credential.expires_on = dt.date(2030, 6, 30)
    credential.save()
    admin, manager = factories.admin(), factories.manager()
    with time_machine.travel(dt.datetime(2030, 6, 15, 12, tzinfo=dt.UTC)):
        client.force_login(admin)
        assert 'data-testid="expiry-banner"' not in client.get("/").content.decode()
    with time_machine.travel(dt.datetime(2030, 6, 16, 12, tzinfo=dt.UTC)):
        client.force_login(admin)  # a day later, yesterday's session has expired
        page = client.get("/").content.decode()
        assert 'data-testid="expiry-banner"' in page
        assert "expires on 30 Jun 2030" in page
        client.force_login(manager)
        assert 'data-testid="expiry-banner"' not in client.get("/").content.decode()


@pytest.mark.django_db
def test_every_page_says_test_environment_while_an_alpha_credential_is_in_use(client):
    client.force_login(factories.issuer())
    register_credential(name="Alpha", environment=Environment.ALPHA, api_key="k" * 20, actor=None)
    for url in ("/", reverse("issuance-list"), reverse("ticket-search")):
        assert 'id="test-environment-banner"' in client.get(url).content.decode()
    client.logout()
    assert 'id="test-environment-banner"' in client.get(reverse("login")).content.decode()
    register_credential(
        name="Production", environment=Environment.PRODUCTION, api_key="k" * 20, actor=None
    )
    assert 'id="test-environment-banner"' not in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_the_environment_of_a_stored_credential_cannot_change(admin_client, credential):
    response = admin_client.post(
        _detail(credential), _form(credential, environment=Environment.ALPHA, notes="moved")
    )
    assert response.status_code == 302  # the disabled field keeps the stored value
    credential.refresh_from_db()
    assert credential.environment == Environment.PRODUCTION
    assert credential.notes == "moved"
    with pytest.raises(CredentialError, match="environment cannot change"):
        update_credential(credential=credential, actor=None, environment=Environment.ALPHA)


@pytest.mark.django_db
def test_the_detail_page_shows_a_test_result_only_after_a_test(admin_client, credential):
    page = admin_client.get(_detail(credential)).content.decode()
    assert 'id="test-result"' not in page


@pytest.mark.django_db
def test_a_malformed_activation_request_changes_nothing(admin_client, credential):
    response = admin_client.post(reverse("credential-active", args=[credential.pk]), {})
    assert response.status_code == 400
    credential.refresh_from_db()
    assert credential.is_active


# --- Values that cannot travel in a request header (issue 13, §4.2) ----------------------------

PASTED_KEY = "ik_live_pasted\u2013from_a_document_0123"


@pytest.mark.django_db
def test_a_key_that_cannot_be_sent_is_refused_on_its_field_without_being_shown(
    admin_client, credential
):
    response = admin_client.post(
        reverse("credential-new"),
        {
            "name": "Pasted key",
            "environment": Environment.PRODUCTION,
            "auth_scheme": AuthScheme.API_KEY,
            "api_key": PASTED_KEY,
            "activate": "on",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    errors = response.context["form"].errors["api_key"]
    assert errors == [
        "This API key contains a typographic dash (\u2013) where a plain hyphen (-) belongs, so it "
        "could not be sent to Fourvenues. Type it again (or paste it from a plain-text copy)."
    ]
    assert PASTED_KEY not in page
    assert "from_a_document" not in page
    assert not Credential.objects.filter(name="Pasted key").exists()

    changed = admin_client.post(
        _detail(credential), _form(credential, api_key="ik_live_two\nlines_0123")
    )
    assert changed.status_code == 200
    assert "contains a line break" in changed.context["form"].errors["api_key"][0]
    credential.refresh_from_db()
    assert credential.api_key == API_KEY


@pytest.mark.django_db
def test_test_connection_with_a_stored_key_that_cannot_be_sent_explains_it(
    admin_client, credential
):
    # Stored before the check existed: the service would refuse it now.
    Credential.objects.filter(pk=credential.pk).update(api_key=PASTED_KEY)
    response = admin_client.post(reverse("credential-test", args=[credential.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "The connection test failed." in page
    assert "typographic dash" in page
    assert "nothing was sent" in page
    assert PASTED_KEY not in page
    assert "from_a_document" not in page
    assert AuditEntry.objects.filter(action="credential.verify_failed").exists()
