"""The reconciliation pages: who may see them, starting a run, the queue and its actions, and
the out-of-sync badges on event and ticket pages."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests import factories
from tickets.models import (
    AuditEntry,
    Credential,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyState,
    IssuedTicket,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
    TicketChange,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    factories.CredentialFactory()
    return factories.EventFactory(name="Saturday Session")


def a_run(event, **fields) -> ReconciliationRun:
    now = timezone.now()
    defaults = {
        "credential": Credential.objects.get(is_active=True),
        "trigger": RunTrigger.SCHEDULE,
        "full": True,
        "status": RunStatus.SUCCEEDED,
        "started_at": now,
        "finished_at": now,
    }
    return ReconciliationRun.objects.create(event=event, **{**defaults, **fields})


def a_discrepancy(run, kind, remote_id, **fields) -> Discrepancy:
    return Discrepancy.objects.create(
        run=run,
        event=run.event,
        environment=run.event.environment,
        remote_id=remote_id,
        kind=kind,
        last_seen_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def client_as_manager(client):
    client.force_login(factories.manager())
    return client


@pytest.mark.parametrize(
    "url_name",
    ["reconciliation", "reconciliation-runs", "discrepancy-queue"],
)
def test_issuers_may_not_see_reconciliation(client, url_name):
    client.force_login(factories.issuer())
    assert client.get(reverse(url_name)).status_code == 403


def test_the_overview_shows_each_event_with_its_last_run_and_badge(client_as_manager, event):
    run = a_run(event)
    a_discrepancy(run, DiscrepancyKind.DRIFT, "r1")
    quiet = factories.EventFactory(name="Quiet Thursday")
    a_run(quiet)

    page = client_as_manager.get(reverse("reconciliation")).content.decode()

    assert "Saturday Session" in page
    assert "Quiet Thursday" in page
    assert 'data-sync="out">Out of sync · 1 open' in page
    assert 'data-sync="in">In sync' in page


def test_starting_a_run_from_the_page_queues_it_for_the_worker(client_as_manager, event):
    response = client_as_manager.post(
        reverse("reconciliation-start", args=[event.pk]), {"full": "on"}, follow=True
    )

    run = ReconciliationRun.objects.get()
    assert (run.trigger, run.full, run.status) == (RunTrigger.UI, True, RunStatus.QUEUED)
    assert run.started_by.username == response.context["user"].username
    task = DBTaskResult.objects.get(task_path="tickets.tasks.reconcile_event")
    assert task.status == TaskResultStatus.READY
    assert task.args_kwargs == {"args": [run.pk], "kwargs": {}}
    assert "reconciliation of Saturday Session is queued" in response.content.decode()
    assert AuditEntry.objects.filter(action="reconciliation.requested").count() == 1


def test_a_second_start_while_one_is_queued_says_so_and_queues_nothing(client_as_manager, event):
    queued = a_run(event, status=RunStatus.QUEUED)
    a_while_ago = timezone.now() - dt.timedelta(minutes=5)
    ReconciliationRun.objects.filter(pk=queued.pk).update(created_at=a_while_ago)

    response = client_as_manager.post(reverse("reconciliation-start", args=[event.pk]), follow=True)

    assert "already queued or running" in response.content.decode()
    assert ReconciliationRun.objects.count() == 1
    assert not DBTaskResult.objects.exists()


def test_a_start_within_a_minute_of_the_last_run_is_refused(client_as_manager, event):
    a_run(event)

    response = client_as_manager.post(reverse("reconciliation-start", args=[event.pk]), follow=True)

    assert "at most one look a minute" in response.content.decode()
    assert ReconciliationRun.objects.count() == 1


def test_a_failed_run_says_why_on_the_event_page(client_as_manager, event):
    a_run(event, status=RunStatus.FAILED, error="Fourvenues rejected the API key (401).")

    page = client_as_manager.get(reverse("reconciliation-event", args=[event.pk]))

    content = page.content.decode()
    assert "Fourvenues rejected the API key (401)." in content
    assert "Nothing was changed here." in content
    assert "last run failed" in content


def test_the_queue_filters_by_kind_and_shows_open_ones_by_default(client_as_manager, event):
    run = a_run(event)
    a_discrepancy(run, DiscrepancyKind.DRIFT, "drifted")
    a_discrepancy(run, DiscrepancyKind.MISSING_REMOTELY, "missing")
    a_discrepancy(run, DiscrepancyKind.DRIFT, "old", state=DiscrepancyState.ACKNOWLEDGED)

    everything_open = client_as_manager.get(reverse("discrepancy-queue"))
    drift_only = client_as_manager.get(reverse("discrepancy-queue"), {"kind": "drift"})

    assert {d.remote_id for d in everything_open.context["page"]} == {"drifted", "missing"}
    assert {d.remote_id for d in drift_only.context["page"]} == {"drifted"}


def test_a_bad_filter_is_answered_400_with_a_message(client_as_manager):
    response = client_as_manager.get(reverse("discrepancy-queue"), {"kind": "nonsense"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_bulk_acknowledge_closes_the_selected_with_the_reason(client_as_manager, event):
    run = a_run(event)
    first = a_discrepancy(run, DiscrepancyKind.DRIFT, "a")
    second = a_discrepancy(run, DiscrepancyKind.MISSING_REMOTELY, "b")
    untouched = a_discrepancy(run, DiscrepancyKind.DRIFT, "c")

    response = client_as_manager.post(
        reverse("discrepancy-acknowledge"),
        {"discrepancies": [first.pk, second.pk], "reason": "Known dashboard edit", "kind": ""},
    )

    assert response.status_code == 302
    states = dict(Discrepancy.objects.values_list("remote_id", "state"))
    assert states == {"a": "acknowledged", "b": "acknowledged", "c": "open"}
    assert Discrepancy.objects.get(pk=first.pk).reason == "Known dashboard edit"
    assert AuditEntry.objects.filter(action="discrepancy.acknowledged").count() == 2
    assert untouched.state == "open"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "why"}, "Select at least one difference."),
        ({"discrepancies": ["x"], "reason": "why"}, "Select differences from the list."),
        # Past any integer the databases hold (SQLite raised OverflowError: a 500).
        (
            {"discrepancies": ["99999999999999999999"], "reason": "why"},
            "Select differences from the list.",
        ),
        ({"reason": ""}, "Say why these differences are acceptable."),
    ],
)
def test_bad_acknowledgements_change_nothing_and_say_why(client_as_manager, event, data, message):
    run = a_run(event)
    a_discrepancy(run, DiscrepancyKind.DRIFT, "a")

    response = client_as_manager.post(reverse("discrepancy-acknowledge"), data, follow=True)

    assert message in response.content.decode()
    assert Discrepancy.objects.get().state == DiscrepancyState.OPEN
    assert not AuditEntry.objects.filter(action="discrepancy.acknowledged").exists()


def test_acknowledging_one_already_settled_asks_for_a_reload(client_as_manager, event):
    run = a_run(event)
    settled = a_discrepancy(run, DiscrepancyKind.DRIFT, "a", state=DiscrepancyState.RESOLVED)

    response = client_as_manager.post(
        reverse("discrepancy-acknowledge"),
        {"discrepancies": [settled.pk], "reason": "late"},
        follow=True,
    )

    assert "no longer open: reload the page" in response.content.decode()
    assert Discrepancy.objects.get().state == DiscrepancyState.RESOLVED


def test_adopting_when_fourvenues_cannot_be_reached_says_so_and_changes_nothing(
    client_as_manager, event, settings
):
    settings.FOURVENUES_GET_RETRIES = 0
    run = a_run(event)
    unknown = a_discrepancy(run, DiscrepancyKind.UNKNOWN_LOCALLY, "remote-1")

    response = client_as_manager.post(reverse("discrepancy-adopt", args=[unknown.pk]), follow=True)

    assert "Fourvenues could not be asked" in response.content.decode()
    assert Discrepancy.objects.get().state == DiscrepancyState.OPEN
    assert not IssuedTicket.objects.exists()


def test_a_ticket_page_shows_its_out_of_sync_badge_and_remote_changes(client_as_manager, event):
    ticket = factories.IssuedTicketFactory()
    run = a_run(ticket.event)
    a_discrepancy(run, DiscrepancyKind.DRIFT, ticket.remote_id, ticket=ticket)
    TicketChange.objects.create(
        ticket=ticket, run=run, field="entered", old="0", new="1", at=timezone.now()
    )

    page = client_as_manager.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()

    assert "Out of sync with Fourvenues: holder differs" in page
    assert f"(reconciliation #{run.pk}) · entered: 0 → 1" in page


def test_the_overview_in_spanish(client_as_manager, event):
    run = a_run(event)
    a_discrepancy(run, DiscrepancyKind.DRIFT, "r1")

    page = client_as_manager.get(reverse("reconciliation"), HTTP_ACCEPT_LANGUAGE="es")

    html = page.content.decode()
    assert "Conciliación con Fourvenues" in html
    assert 'data-sync="out">Desincronizado · 1 abierta' in html
    assert "Conciliar ahora" in html
    assert "Reconcile now" not in html
    assert "Out of sync" not in html


def test_the_event_page_in_spanish_explains_a_failure_and_the_kinds(client_as_manager, event):
    a_run(event, status=RunStatus.FAILED, error="An unexpected error stopped the run.")

    html = client_as_manager.get(
        reverse("reconciliation-event", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert "Última ejecución" in html
    # The run's error is stored in English and shown in the reader's language.
    assert "Un error inesperado detuvo la ejecución. Aquí no se cambió nada." in html
    assert "la última ejecución falló" in html
    assert "Qué significa cada discrepancia y qué hace cada acción" in html
    assert "An unexpected error" not in html


def test_the_runs_page_in_spanish_keeps_technical_figures_folded(client_as_manager, event):
    run = a_run(event, api_calls=7)

    html = client_as_manager.get(
        reverse("reconciliation-runs"), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert "Ejecuciones de conciliación" in html
    assert "Todas las entradas" in html  # a full run's scope
    row = html.split(f'id="run-{run.pk}"', 1)[1].split("</tr>", 1)[0]
    details = row.split('<details class="technical-details">', 1)[1]
    assert "<summary>Detalles técnicos</summary>" in details
    assert "Llamadas a la API</dt><dd>7</dd>" in details
    assert "API calls" not in html


def test_the_queue_in_spanish_says_what_differs_in_plain_words(client_as_manager, event):
    run = a_run(event)
    a_discrepancy(
        run,
        DiscrepancyKind.DRIFT,
        "remote-drift-1",
        details={"name": {"local": "Ana Ruiz", "remote": "Ana R."}},
    )
    a_discrepancy(
        run,
        DiscrepancyKind.UNKNOWN_LOCALLY,
        "remote-unknown-1",
        details={"looks_ours_because": ["our channel", "our QR code prefix"]},
        remote_snapshot={"_id": "remote-unknown-1", "code": "HAND1", "name": "Issued By Hand"},
    )

    html = client_as_manager.get(
        reverse("discrepancy-queue"), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert "Discrepancias por revisar" in html
    assert "Nombre: «Ana Ruiz» aquí, «Ana R.» en Fourvenues" in html
    assert "Parece nuestra por: nuestro canal, el prefijo de nuestros códigos QR" in html
    assert "Dar por revisadas las seleccionadas" in html
    assert "Volver a comprobar" in html
    assert "Adoptar" in html
    assert "<code>HAND1</code>" in html
    # Remote ids only inside the technical details.
    for remote_id in ("remote-drift-1", "remote-unknown-1"):
        before, _, after = html.partition(f"<code>{remote_id}</code>")
        assert after, remote_id
        assert before.rfind('<details class="technical-details') > before.rfind("</details>")
        assert html.count(remote_id) == html.count(f"<code>{remote_id}</code>")


def test_the_queue_filter_bar_is_the_products_one(client_as_manager, event):
    html = client_as_manager.get(reverse("discrepancy-queue")).content.decode()

    form = html.split('<form method="get" class="filter-bar card card-body mb-3" role="search"')[1]
    form = form.split("</form>", 1)[0]
    assert form.count('<div class="col-sm-6 col-lg-3">') == 3
    assert '<button class="btn btn-primary" type="submit">Filter</button>' in form
    assert f'href="{reverse("discrepancy-queue")}">Clear</a>' in form


def test_messages_after_actions_are_in_spanish(client_as_manager, event):
    run = a_run(event)
    first = a_discrepancy(run, DiscrepancyKind.DRIFT, "a")
    second = a_discrepancy(run, DiscrepancyKind.DRIFT, "b")

    response = client_as_manager.post(
        reverse("discrepancy-acknowledge"),
        {"discrepancies": [first.pk, second.pk], "reason": "Editado en la puerta"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="es",
    )
    refused = client_as_manager.post(
        reverse("reconciliation-start", args=[event.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="es"
    )

    assert "2 discrepancias dadas por revisadas." in response.content.decode()
    assert "Fourvenues pide consultar un evento como mucho una vez por minuto" in (
        refused.content.decode()
    )


def test_a_difference_a_run_resolved_says_so_in_the_readers_language(client_as_manager, event):
    run = a_run(event)
    a_discrepancy(
        run,
        DiscrepancyKind.DRIFT,
        "gone",
        state=DiscrepancyState.RESOLVED,
        reason=f"No longer found by reconciliation #{run.pk}.",
    )

    html = client_as_manager.get(
        reverse("discrepancy-queue"), {"state": "resolved"}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert f"Desapareció sola: la conciliación n.º {run.pk} ya no la encontró." in html
