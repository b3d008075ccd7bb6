"""The home page: for each role what they open the product for. An issuer sees a start button,
what needs them and their recent issuances; a manager the coming nights, open differences and
who issued most this week; an admin the health of the connection to Fourvenues. Whoever may
refresh the catalogue sees how fresh it is, with the button."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets import roles
from tickets.selectors import approvals as approval_selectors
from tickets.selectors import audit as audit_selectors
from tickets.selectors import catalogue as catalogue_selectors
from tickets.selectors import credentials as credential_selectors
from tickets.selectors import issuances as issuance_selectors
from tickets.selectors import reconciliation as reconciliation_selectors
from tickets.selectors import reports as report_selectors

RECENT = 5  # issuances listed on an issuer's home page
WEEK = 7  # days: the coming nights, the top issuers, failed logins
OLDEST_APPROVALS = 3  # requests waiting longest, listed on a manager's home page


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    credential = credential_selectors.active_credential()
    context: dict[str, Any] = {"credential": credential}
    if user.has_perm(roles.ISSUE_COMPS):
        context.update(_issuer_part(user))
    if user.has_perm(roles.VIEW_ALL_ISSUANCES):
        context.update(_manager_part(user))
    if user.has_perm(roles.MANAGE_CREDENTIALS):
        context.update(_admin_part())
    if credential is not None and user.has_perm(roles.REFRESH_CATALOGUE):
        context["catalogue_state"] = catalogue_selectors.catalogue_refresh_state(
            environment=credential.environment
        )
    return render(request, "tickets/home/home.html", context)


def _issuer_part(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    return {
        "needing_action": list(issuance_selectors.issuances_needing_action(user)[:RECENT]),
        "recent_issuances": list(issuance_selectors.issuance_list(user, only_mine=True)[:RECENT]),
    }


def _manager_part(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    return {
        "nights": report_selectors.upcoming_nights(days=WEEK),
        "top_issuers": report_selectors.top_issuers(days=WEEK),
        "open_discrepancies": (
            reconciliation_selectors.open_discrepancy_count()
            if user.has_perm(roles.RECONCILE_TICKETS)
            else None
        ),
        "week": WEEK,
        **_approvals_part(user),
    }


def _approvals_part(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    if not user.has_perm(roles.APPROVE_ISSUANCES):
        return {}
    return {
        "approvals_waiting": approval_selectors.waiting_count(),
        "oldest_approvals": list(approval_selectors.waiting_requests()[:OLDEST_APPROVALS]),
    }


def _admin_part() -> dict[str, Any]:
    return {
        "credential_health": credential_selectors.credential_health(),
        "last_reconciliation": reconciliation_selectors.reconciliation_runs().first(),
        "failed_logins": audit_selectors.recent_failed_logins(days=WEEK),
    }
