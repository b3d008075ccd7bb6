"""Logins, failed logins and lockouts into the audit log; the mail provider's tracking events
into the delivery ledger; a background task's id onto its log lines. The receivers only pass
things on: the decisions belong to django-axes and to the delivery services."""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailTrackingEvent, tracking
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django_tasks.signals import log_task_started, task_finished, task_started

from backoffice.logging import current_request_id
from tickets.middleware import SESSION_LANGUAGE_KEY
from tickets.selectors import preferences as preference_selectors
from tickets.services import audit
from tickets.services.deliveries import tracking as delivery_tracking


@receiver(user_logged_in, dispatch_uid="tickets.audit_login")
def audit_login(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    audit.record(action="auth.login", actor=user, target=user, request=request)


@receiver(user_logged_in, dispatch_uid="tickets.saved_language")
def restore_saved_language(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    """The language the person chose last time, on whichever computer they chose it."""
    if request is None or not hasattr(request, "session"):
        return
    language = preference_selectors.saved_language(user)
    if language:
        request.session[SESSION_LANGUAGE_KEY] = language


@receiver(user_logged_out, dispatch_uid="tickets.audit_logout")
def audit_logout(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    if user is not None:
        audit.record(action="auth.logout", actor=user, target=user, request=request)


@receiver(user_login_failed, dispatch_uid="tickets.audit_login_failed")
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the username typed: `credentials` also holds the password (masked by Django, but
    # nothing of it belongs in the log).
    username = str(credentials.get("username") or "")[:150]
    audit.record(
        action="auth.login_failed",
        target=_user_named(username),
        target_label=username,
        request=request,
    )


@receiver(user_locked_out, dispatch_uid="tickets.audit_locked_out")
def audit_locked_out(
    sender: Any, request: HttpRequest | None, username: str | None = None, **kwargs: Any
) -> None:
    typed = (username or "")[:150]
    audit.record(
        action="auth.locked_out", target=_user_named(typed), target_label=typed, request=request
    )


def _user_named(username: str) -> AbstractBaseUser | None:
    """The account a failed sign-in was for, when there is one (its log shows the attempts)."""
    if not username:
        return None
    return get_user_model().objects.filter(username=username).first()


@receiver(tracking, dispatch_uid="tickets.delivery_tracking")
def record_delivery_tracking(
    sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any
) -> None:
    delivery_tracking.record_tracking_event(event=event)


@receiver(task_started, dispatch_uid="tickets.task_log_id")
def task_log_id(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """The worker's log lines carry the task's id as web lines carry the request's."""
    current_request_id.set(f"task-{task_result.id}")


# django-tasks logs "state=RUNNING" from its own receiver, connected before ours: reconnected
# after it, so that line too carries the task's id.
task_started.disconnect(log_task_started)
task_started.connect(log_task_started)


@receiver(task_finished, dispatch_uid="tickets.task_log_id_end")
def task_log_id_end(sender: Any, task_result: Any, **kwargs: Any) -> None:
    current_request_id.set("-")
