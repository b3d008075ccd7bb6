from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets import selectors


def home(request: HttpRequest) -> HttpResponse:
    credential = selectors.active_credential()
    refreshed_at = (
        selectors.last_catalogue_refresh(environment=credential.environment)
        if credential is not None
        else None
    )
    return render(
        request,
        "tickets/home.html",
        {"credential": credential, "catalogue_refreshed_at": refreshed_at},
    )
