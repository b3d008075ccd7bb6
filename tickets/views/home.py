from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets.selectors import catalogue as catalogue_selectors
from tickets.selectors import credentials as credential_selectors


def home(request: HttpRequest) -> HttpResponse:
    credential = credential_selectors.active_credential()
    refreshed_at = (
        catalogue_selectors.last_catalogue_refresh(environment=credential.environment)
        if credential is not None
        else None
    )
    return render(
        request,
        "tickets/home.html",
        {"credential": credential, "catalogue_refreshed_at": refreshed_at},
    )
