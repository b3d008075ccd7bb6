"""What the admin's home page reads: each credential's health and the failed logins."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from tickets.models import Environment
from tickets.selectors.audit import recent_failed_logins
from tickets.selectors.credentials import credential_health
from tickets.services import audit
from tickets.services.credentials import register_credential


@pytest.mark.django_db
def test_credential_health_lists_each_credential_in_use_first(credential):
    spare = register_credential(
        name="Spare",
        environment=Environment.ALPHA,
        api_key="k" * 20,
        activate=False,
        expires_on=timezone.localdate() - dt.timedelta(days=1),
        actor=None,
    )
    health = credential_health()
    assert [h.name for h in health] == [credential.name, spare.name]
    assert health[0].active
    assert not health[1].active
    assert health[1].expired
    assert health[1].last_success_at is None


@pytest.mark.django_db
def test_recent_failed_logins_counts_those_of_the_window_only():
    with time_machine.travel(timezone.now() - dt.timedelta(days=10)):
        audit.record(action="auth.login_failed", target_label="old")
    audit.record(action="auth.login_failed", target_label="ivy")
    audit.record(action="auth.locked_out", target_label="ivy")
    audit.record(action="auth.login", target_label="ivy")
    failed = recent_failed_logins(days=7)
    assert failed.count == 2
    assert [e.target_label for e in failed.recent] == ["ivy", "ivy"]
