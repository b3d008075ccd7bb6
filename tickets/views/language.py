"""The language switch, in the navigation and on the login page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from tickets.middleware import SESSION_LANGUAGE_KEY
from tickets.services import preferences


@login_not_required
@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's own view sets the cookie (the login page, the next visit) and goes back to the
    page; for a signed-in person the choice is also saved on them, for every computer."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES) and request.user.is_authenticated:
        preferences.choose_language(request.user, language)
        request.session[SESSION_LANGUAGE_KEY] = language
    return response
