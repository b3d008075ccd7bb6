import pytest
from django.contrib.auth.models import User

from tickets import roles
from tickets.demo.accounts import seed_demo
from tickets.models import Credential


@pytest.mark.django_db
def test_seed_demo_creates_one_login_per_role_and_a_sandbox_credential():
    logins, credential = seed_demo(password="pw-for-tests", sandbox_port=9999)
    assert {login.role for login in logins} == set(roles.ALL_ROLES)
    for login in logins:
        user = User.objects.get(username=login.username)
        assert user.check_password("pw-for-tests")
        assert list(user.groups.values_list("name", flat=True)) == [login.role]
        assert user.is_staff == (login.role == roles.ADMIN)  # Django's admin, for the lists
    assert credential.is_active
    assert credential.base_url == "http://127.0.0.1:9999/integrations"


@pytest.mark.django_db
def test_seed_demo_can_run_again_without_duplicating_anything():
    seed_demo(password="pw-for-tests", sandbox_port=9999)
    seed_demo(password="pw-for-tests", sandbox_port=8765)
    assert Credential.objects.count() == 1
    assert Credential.objects.get().base_url == "http://127.0.0.1:8765/integrations"
