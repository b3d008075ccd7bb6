"""Fault injection for the sandbox: the ways a real API call can go wrong, on demand.

A *fault* is a kind (one of :data:`FAULT_KINDS`), its parameters, an optional request matcher
(``match_method``, and ``match_path``: a path prefix relative to ``/integrations`` matched on
whole segments, so ``/tickets`` matches ``/tickets/`` and ``/tickets/abc`` but not
``/tickets-rates/``) and ``times``: how often it fires before it is used up (default 1; ``0`` or
``None`` keeps it until cleared). ``after`` lets that many matching requests through untouched
first, so a fault can strike in the middle of a paged listing.

For each ``/integrations`` request the plan decides, in the faults' insertion order:

1. ``rate_limit``: when a matching bucket is empty the request is answered 429 and nothing
   else happens. It *fires* (and counts against ``times``) only when it rejects a request.
2. ``latency``: every matching latency fault fires; the delays add up.
3. at most one *outcome* fault (the first that matches): ``timeout_after_commit``,
   ``error_before_commit``, ``error_after_commit``, ``reset_after_commit``, ``malformed_json``,
   ``success_false``. Two one-shot outcome faults therefore hit two successive requests.
4. ``response_shape``: the first matching one, and only on ``POST /tickets/`` creates.
5. the *document* faults, ``promoter_object`` and ``missing_fields``: every matching one, and
   only on requests that answer tickets (listings, by id, by code, creates). They reshape the
   ticket documents of a successful answer as some real Fourvenues accounts send them; what is
   stored does not change.

The "after commit" kinds run the request first, whatever its own outcome (a validation error
included), and then replace the answer, as a proxy or a crashed server would. On a request that
changes nothing "commit" simply means "handled".

Refunds (``POST /tickets/refund/{id}``, how Comps withdraws a comp) take every outcome fault and
the rate limit as creates do: ``match_path="/tickets/refund"`` aims a fault at them alone.
"After commit" there means the refund was applied (a comp cancelled) before the answer was lost;
``success_false`` without ``commit`` leaves the ticket as it was.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

LATENCY = "latency"
TIMEOUT_AFTER_COMMIT = "timeout_after_commit"
ERROR_BEFORE_COMMIT = "error_before_commit"
ERROR_AFTER_COMMIT = "error_after_commit"
RESET_AFTER_COMMIT = "reset_after_commit"
MALFORMED_JSON = "malformed_json"
SUCCESS_FALSE = "success_false"
RATE_LIMIT = "rate_limit"
RESPONSE_SHAPE = "response_shape"
PROMOTER_OBJECT = "promoter_object"
MISSING_FIELDS = "missing_fields"

FAULT_KINDS = (
    LATENCY,
    TIMEOUT_AFTER_COMMIT,
    ERROR_BEFORE_COMMIT,
    ERROR_AFTER_COMMIT,
    RESET_AFTER_COMMIT,
    MALFORMED_JSON,
    SUCCESS_FALSE,
    RATE_LIMIT,
    RESPONSE_SHAPE,
    PROMOTER_OBJECT,
    MISSING_FIELDS,
)
OUTCOME_KINDS = frozenset(
    {
        TIMEOUT_AFTER_COMMIT,
        ERROR_BEFORE_COMMIT,
        ERROR_AFTER_COMMIT,
        RESET_AFTER_COMMIT,
        MALFORMED_JSON,
        SUCCESS_FALSE,
    }
)
DOCUMENT_KINDS = frozenset({PROMOTER_OBJECT, MISSING_FIELDS})
SHAPE_OBJECT = "object"
SHAPE_ARRAY = "array"
ID_KEYS = ("_id", "id")
DEFAULT_MISSING_FIELDS = ("price", "total_paid", "status")

FAULT_DESCRIPTIONS = {
    LATENCY: "Delay the request by `seconds` before handling it.",
    TIMEOUT_AFTER_COMMIT: (
        "Handle the request (tickets are stored), then hang for `seconds` and close the "
        "connection without answering."
    ),
    ERROR_BEFORE_COMMIT: "Answer `status` with an error body without handling the request.",
    ERROR_AFTER_COMMIT: "Handle the request (tickets are stored), then answer `status`.",
    RESET_AFTER_COMMIT: "Handle the request, then reset the TCP connection without answering.",
    MALFORMED_JSON: "Handle the request, then answer 200 with truncated JSON.",
    SUCCESS_FALSE: (
        'Answer 200 {"success": false}; the request is handled (stored) only when `commit` is true.'
    ),
    RATE_LIMIT: (
        "Token bucket per credential: over `per_second` (bursts of `burst`) answer 429; "
        "send Retry-After only when `retry_after` is set."
    ),
    RESPONSE_SHAPE: (
        "POST /tickets/ answers `data` as the first created ticket (`object`, as documented) "
        "or as the list of created tickets (`array`)."
    ),
    PROMOTER_OBJECT: (
        "Tickets answered carry `referral_id` as the promoter object "
        '`{<id_key>: ..., "name": ..., "email": ...}` instead of its id; `id_key` is `_id` or `id`.'
    ),
    MISSING_FIELDS: (
        "Tickets answered leave out `fields` (amounts, `status`...), as some real accounts do; "
        "the stored tickets keep them."
    ),
}


class FaultError(ValueError):
    """An unknown fault kind or a bad parameter; the control endpoint answers it with 400."""


# --------------------------------------------------------------------------- parameter rules


def _number(minimum: float, *, exclusive: bool = False) -> Callable[[str, Any], float]:
    def check(name: str, value: Any) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and math.isfinite(value) and (value > minimum if exclusive else value >= minimum):
            return float(value)
        relation = ">" if exclusive else ">="
        raise FaultError(f"{name} must be a number {relation} {minimum:g}")

    return check


def _integer(minimum: int, maximum: int | None = None) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and value >= minimum and (maximum is None or value <= maximum):
            return value
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise FaultError(f"{name} must be an integer {bounds}")

    return check


def _optional(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    def optional(name: str, value: Any) -> Any:
        return None if value is None else check(name, value)

    return optional


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FaultError(f"{name} must be true or false")
    return value


def _message(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise FaultError(f"{name} must be a non-empty string")
    return value


def _id_key(name: str, value: Any) -> str:
    if value not in ID_KEYS:
        raise FaultError(f"{name} must be {ID_KEYS[0]!r} or {ID_KEYS[1]!r}")
    return value


def _field_names(name: str, value: Any) -> list[str]:
    if isinstance(value, str):  # the command line's `fields=price` names one field
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item.strip() and item != "_id" for item in value)
    ):
        raise FaultError(f"{name} must be a non-empty list of field names (never _id)")
    return [item.strip() for item in value]


def _shape(name: str, value: Any) -> str:
    if value not in (SHAPE_OBJECT, SHAPE_ARRAY):
        raise FaultError(f"{name} must be {SHAPE_OBJECT!r} or {SHAPE_ARRAY!r}")
    return value


_Rule = tuple[Callable[[str, Any], Any], Any]  # (validator, default)

_PARAM_RULES: dict[str, dict[str, _Rule]] = {
    LATENCY: {"seconds": (_number(0), 1.0)},
    TIMEOUT_AFTER_COMMIT: {"seconds": (_number(0), 30.0)},
    ERROR_BEFORE_COMMIT: {
        "status": (_integer(400, 599), 500),
        "message": (_message, "Sandbox fault: internal error before commit"),
    },
    ERROR_AFTER_COMMIT: {
        "status": (_integer(400, 599), 502),
        "message": (_message, "Sandbox fault: bad gateway after commit"),
    },
    RESET_AFTER_COMMIT: {},
    MALFORMED_JSON: {},
    SUCCESS_FALSE: {
        "commit": (_boolean, False),
        "message": (_message, "Sandbox fault: the operation did not succeed"),
    },
    RATE_LIMIT: {
        "per_second": (_number(0, exclusive=True), 10.0),
        "burst": (_optional(_integer(1)), None),
        "retry_after": (_optional(_integer(0)), None),
    },
    RESPONSE_SHAPE: {"shape": (_shape, SHAPE_OBJECT)},
    PROMOTER_OBJECT: {"id_key": (_id_key, "_id")},
    MISSING_FIELDS: {"fields": (_field_names, list(DEFAULT_MISSING_FIELDS))},
}

FAULT_PARAM_DEFAULTS: dict[str, dict[str, Any]] = {
    kind: {name: default for name, (_, default) in rules.items()}
    for kind, rules in _PARAM_RULES.items()
}
"""Every kind's parameters and their defaults (shown on the control index)."""


