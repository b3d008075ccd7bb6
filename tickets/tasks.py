"""Background entry points, run by the worker (`manage.py db_worker`). No logic of their own.

Every task is safe to run twice: sending claims lines atomically and the resolver only touches
lines still `unknown`, so a duplicate enqueue (the reaper's, a retry) never sends anything twice.
"""

from django_tasks import TaskContext, task


@task(takes_context=True)
def send_issuance(context: TaskContext, issuance_id: int) -> None:
    from tickets.services.sending import send_pending_lines

    # The id lets a long send show signs of life, so the reaper does not take it for dead.
    send_pending_lines(issuance_id=issuance_id, task_id=context.task_result.id)


@task()
def resolve_issuance(issuance_id: int) -> None:
    from tickets.services.resolver import resolve_issuance as resolve

    resolve(issuance_id=issuance_id)


@task()
def reconcile_event(run_id: int) -> None:
    from tickets.services.reconciliation.runs import execute_run

    execute_run(run_id=run_id)


@task()
def refresh_catalogue() -> None:
    from tickets.services.catalogue import refresh_issuing_catalogue

    refresh_issuing_catalogue()


@task()
def refresh_catalogue_requested(credential_id: int, actor_id: int | None) -> None:
    """The "Refresh catalogue" button's refresh, on behalf of whoever pressed it."""
    from tickets.services.catalogue import run_requested_refresh

    run_requested_refresh(credential_id=credential_id, actor_id=actor_id)


@task(takes_context=True)
def send_deliveries(context: TaskContext) -> None:
    """Hand every queued message to the mail server (each claimed once: safe to run twice)."""
    from tickets.services.deliveries.sending import send_queued_deliveries

    send_queued_deliveries(task_id=context.task_result.id)


@task()
def notify_approval_decision(approval_id: int) -> None:
    """E-mail the requester that a manager approved or rejected their comps."""
    from tickets.services.approvals import notify_requester

    notify_requester(approval_id=approval_id)


@task()
def withdraw_ticket(withdrawal_id: int) -> None:
    """Send a pending withdrawal once, or look up an unknown one (safe to run twice)."""
    from tickets.services.withdrawals import process_withdrawal

    process_withdrawal(withdrawal_id=withdrawal_id)


@task()
def purge_personal_data() -> None:
    """Remove the personal data of holders whose night is past the horizon (idempotent)."""
    from tickets.services.purge import purge_due

    purge_due()


@task()
def send_event_summaries() -> None:
    """E-mail the morning-after summary of every event whose night is over (each claimed once:
    safe to run twice)."""
    from tickets.services.summaries import send_due_summaries

    send_due_summaries()


@task()
def worker_beat() -> None:
    """A worker's sign of life, queued by the scheduler (`services.health`)."""
    from tickets.services.health import WORKER, record_beat

    record_beat(WORKER)


@task(takes_context=True)
def build_export(context: TaskContext, job_id: int) -> None:
    """Write the file of a large export (only a queued job is claimed: safe to run twice)."""
    from tickets.services.export_jobs import build_export as build

    # The id lets a long build show signs of life, so the reaper does not take it for dead.
    build(job_id=job_id, task_id=str(context.task_result.id))
