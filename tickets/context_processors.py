"""What every page shows whoever is looking: the test-environment banner, for admins the
credentials about to expire, and in the demo the link to the training mailbox."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from tickets import roles
from tickets.models import Environment
from tickets.selectors import credentials as credential_selectors


def banners(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    # Only the environment: every page pays for this, and a credential row means decrypting.
    environment = credential_selectors.issuing_environment()
    expiring = (
        credential_selectors.expiring_credentials()
        if user is not None and user.has_perm(roles.MANAGE_CREDENTIALS)
        else []
    )
    return {
        "test_environment": environment == Environment.ALPHA,
        "expiring_credentials": expiring,
        # Only where the local mail server keeps what it receives (`make run`), never in production.
        "training_mailbox": bool(settings.COMPS_MAILBOX_DIR),
    }