def _normalise_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    rules = _PARAM_RULES[kind]
    unknown = sorted(set(params) - set(rules))
    if unknown:
        allowed = ", ".join(rules) or "none"
        raise FaultError(
            f"unknown parameter(s) for {kind}: {', '.join(unknown)} (allowed: {allowed})"
        )
    normalised = {}
    for name, (check, default) in rules.items():
        normalised[name] = check(name, params[name]) if name in params else default
    return normalised


def _normalise_path(path: str) -> str:
    return "/" + path.strip().strip("/")


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class FaultSpec:
    """What to inject: the validated, normalised description of one fault."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    match_method: str | None = None
    match_path: str | None = None
    times: int = 1
    """How often the fault fires before it is used up; ``0`` keeps it until cleared."""
    after: int = 0
    """Matching requests let through untouched before the fault applies."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(f"unknown fault kind {self.kind!r} (known: {', '.join(FAULT_KINDS)})")
        if not isinstance(self.params, Mapping):
            raise FaultError("params must be an object")
        object.__setattr__(self, "params", _normalise_params(self.kind, self.params))
        times = 0 if self.times is None else self.times
        if isinstance(times, bool) or not isinstance(times, int) or times < 0:
            raise FaultError("times must be a non-negative integer (0 or null: until cleared)")
        object.__setattr__(self, "times", times)
        if isinstance(self.after, bool) or not isinstance(self.after, int) or self.after < 0:
            raise FaultError("after must be a non-negative integer")
        for name in ("match_method", "match_path"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise FaultError(f"{name} must be a non-empty string or null")
        if self.match_method is not None:
            object.__setattr__(self, "match_method", self.match_method.strip().upper())
        if self.match_path is not None:
            object.__setattr__(self, "match_path", _normalise_path(self.match_path))

    @classmethod
    def from_dict(cls, data: Any) -> FaultSpec:
        """A spec from the control endpoint's JSON ``{"kind", "params", "match_method",
        "match_path", "times", "after"}``."""
        if not isinstance(data, Mapping):
            raise FaultError("a fault must be a JSON object")
        known = {"kind", "params", "match_method", "match_path", "times", "after"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultError(f"unknown field(s): {', '.join(unknown)}")
        if "kind" not in data:
            raise FaultError("kind is required")
        return cls(
            kind=data["kind"],
            params=data.get("params") or {},
            match_method=data.get("match_method"),
            match_path=data.get("match_path"),
            times=data.get("times", 1),
            after=data.get("after", 0),
        )

    @classmethod
    def parse(cls, text: str, *, times: int = 0) -> FaultSpec:
        """A spec from the command-line form ``KIND[:key=value,key=value]``.

        Values are read as JSON when they parse (``seconds=0.5``, ``commit=true``), else as
        text (``shape=array``). ``match_method``, ``match_path`` and ``times`` may appear among
        the pairs; ``times`` defaults to 0 (persistent), as start-up faults usually are.
        """
        kind, _, rest = text.strip().partition(":")
        params: dict[str, Any] = {}
        options: dict[str, Any] = {"times": times}
        for pair in filter(None, (p.strip() for p in rest.split(","))):
            key, sep, raw = pair.partition("=")
            if not sep or not key.strip():
                raise FaultError(f"expected key=value, got {pair!r}")
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
            options_keys = ("match_method", "match_path", "times", "after")
            target = options if key.strip() in options_keys else params
            target[key.strip()] = value
        return cls(kind=kind.strip(), params=params, **options)


def as_spec(fault: FaultSpec | Mapping[str, Any]) -> FaultSpec:
    """Accept a :class:`FaultSpec` or its dict form (as POSTed to the control endpoint)."""
    return fault if isinstance(fault, FaultSpec) else FaultSpec.from_dict(fault)


# --------------------------------------------------------------------------- plan


class Fault:
    """An active fault: a spec plus its id, remaining uses and (for rate limits) buckets."""

    def __init__(self, fault_id: int, spec: FaultSpec) -> None:
        self.id = fault_id
        self.spec = spec
        self.remaining: int | None = spec.times or None
        self.fired = 0
        self.waiting = spec.after
        self._buckets: dict[str, tuple[float, float]] = {}

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def params(self) -> Mapping[str, Any]:
        return self.spec.params

    def matches(self, method: str, path: str) -> bool:
        """Whether the request (``path`` relative to ``/integrations``) is in scope."""
        spec = self.spec
        if spec.match_method is not None and spec.match_method != method.upper():
            return False
        if spec.match_path is None or spec.match_path == "/":
            return True
        path = _normalise_path(path)
        return path == spec.match_path or path.startswith(spec.match_path + "/")

    def applies(self, method: str, path: str) -> bool:
        """Whether the fault applies to this request: in scope, and past its `after` count."""
        if not self.matches(method, path):
            return False
        if self.waiting:
            self.waiting -= 1
            return False
        return True

    def take_token(self, credential: str, now: float) -> bool:
        """Rate limit: spend one token of ``credential``'s bucket; ``False`` when empty."""
        rate = self.params["per_second"]
        capacity = float(self.params["burst"] or max(1, math.ceil(rate)))
        tokens, last = self._buckets.get(credential, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        allowed = tokens >= 1
        self._buckets[credential] = (tokens - 1 if allowed else tokens, now)
        return allowed

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as the control endpoint lists it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "params": dict(self.params),
            "match_method": self.spec.match_method,
            "match_path": self.spec.match_path,
            "times": self.spec.times,
            "after": self.spec.after,
            "remaining": self.remaining,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class Decision:
    """What the faults do to one request (see the module docstring for the order)."""

    throttled: Fault | None = None
    latency: float = 0.0
    outcome: Fault | None = None
    shape: str = SHAPE_OBJECT
    documents: tuple[Fault, ...] = ()
    """The document faults that reshape the tickets of this answer, in insertion order."""


class FaultPlan:
    """The active faults, safe to change from any thread while requests are served."""

    def __init__(
        self,
        faults: Iterable[FaultSpec | Mapping[str, Any]] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._clock = clock
        for fault in faults:
            self.add(fault)

    def add(self, fault: FaultSpec | Mapping[str, Any]) -> dict[str, Any]:
        """Activate a fault (after validating it); returns its JSON form."""
        spec = as_spec(fault)
        with self._lock:
            active = Fault(next(self._ids), spec)
            self._faults.append(active)
            return active.to_dict()

    def remove(self, fault_id: int) -> bool:
        """Deactivate one fault; ``False`` if no such fault is active."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> int:
        """Deactivate every fault; returns how many there were."""
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            return count

    def active(self) -> list[dict[str, Any]]:
        """JSON forms of the active faults, in the order they apply."""
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def decide(
        self,
        method: str,
        path: str,
        *,
        credential: str,
        is_create: bool,
        serves_tickets: bool = False,
    ) -> Decision:
        """Pick (and use up) the faults that apply to one request."""
        with self._lock:
            now = self._clock()
            matching = [f for f in self._faults if f.applies(method, path)]
            for fault in matching:
                if fault.kind == RATE_LIMIT and not fault.take_token(credential, now):
                    self._fire(fault)
                    return Decision(throttled=fault)
            latency = 0.0
            for fault in matching:
                if fault.kind == LATENCY:
                    latency += fault.params["seconds"]
                    self._fire(fault)
            outcome = next((f for f in matching if f.kind in OUTCOME_KINDS), None)
            if outcome is not None:
                self._fire(outcome)
            shape = SHAPE_OBJECT
            if is_create:
                shaper = next((f for f in matching if f.kind == RESPONSE_SHAPE), None)
                if shaper is not None:
                    shape = shaper.params["shape"]
                    self._fire(shaper)
            documents = (
                tuple(f for f in matching if f.kind in DOCUMENT_KINDS) if serves_tickets else ()
            )
            for fault in documents:
                self._fire(fault)
            return Decision(latency=latency, outcome=outcome, shape=shape, documents=documents)

    def _fire(self, fault: Fault) -> None:
        fault.fired += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.remove(fault)
