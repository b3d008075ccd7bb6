"""The sandbox counts each key's requests and the busiest one-second window, for benchmarks and
tests that check the backoffice kept under Fourvenues' limit."""

import requests

from tickets.fourvenues.sandbox.traffic import Traffic, busiest_window, key_label


def test_the_busiest_window_slides_rather_than_following_the_clocks_seconds():
    # Two in the end of one clock second and two at the start of the next: four within 1 s.
    assert busiest_window([0.1, 0.8, 0.9, 1.05, 1.1, 2.5]) == 4
    assert busiest_window([0.0, 1.0, 2.0]) == 1  # half-open: 1.0 is the next window's
    assert busiest_window([]) == 0


def test_traffic_is_counted_per_key_and_names_no_key():
    now = iter([0.0, 0.05, 0.1, 5.0])
    traffic = Traffic(clock=lambda: next(now))
    for credential in ("key:a", "key:a", "key:b", "key:a"):
        traffic.count(credential)
    assert traffic.summary() == {
        key_label("key:a"): {"requests": 3, "busiest_second": 2},
        key_label("key:b"): {"requests": 1, "busiest_second": 1},
    }
    assert "key:a" not in str(traffic.summary())


def test_the_control_api_shows_and_clears_the_traffic(sandbox):
    for _ in range(3):
        requests.get(f"{sandbox.base_url}/channels/", headers=sandbox.api_headers(), timeout=5)
    summary = requests.get(f"{sandbox.control_url}/traffic", timeout=5).json()["data"]
    (counts,) = summary.values()
    assert counts["requests"] == 3
    assert 1 <= counts["busiest_second"] <= 3
    assert sandbox.api_headers()["X-Api-Key"] not in str(summary)
    requests.delete(f"{sandbox.control_url}/traffic", timeout=5)
    assert requests.get(f"{sandbox.control_url}/traffic", timeout=5).json()["data"] == {}
