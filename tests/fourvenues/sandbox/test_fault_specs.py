"""Fault specifications and matching, without a server."""

import pytest

from tickets.fourvenues.sandbox import FAULT_KINDS, FaultError, FaultSpec
from tickets.fourvenues.sandbox.faults import Fault, FaultPlan


def test_the_eleven_kinds():
    assert FAULT_KINDS == (
        "latency",
        "timeout_after_commit",
        "error_before_commit",
        "error_after_commit",
        "reset_after_commit",
        "malformed_json",
        "success_false",
        "rate_limit",
        "response_shape",
        "promoter_object",
        "missing_fields",
    )


@pytest.mark.parametrize(
    ("kind", "defaults"),
    [
        ("latency", {"seconds": 1.0}),
        ("timeout_after_commit", {"seconds": 30.0}),
        ("error_before_commit", {"status": 500}),
        ("error_after_commit", {"status": 502}),
        ("success_false", {"commit": False}),
        ("rate_limit", {"per_second": 10.0, "retry_after": None, "burst": None}),
        ("response_shape", {"shape": "object"}),
        ("reset_after_commit", {}),
        ("malformed_json", {}),
        ("promoter_object", {"id_key": "_id"}),
        ("missing_fields", {"fields": ["price", "total_paid", "status"]}),
    ],
)
def test_parameter_defaults(kind, defaults):
    params = FaultSpec(kind).params
    assert {k: params[k] for k in defaults} == defaults


def test_parse_command_line_form():
    spec = FaultSpec.parse("success_false:commit=true,message=Oops ,match_method=post")
    assert spec.kind == "success_false"
    assert spec.params == {"commit": True, "message": "Oops"}
    assert spec.match_method == "POST"
    assert spec.times == 0


def test_parse_kind_alone():
    assert FaultSpec.parse("reset_after_commit") == FaultSpec("reset_after_commit", times=0)


@pytest.mark.parametrize(
    "text", ["", "latency:seconds", "latency:=1", "latency:seconds=x", "nope:a=1"]
)
def test_parse_refuses_nonsense(text):
    with pytest.raises(FaultError):
        FaultSpec.parse(text)


@pytest.mark.parametrize(
    ("match_path", "path", "expected"),
    [
        ("/tickets", "/tickets/", True),
        ("/tickets", "/tickets", True),
        ("/tickets/", "/tickets/abc/checkin", True),
        ("tickets", "/tickets/by-code/X", True),
        ("/tickets", "/tickets-rates/", False),
        ("/tickets/refund", "/tickets/", False),
        ("/", "/channels/", True),
        (None, "/anything", True),
    ],
)
def test_path_matching_is_by_whole_segments(match_path, path, expected):
    fault = Fault(1, FaultSpec("latency", match_path=match_path))
    assert fault.matches("GET", path) is expected


def test_method_matching_ignores_case():
    fault = Fault(1, FaultSpec("latency", match_method="post"))
    assert fault.matches("POST", "/tickets/")
    assert not fault.matches("GET", "/tickets/")


def test_token_bucket_refills_at_the_rate():
    now = [100.0]
    plan = FaultPlan(
        [FaultSpec("rate_limit", {"per_second": 2, "burst": 2}, times=0)], clock=lambda: now[0]
    )

    def throttled():
        return plan.decide("GET", "/channels/", credential="k", is_create=False).throttled

    assert [throttled() is None for _ in range(3)] == [True, True, False]
    now[0] += 0.5  # one token at 2 per second
    assert [throttled() is None for _ in range(2)] == [True, False]


def test_decision_sums_latencies_and_picks_the_first_outcome():
    plan = FaultPlan(
        [
            FaultSpec("latency", {"seconds": 0.5}),
            FaultSpec("error_after_commit"),
            FaultSpec("latency", {"seconds": 0.25}),
            FaultSpec("malformed_json"),
        ]
    )
    decision = plan.decide("GET", "/x", credential="k", is_create=False)
    assert decision.latency == 0.75
    assert decision.outcome.kind == "error_after_commit"
    assert [f["kind"] for f in plan.active()] == ["malformed_json"]
