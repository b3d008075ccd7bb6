from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tickets.selectors import health


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and uptime checks: is the app up, can it reach its database, and have
    a worker and the scheduler been seen working lately?

    Only the database decides the status code: a load balancer should keep sending people to a
    web app whose workers are down (they can still search and read); "degraded" says so.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        ages = health.seconds_since_seen()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    processes = {
        process: {
            "seen_seconds_ago": None if age is None else round(age),
            "alive": health.is_alive(age),
        }
        for process, age in ages.items()
    }
    alive = all(entry["alive"] for entry in processes.values())
    return JsonResponse({"status": "ok" if alive else "degraded", "database": "ok", **processes})
