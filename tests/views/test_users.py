"""The users page: admins create logins, set roles, deactivate people and reset passwords; every
change is audited, no password ever is."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests import factories
from tickets import roles
from tickets.models import AuditEntry
from tickets.services.users import role_of

NEW_PASSWORD = "a-fresh-password-42"


def test_an_admin_creates_a_login_with_a_role(admin_client):
    response = admin_client.post(
        reverse("user-new"),
        {
            "username": "nina",
            "email": "nina@example.com",
            "first_name": "Nina",
            "role": roles.MANAGER,
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    nina = User.objects.get(username="nina")
    assert role_of(nina) == roles.MANAGER
    assert nina.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.get(action="user.created")
    assert (entry.actor_label, entry.target, entry.target_label, entry.data) == (
        "ada",
        f"user:{nina.pk}",
        "nina",
        {"role": "Manager"},
    )
    assert NEW_PASSWORD not in str(list(AuditEntry.objects.values()))
    assert "nina" in admin_client.get(reverse("user-list")).content.decode()


def test_a_weak_password_or_a_taken_username_is_refused_with_a_message(admin_client, admin):
    response = admin_client.post(
        reverse("user-new"),
        {"username": "nina", "email": "n@example.com", "role": "Issuer", "password": "12345678"},
    )
    assert response.status_code == 200
    assert "too common" in response.content.decode() or "entirely numeric" in (
        response.content.decode()
    )
    response = admin_client.post(
        reverse("user-new"),
        {"username": "ADA", "email": "n@example.com", "role": "Issuer", "password": NEW_PASSWORD},
    )
    assert "This username is taken" in response.content.decode()
    assert User.objects.count() == 1


def test_changing_a_role_takes_effect_and_is_audited(admin_client):
    person = factories.issuer(username="ivy")
    response = admin_client.post(reverse("user-role", args=[person.pk]), {"role": roles.ADMIN})
    assert response.status_code == 302
    person = User.objects.get(pk=person.pk)
    assert role_of(person) == roles.ADMIN
    assert person.has_perm("tickets.manage_credentials")
    entry = AuditEntry.objects.get(action="user.role_changed")
    assert entry.data == {"from": "Issuer", "to": "Admin"}


def test_an_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves(admin_client, admin):
    admin_client.post(reverse("user-role", args=[admin.pk]), {"role": roles.ISSUER})
    admin_client.post(reverse("user-active", args=[admin.pk]), {"active": "0"})
    admin.refresh_from_db()
    assert role_of(admin) == roles.ADMIN
    assert admin.is_active


def test_a_deactivated_person_cannot_log_in(admin_client):
    person = factories.issuer(username="ivy")
    admin_client.post(reverse("user-active", args=[person.pk]), {"active": "0"})
    person.refresh_from_db()
    assert not person.is_active
    assert AuditEntry.objects.filter(
        action="user.deactivated", target=f"user:{person.pk}", target_label="ivy"
    ).exists()
    client = admin_client
    client.logout()
    client.post(reverse("login"), {"username": "ivy", "password": "a-long-password-1"})
    assert "_auth_user_id" not in client.session


def test_a_password_reset_lets_the_person_in_with_the_new_password_only(admin_client):
    person = factories.issuer(username="ivy")
    response = admin_client.post(
        reverse("user-password", args=[person.pk]), {"password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert not person.check_password("a-long-password-1")
    assert AuditEntry.objects.filter(action="user.password_reset").exists()
    assert NEW_PASSWORD not in str(list(AuditEntry.objects.values()))


def test_a_password_reset_lifts_a_lockout(client, admin, settings):
    person = factories.issuer(username="ivy")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "ivy", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "ivy", "password": "a-long-password-1"})
    assert locked.status_code == 403
    client.force_login(admin)
    client.post(reverse("user-password", args=[person.pk]), {"password": NEW_PASSWORD})
    client.logout()
    client.post(reverse("login"), {"username": "ivy", "password": NEW_PASSWORD})
    assert client.session["_auth_user_id"] == str(person.pk)


def test_admins_made_here_reach_the_reasons_and_supplements_and_lose_them_with_the_role(
    admin_client,
):
    admin_client.post(
        reverse("user-new"),
        {
            "username": "otto",
            "email": "otto@example.com",
            "role": roles.ADMIN,
            "password": NEW_PASSWORD,
        },
    )
    otto = User.objects.get(username="otto")
    client = Client()  # otto's own browser, beside the admin's
    client.force_login(otto)
    assert client.get("/admin/tickets/reason/").status_code == 200
    assert client.get("/admin/tickets/supplement/add/").status_code == 200

    admin_client.post(reverse("user-role", args=[otto.pk]), {"role": roles.MANAGER})
    assert not User.objects.get(pk=otto.pk).is_staff
    response = client.get("/admin/tickets/reason/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_superuser_keeps_the_admin_site_whatever_the_role(admin_client):
    root = User.objects.create_superuser("root", "root@example.com", NEW_PASSWORD)
    admin_client.post(reverse("user-role", args=[root.pk]), {"role": roles.ISSUER})
    assert User.objects.get(pk=root.pk).is_staff


def test_the_home_page_leads_admins_to_the_lists_they_keep(admin_client):
    page = admin_client.get(reverse("home")).content.decode()
    assert 'id="admin-lists"' in page
    assert reverse("admin:tickets_reason_changelist") in page
    assert reverse("admin:tickets_supplement_changelist") in page

    client = Client()
    client.force_login(factories.manager())
    assert 'id="admin-lists"' not in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_the_users_pages_read_in_spanish(admin_client):
    page = admin_client.get(reverse("user-list"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Usuarios y roles" in page
    assert "Añadir un usuario" in page
    page = admin_client.get(reverse("user-new"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Primera contraseña" in page
    assert "Emisor" in page  # the role's name as people read it
