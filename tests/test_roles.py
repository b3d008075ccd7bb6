import pytest
from django.contrib.auth.models import Group

from tickets import roles


@pytest.mark.django_db
def test_the_migration_creates_the_three_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ALL_ROLES)


@pytest.mark.django_db
def test_only_admins_may_manage_credentials():
    def codenames(role: str) -> set[str]:
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    assert "change_credential" in codenames(roles.ADMIN)
    assert "change_credential" not in codenames(roles.MANAGER)
    assert "view_credential" not in codenames(roles.ISSUER)


@pytest.mark.django_db
@pytest.mark.parametrize("codename", ["manage_credentials", "manage_users", "view_audit_log"])
def test_the_admin_pages_permissions_belong_to_admins_only(codename):
    holders = set(
        Group.objects.filter(permissions__codename=codename).values_list("name", flat=True)
    )
    assert holders == {roles.ADMIN}
