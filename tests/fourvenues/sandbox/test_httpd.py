"""HTTP plumbing: keep-alive, chunked and oversized bodies, concurrency, clean shutdown."""

import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.fixtures.sandbox import HTTP_TIMEOUT, api_post, comp_body
from tickets.fourvenues.sandbox import SandboxServer
from tickets.fourvenues.sandbox.httpd import MAX_BODY_BYTES


def test_one_keep_alive_connection_serves_many_requests(sandbox):
    with requests.Session() as session:
        session.headers.update(sandbox.api_headers())
        for _ in range(5):
            response = session.get(f"{sandbox.base_url}/channels/", timeout=HTTP_TIMEOUT)
            assert response.status_code == 200
        assert response.headers.get("Connection", "").lower() != "close"


def test_chunked_request_body(sandbox):
    payload = json.dumps(comp_body(sandbox)).encode()
    chunks = (payload[i : i + 50] for i in range(0, len(payload), 50))
    response = requests.post(
        f"{sandbox.base_url}/tickets/",
        data=chunks,  # a generator makes requests send Transfer-Encoding: chunked
        headers={**sandbox.api_headers(), "Content-Type": "application/json"},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200
    assert len(sandbox.tickets()) == 1


def test_oversized_body_is_413_and_closes_the_connection(sandbox):
    with socket.create_connection((sandbox.host, sandbox.port), timeout=HTTP_TIMEOUT) as sock:
        sock.sendall(
            b"POST /integrations/tickets/ HTTP/1.1\r\nHost: x\r\n"
            + f"X-Api-Key: {sandbox.api_headers()['X-Api-Key']}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"Connection: close" in answer
    assert sandbox.tickets() == []


def test_concurrent_creates_are_all_stored_with_unique_codes(sandbox):
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda _: api_post(sandbox, "/tickets/", comp_body(sandbox)).status_code, range(40)
            )
        )
    assert statuses == [200] * 40
    tickets = sandbox.tickets()
    assert len(tickets) == 40
    assert len({t["code"] for t in tickets}) == 40
    assert len({t["created_at"] for t in tickets}) == 40


def test_stop_with_an_idle_keep_alive_client_is_prompt():
    server = SandboxServer().start()
    session = requests.Session()
    session.get(f"{server.base_url}/channels/", headers=server.api_headers(), timeout=5)
    server.stop(timeout=2)  # must not wait for the idle connection's 60 s timeout
    with pytest.raises(requests.ConnectionError):
        session.get(f"{server.base_url}/channels/", headers=server.api_headers(), timeout=2)
    session.close()


def test_stop_is_idempotent_and_a_context_manager_stops():
    with SandboxServer() as server:
        url = server.base_url
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)
