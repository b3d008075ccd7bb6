"""The address a request came from, the same for the login lockout (axes), the guest pages' rate
limit and the audit log.

Behind reverse proxies every request arrives from the nearest proxy, so `REMOTE_ADDR` alone
would lock everyone out at once when one person mistypes. Each trusted proxy appends the address
it was reached from to `X-Forwarded-For`, so with N proxies the client is the N-th entry from the
right; whatever stands further left was written by the client and proves nothing.
`COMPS_TRUSTED_PROXY_COUNT` says how many there are (0, the default: none, `REMOTE_ADDR`).

Written here rather than through django-ipware: ipware counts proxies within the header, and
with one proxy and an honest one-entry header it answers no address at all, while a forged
two-entry header makes its default left-most order trust the forged part.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.COMPS_TRUSTED_PROXY_COUNT
    if proxies < 1:
        return remote
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(forwarded) < proxies:
        return remote  # not through the proxies (a health check from inside): who it is
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
