"""The Fourvenues sandbox: a local HTTP stand-in for the Fourvenues Integrations API.

Used in development, demos, staff training and integration tests (design.md, "The sandbox").
Start one from Python with :class:`SandboxServer`, or from the shell with
``python manage.py fourvenues_sandbox``. The fault kinds it can inject are exported by name.
Standard library only: nothing here imports Django or ``requests``.
"""

from .catalogue import Catalogue, build_catalogue
from .faults import (
    ERROR_AFTER_COMMIT,
    ERROR_BEFORE_COMMIT,
    FAULT_KINDS,
    LATENCY,
    MALFORMED_JSON,
    MISSING_FIELDS,
    PROMOTER_OBJECT,
    RATE_LIMIT,
    RESET_AFTER_COMMIT,
    RESPONSE_SHAPE,
    SUCCESS_FALSE,
    TIMEOUT_AFTER_COMMIT,
    FaultError,
    FaultSpec,
)
from .routes import API_PREFIX, CONTROL_PREFIX, ROUTES
from .server import (
    DEFAULT_API_KEY,
    DEFAULT_HOST,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_PORT,
    DEFAULT_SALE_TYPES,
    DEFAULT_SECRET,
    DEFAULT_SEED,
    SandboxServer,
)
from .store import StateFileError

__all__ = [
    "API_PREFIX",
    "CONTROL_PREFIX",
    "DEFAULT_API_KEY",
    "DEFAULT_HOST",
    "DEFAULT_INTEGRATION_ID",
    "DEFAULT_PORT",
    "DEFAULT_SALE_TYPES",
    "DEFAULT_SECRET",
    "DEFAULT_SEED",
    "ERROR_AFTER_COMMIT",
    "ERROR_BEFORE_COMMIT",
    "FAULT_KINDS",
    "LATENCY",
    "MALFORMED_JSON",
    "MISSING_FIELDS",
    "PROMOTER_OBJECT",
    "RATE_LIMIT",
    "RESET_AFTER_COMMIT",
    "RESPONSE_SHAPE",
    "ROUTES",
    "SUCCESS_FALSE",
    "TIMEOUT_AFTER_COMMIT",
    "Catalogue",
    "FaultError",
    "FaultSpec",
    "SandboxServer",
    "StateFileError",
    "build_catalogue",
]
