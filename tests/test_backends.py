"""The permission backend: Django's answers, from one query instead of two."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f
from tickets import roles
from tickets.backends import OneQueryPermissionsBackend

pytestmark = pytest.mark.django_db


def _fresh(user):
    """The user as a new request loads it: no permission cached yet."""
    return type(user).objects.get(pk=user.pk)


def test_a_role_and_a_permission_of_the_users_own_both_count_in_one_query():
    user = f.issuer()
    own = Permission.objects.get(codename="view_document_numbers")
    user.user_permissions.add(own)
    backend, loaded = OneQueryPermissionsBackend(), _fresh(user)
    with CaptureQueriesContext(connection) as queries:
        permissions = backend.get_all_permissions(loaded)
    assert len(queries) == 1
    assert roles.ISSUE_COMPS in permissions  # from the Issuer group
    assert roles.VIEW_DOCUMENT_NUMBERS in permissions  # the user's own
    assert permissions == ModelBackend().get_all_permissions(_fresh(user))


@pytest.mark.parametrize("make", [f.issuer, f.manager, f.admin])
def test_every_role_gets_exactly_what_djangos_backend_gives(make):
    user = make()
    ours = OneQueryPermissionsBackend().get_all_permissions(_fresh(user))
    assert ours
    assert ours == ModelBackend().get_all_permissions(_fresh(user))


def test_a_superuser_has_every_permission_and_an_inactive_user_none():
    superuser = f.UserFactory(is_superuser=True)
    everything = OneQueryPermissionsBackend().get_all_permissions(_fresh(superuser))
    assert len(everything) == Permission.objects.count()
    gone = f.manager(is_active=False)
    assert OneQueryPermissionsBackend().get_all_permissions(_fresh(gone)) == set()
    assert not _fresh(gone).has_perm(roles.VIEW_ALL_ISSUANCES)


def test_the_answer_is_kept_for_the_request():
    user = _fresh(f.manager())
    assert user.has_perm(roles.VIEW_ALL_ISSUANCES)
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm(roles.RECONCILE_TICKETS)
        assert not user.has_perm(roles.MANAGE_CREDENTIALS)
    assert len(queries) == 0
