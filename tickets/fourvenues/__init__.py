"""Everything the project knows about speaking to the Fourvenues Integrations API.

Import from here, not from the submodules: the names below are the package's public surface.
"""

from tickets.fourvenues.client import (
    ApiKeyAuth,
    Auth,
    CallRecord,
    FourvenuesClient,
    LegacyAuth,
)
from tickets.fourvenues.errors import (
    AuthenticationFailed,
    FourvenuesError,
    InvalidResponse,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Rejected,
    Unavailable,
)
from tickets.fourvenues.schemas import (
    Channel,
    CreateTicketsRequest,
    Event,
    NewTicket,
    PriceOption,
    Promoter,
    Rate,
    SchemaError,
    SupplementChoice,
    Ticket,
    TicketSupplement,
    as_list,
    parse_date,
    parse_money,
    parse_timestamp,
)
from tickets.fourvenues.throttle import RateLimiter, fingerprint, limiter_for

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "AuthenticationFailed",
    "CallRecord",
    "Channel",
    "CreateTicketsRequest",
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
    "as_list",
    "fingerprint",
    "limiter_for",
    "parse_date",
    "parse_money",
    "parse_timestamp",
]
