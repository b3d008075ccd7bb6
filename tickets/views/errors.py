"""Error handlers of our own (`handler400` in backoffice/urls.py)."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views import defaults

from tickets import roles
from tickets.views import issue


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400, except for a list pasted into the import beyond the request size limit:
    Django refuses it before any view runs (reading the form for the CSRF token), so the
    import's own message can only be given here."""
    if (
        isinstance(exception, RequestDataTooBig)
        and request.path == reverse("issue-import")
        and request.user.has_perm(roles.ISSUE_COMPS)
    ):
        return issue.import_too_big(request)
    return defaults.bad_request(request, exception)
