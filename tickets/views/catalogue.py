from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tickets import roles
from tickets.selectors import credentials as credential_selectors
from tickets.services.catalogue import CatalogueRefreshError, refresh_catalogue


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
    """The "Refresh catalogue" button: mirror Fourvenues now, and say how it went."""
    credential = credential_selectors.active_credential()
    if credential is None:
        messages.error(
            request, "No Fourvenues credential is active, so there is nothing to refresh."
        )
        return _back(request)
    try:
        result = refresh_catalogue(credential=credential, actor=request.user)
    except CatalogueRefreshError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, result.summary())
    return _back(request)
