from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets import selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tickets/home.html",
        {"credential": selectors.active_credential()},
    )
