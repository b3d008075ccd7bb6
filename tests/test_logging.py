"""Log lines are JSON (production's default) and each carries the id of its request, or of the
background task it belongs to; nothing of a guest page's key or a search's words is logged."""

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from django.urls import reverse

from backoffice.logging import RequestId
from tests.fixtures.worker import drain_tasks
from tickets.services.health import enqueue_worker_beat


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict]]]:
    """What the configured console handler has written so far, parsed line by line."""
    handler = next(
        h for h in logging.getLogger().handlers if any(isinstance(f, RequestId) for f in h.filters)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(previous)


@pytest.mark.django_db
def test_a_request_logs_one_json_line_with_its_id_and_route_never_its_path_or_query(
    client, manager, log_lines
):
    client.force_login(manager)
    answer = client.get(reverse("ticket-search"), {"q": "Zoe Secret-Surname"})
    client.get("/g/a-guest-page-key-that-must-stay-secret/")

    request_lines = [line for line in log_lines() if line["logger"] == "tickets.requests"]
    search, guest_page = request_lines
    assert search["request_id"] == answer["X-Request-ID"]
    assert (search["route"], search["status"], search["method"]) == ("ticket-search", 200, "GET")
    assert {"time", "level", "message", "duration_ms"} <= set(search)
    assert guest_page["status"] == 404
    written = json.dumps(log_lines())
    assert "Secret-Surname" not in written
    assert "a-guest-page-key-that-must-stay-secret" not in written


@pytest.mark.django_db
def test_a_proxys_request_id_is_kept_and_a_forged_one_replaced(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="from-the-proxy-1234")["X-Request-ID"] == (
        "from-the-proxy-1234"
    )
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" {"level": "fake"}')["X-Request-ID"]
    assert len(forged) == 32
    assert forged.isalnum()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_background_tasks_lines_carry_its_id(log_lines):
    enqueue_worker_beat()
    drain_tasks()
    # The lines the worker writes while it runs the task (its enqueueing was this test's).
    task_lines = [
        line
        for line in log_lines()
        if line["logger"] == "django_tasks" and "state=" in line["message"]
    ]
    assert len(task_lines) == 2  # running, then successful
    (task_id,) = {line["request_id"] for line in task_lines}
    assert task_id.startswith("task-")
