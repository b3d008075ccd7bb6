"""Logins, failed logins and lockouts into the audit log. The receivers only record: the
decisions (throttling, lockout) belong to django-axes."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from tickets.services import audit


@receiver(user_logged_in, dispatch_uid="tickets.audit_login")
def audit_login(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    audit.record(
        action="auth.login", actor=user, target=f"user:{user.get_username()}", request=request
    )


@receiver(user_logged_out, dispatch_uid="tickets.audit_logout")
def audit_logout(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    if user is not None:
        audit.record(
            action="auth.logout", actor=user, target=f"user:{user.get_username()}", request=request
        )


@receiver(user_login_failed, dispatch_uid="tickets.audit_login_failed")
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the username typed: `credentials` also holds the password (masked by Django, but
    # nothing of it belongs in the log).
    username = str(credentials.get("username") or "")[:150]
    audit.record(action="auth.login_failed", target=f"user:{username}", request=request)


@receiver(user_locked_out, dispatch_uid="tickets.audit_locked_out")
def audit_locked_out(
    sender: Any, request: HttpRequest | None, username: str | None = None, **kwargs: Any
) -> None:
    audit.record(action="auth.locked_out", target=f"user:{(username or '')[:150]}", request=request)
