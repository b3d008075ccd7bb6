"""manage.py fourvenues_sandbox: options become the right SandboxServer configuration."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tickets.fourvenues.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_SECRET,
    FaultSpec,
    SandboxServer,
)
from tickets.management.commands.fourvenues_sandbox import Command, server_kwargs


def parse(*argv):
    parser = Command().create_parser("manage.py", "fourvenues_sandbox")
    return server_kwargs(vars(parser.parse_args(argv)))


def test_defaults(settings):
    del settings.FOURVENUES_SANDBOX_PORT  # fall back to the command's own default
    assert parse() == {
        "host": "127.0.0.1",
        "port": 8765,
        "seed": 1,
        "api_key": DEFAULT_API_KEY,
        "integration_id": DEFAULT_INTEGRATION_ID,
        "secret": DEFAULT_SECRET,
        "allowed_sale_types": ("online",),
        "strict_quantity": True,
        "state_file": None,
        "faults": [],
    }


def test_default_port_comes_from_settings(settings):
    settings.FOURVENUES_SANDBOX_PORT = 9100
    assert parse()["port"] == 9100


def test_every_option(tmp_path):
    state = tmp_path / "state.json"
    kwargs = parse(
        "--host=0.0.0.0",
        "--port=0",
        "--seed=42",
        "--api-key=ik_test_x",
        "--integration-id=int-x",
        "--secret=sec-x",
        f"--state-file={state}",
        "--allowed-sale-types=online, invitation",
        "--lenient-quantity",
        "--fault=error_after_commit:status=503,match_method=POST,match_path=/tickets",
        "--fault=rate_limit:per_second=10,retry_after=2",
        "--response-shape=array",
        "--latency=0.25",
    )
    assert kwargs["host"] == "0.0.0.0"
    assert (kwargs["port"], kwargs["seed"]) == (0, 42)
    assert (kwargs["api_key"], kwargs["integration_id"], kwargs["secret"]) == (
        "ik_test_x",
        "int-x",
        "sec-x",
    )
    assert kwargs["state_file"] == str(state)
    assert kwargs["allowed_sale_types"] == ("online", "invitation")
    assert kwargs["strict_quantity"] is False
    assert kwargs["faults"] == [
        FaultSpec(
            "error_after_commit",
            {"status": 503},
            match_method="POST",
            match_path="/tickets",
            times=0,
        ),
        FaultSpec("rate_limit", {"per_second": 10, "retry_after": 2}, times=0),
        FaultSpec("response_shape", {"shape": "array"}, times=0),
        FaultSpec("latency", {"seconds": 0.25}, times=0),
    ]


def test_a_fault_may_set_its_own_times():
    [fault] = parse("--fault=malformed_json:times=2")["faults"]
    assert fault.times == 2


def test_parsed_options_build_a_working_server():
    server = SandboxServer(**parse("--port=0", "--fault=latency:seconds=0"))
    try:
        assert server.active_faults()[0]["times"] == 0
        assert server.catalogue.seed == 1
    finally:
        server.stop()


@pytest.mark.parametrize(
    "argv",
    [
        ["--fault=explode"],
        ["--fault=latency:seconds"],
        ["--fault=latency:seconds=-1"],
        ["--response-shape=list"],
        ["--latency=-1"],
        ["--allowed-sale-types=,"],
    ],
    ids=["unknown-kind", "no-value", "bad-value", "shape", "latency", "no-sale-types"],
)
def test_bad_options_are_refused(argv):
    with pytest.raises(CommandError):
        parse(*argv)


def test_an_unreadable_state_file_stops_the_command_before_serving(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{broken", encoding="utf-8")
    with pytest.raises(CommandError, match="Cannot load sandbox state"):
        call_command("fourvenues_sandbox", "--port=0", f"--state-file={state}")
