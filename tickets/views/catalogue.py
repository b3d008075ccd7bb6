"""The catalogue: "Refresh catalogue" queues a refresh for the worker, and the home page follows
it (htmx polls the status line until the refresh has ended)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets import roles
from tickets.selectors import catalogue as catalogue_selectors
from tickets.selectors import credentials as credential_selectors
from tickets.services.catalogue import request_catalogue_refresh


def _back(request: HttpRequest) -> HttpResponseRedirect:
    # `next` comes from the page that posted the form; only ever follow it within this site, and
    # only as a path (anything else, e.g. "abc", would be taken for a view name or a relative URL).
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect("home")


@require_POST
@permission_required(roles.REFRESH_CATALOGUE, raise_exception=True)
def refresh_catalogue_view(request: HttpRequest) -> HttpResponseRedirect:
    """The "Refresh catalogue" button: a refresh takes seconds, so the worker does it."""
    credential = credential_selectors.active_credential()
    if credential is None:
        messages.error(
            request, _("No Fourvenues credential is active, so there is nothing to refresh.")
        )
        return _back(request)
    if request_catalogue_refresh(credential=credential, actor=request.user):
        messages.info(
            request,
            _(
                "Refreshing the catalogue from Fourvenues in the background. The home page "
                "says when it is done; you can go on working meanwhile."
            ),
        )
    else:
        messages.info(request, _("A catalogue refresh is already under way."))
    return _back(request)


@require_GET
@login_required
def catalogue_status(request: HttpRequest) -> HttpResponse:
    """The home page's catalogue line, polled (htmx) while a refresh is queued or running: it
    says "Refreshing…", then the new time and how the refresh went."""
    credential = credential_selectors.active_credential()
    state = (
        catalogue_selectors.catalogue_refresh_state(environment=credential.environment)
        if credential is not None
        else None
    )
    return render(request, "tickets/home/_catalogue.html", {"catalogue_state": state})
