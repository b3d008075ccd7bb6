"""`manage.py reconcile`: runs in the calling process, one event or every upcoming one."""

import pytest
from django.core.management import CommandError, call_command

from tests.services.reconciliation.support import plant
from tickets.models import Credential, ReconciliationRun, RunTrigger

pytestmark = pytest.mark.django_db


def test_reconcile_one_event_by_its_fourvenues_id_prints_the_counts(issuing, capsys):
    plant(issuing)

    call_command("reconcile", "--event", issuing.event.remote_id, "--full")

    out = capsys.readouterr().out
    assert "1 missing remotely, 1 unknown here, 1 drifted" in out
    run = ReconciliationRun.objects.get()
    assert (run.trigger, run.full, run.status) == (RunTrigger.COMMAND, True, "succeeded")


def test_reconcile_all_upcoming_runs_each_listed_event(issuing, capsys):
    call_command("reconcile", "--all-upcoming")

    assert ReconciliationRun.objects.filter(event=issuing.event).count() == 1
    assert issuing.event.name in capsys.readouterr().out


def test_a_failed_run_makes_the_command_fail_with_the_reason(issuing):
    Credential.objects.filter(pk=issuing.credential.pk).update(
        base_url_override="http://127.0.0.1:9/x"
    )

    with pytest.raises(CommandError, match="1 of 1 reconciliations did not succeed"):
        call_command("reconcile", "--event", str(issuing.event.pk))
    assert ReconciliationRun.objects.get().error


def test_an_unknown_event_is_refused_clearly():
    with pytest.raises(CommandError, match="No single event 'nope'"):
        call_command("reconcile", "--event", "nope")
