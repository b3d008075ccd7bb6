"""Everything the project knows about speaking to the Fourvenues Integrations API.

Import from here, not from the submodules: the names below are the package's public surface.
The submodules, leaves first: errors.py (typed failures), auth.py (credentials as headers),
throttle.py (the shared per-key limit), parsing.py (lenient readers of single values),
schemas.py (response objects and the create request), calls.py (call records and scrubbing),
client.py (HTTP only, the one module that imports `requests`), endpoints.py (FourvenuesClient:
one typed method per endpoint). sandbox/ is the fake API, with its own façade.
"""

from tickets.fourvenues.auth import (
    ApiKeyAuth,
    Auth,
    LegacyAuth,
    UnusableAuth,
    fingerprint,
    header_value_problem,
)
from tickets.fourvenues.calls import CallRecord
from tickets.fourvenues.endpoints import FourvenuesClient
from tickets.fourvenues.errors import (
    AuthenticationFailed,
    CredentialUnusable,
    FourvenuesError,
    InvalidResponse,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Rejected,
    Unavailable,
)
from tickets.fourvenues.parsing import (
    SchemaError,
    as_list,
    parse_date,
    parse_money,
    parse_timestamp,
)
from tickets.fourvenues.schemas import (
    Channel,
    CreateTicketsRequest,
    Event,
    NewTicket,
    PriceOption,
    Promoter,
    Rate,
    SupplementChoice,
    Ticket,
    TicketSupplement,
)
from tickets.fourvenues.throttle import RateLimiter, limiter_for

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "AuthenticationFailed",
    "CallRecord",
    "Channel",
    "CreateTicketsRequest",
    "CredentialUnusable",
    "Event",
    "FourvenuesClient",
    "FourvenuesError",
    "InvalidResponse",
    "LegacyAuth",
    "NewTicket",
    "NotFound",
    "OutcomeUnknown",
    "PermissionDenied",
    "PriceOption",
    "Promoter",
    "Rate",
    "RateLimited",
    "RateLimiter",
    "Rejected",
    "SchemaError",
    "SupplementChoice",
    "Ticket",
    "TicketSupplement",
    "Unavailable",
    "UnusableAuth",
    "as_list",
    "fingerprint",
    "header_value_problem",
    "limiter_for",
    "parse_date",
    "parse_money",
    "parse_timestamp",
]
