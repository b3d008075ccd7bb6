"""The one settings module. Everything that differs between machines comes from the environment
(or an optional `.env` file beside manage.py); see the README for every variable."""

import os
import tempfile
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class _SecretFiles(environ.FileAwareMapping):
    """Every variable may also come from a file named by <NAME>_FILE (Docker and Kubernetes
    secrets), read without the line end that `echo` or an editor leaves at its end."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key).rstrip("\r\n")


class _Environment(environ.FileAwareEnv):
    ENVIRON = _SecretFiles()


env = _Environment()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# A development key is acceptable only while DEBUG is on; a real deployment must bring its own.
_DEV_SECRET_KEY = "django-insecure-comps-development-only-never-use-in-production"  # noqa: S105
# Read as it is: django-environ would take a key starting with "$" (Django's own generator
# makes such keys) for a reference to another variable.
SECRET_KEY = env.ENVIRON.get("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Only for its translated country names (the holders' country list in Spanish).
    "django_countries",
    # Tracking webhooks (bounces, opens) from the mail provider, when the venue uses one.
    "anymail",
    "bootstrap",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "simple_history",
    "axes",
    # Two-factor sign-in (tickets/services/two_factor.py): authenticator apps and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "tickets",
]

MIDDLEWARE = [
    # First, so that every log line of the request (the others' too) carries its id.
    "tickets.middleware.request_id",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the browser's (or the cookie the switch sets) here; the signed-in person's
    # saved choice overrides it below, once we know who they are.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which two-factor device (if any) confirmed this session: request.user.is_verified().
    "django_otp.middleware.OTPMiddleware",
    "tickets.middleware.saved_language",
    "tickets.middleware.htmx_login_redirect",
    "tickets.middleware.private_pages",
    # Every page needs a login except those marked with @login_not_required (login, /healthz).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Between password and code only the code page and logout open (COMPS_REQUIRE_TWO_FACTOR).
    "tickets.middleware.TwoFactorMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "csp.middleware.CSPMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "tickets.backends.OneQueryPermissionsBackend",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tickets.context_processors.banners",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# The ticket index that carries the search text (INCLUDE) is PostgreSQL's; SQLite builds it
# without the included column, which is all that warning says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: wait for the lock instead of failing.
    # WAL lets the pages read while the worker writes; NORMAL sync is durable across a crash
    # of the application in WAL mode, and spares an fsync per commit.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not SQLite's shared in-memory database: that one locks whole tables and ignores
    # the timeout, so tests with a worker or concurrent requests could not run on it.
    # One file per test run, so that runs side by side do not share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"comps-test-{os.getpid()}.sqlite3")
    }
else:
    # Each web process keeps its connection between requests instead of opening one per request
    # (a new server process, an authentication and cold catalogue caches that slow the planner:
    # about 10 ms a page, `make bench-load`); checked before it is reused after an error.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The issuing form posts up to 200 holders of a dozen fields each: Django's default of 1,000
# fields would refuse a list of about 90 with a bare 400.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 3000

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Spanish and English. A person's saved choice wins, then the browser's languages, then
# LANGUAGE_CODE (the venue's own language: Spanish unless the environment says otherwise).
LANGUAGES = [("es", "Español"), ("en", "English")]
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="es")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured("LANGUAGE_CODE must be one of: es, en.")
# The compiled catalogues (.mo) are kept in the repository beside their .po files: a fresh
# machine needs no GNU gettext to run or test; `make messages` rebuilds both.
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates day-first on a 24-hour clock in both languages; see backoffice/formats/.
FORMAT_MODULE_PATH = ["backoffice.formats"]
LANGUAGE_COOKIE_NAME = "comps_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Madrid")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
# A shared venue computer must not stay logged in: sessions end after SESSION_COOKIE_AGE
# (default 8 hours) and when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS only when not in debug. The test suite turns the redirect off (its client speaks plain
# HTTP); /healthz stays reachable over HTTP for load balancers and container probes.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # asked for inside the network
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Behind a TLS-terminating proxy, trust its X-Forwarded-Proto (else every request looks like
# HTTP and the SSL redirect loops). Only turn this on when the proxy always sets the header.
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Sent with every response by django-csp: everything from this site only, no inline script or
# style, no framing. `data:` images: Bootstrap's CSS icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Counters that must hold across processes (the guest page's rate limit): a shared cache in
# production (redis://...); the default is per process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Brute-force protection on the login form.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 403
# The client's address behind reverse proxies (tickets/client_ip.py): how many trusted proxies
# stand in front of the app, each appending to X-Forwarded-For. 0: none, REMOTE_ADDR is the client.
COMPS_TRUSTED_PROXY_COUNT = env.int("COMPS_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "tickets.client_ip.client_ip"
# Managers and admins (and superusers) sign in with a code from an authenticator app after their
# password; issuers never do. On unless DEBUG is on; `make run` and the test suite turn it off.
COMPS_REQUIRE_TWO_FACTOR = env.bool("COMPS_REQUIRE_TWO_FACTOR", default=not DEBUG)
# The name authenticator apps show beside the person's username.
OTP_TOTP_ISSUER = "Comps"
RATELIMIT_IP_META_KEY = "tickets.client_ip.client_ip"

# Secrets at rest (Fourvenues API keys) are encrypted with Fernet. The first key encrypts; all
# of them decrypt, so a new key is rotated in by putting it first. In DEBUG a key derived from
# the development SECRET_KEY is used so that `make run` works without configuration.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
    import base64
    import hashlib

    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

# The Fourvenues Integrations API (see README, "Pointing at the real Fourvenues API").
FOURVENUES_CONNECT_TIMEOUT = env.float("FOURVENUES_CONNECT_TIMEOUT", default=3.05)
FOURVENUES_READ_TIMEOUT = env.float("FOURVENUES_READ_TIMEOUT", default=20.0)
FOURVENUES_GET_RETRIES = env.int("FOURVENUES_GET_RETRIES", default=3)
FOURVENUES_BACKOFF_SECONDS = env.float("FOURVENUES_BACKOFF_SECONDS", default=0.5)
# Requests per second per key, for every process together (Fourvenues allows about 10: the
# headroom absorbs jitter, so no one-second window ever holds more than 10).
FOURVENUES_RATE_LIMIT = env.float("FOURVENUES_RATE_LIMIT", default=9.0)
# Creates a worker keeps in flight at once (threads), within the key's rate.
FOURVENUES_SENDS_IN_FLIGHT = env.int("FOURVENUES_SENDS_IN_FLIGHT", default=4)
FOURVENUES_TICKETS_PER_CALL = env.int("FOURVENUES_TICKETS_PER_CALL", default=1)
FOURVENUES_SALE_TYPE = env.str("FOURVENUES_SALE_TYPE", default="online")
FOURVENUES_QR_PREFIX = env.str("FOURVENUES_QR_PREFIX", default="COMPS-")
FOURVENUES_GENERATE_QR_CODES = env.bool("FOURVENUES_GENERATE_QR_CODES", default=True)
FOURVENUES_CATALOGUE_DAYS = env.int("FOURVENUES_CATALOGUE_DAYS", default=60)  # nights mirrored
# A create that provably never left (connection refused, 429) is queued again this many times.
FOURVENUES_SEND_ATTEMPTS = env.int("FOURVENUES_SEND_ATTEMPTS", default=5)
# After an unknown outcome: first look-up after RESOLVE_DELAY; a ticket still not found once
# RESOLVE_GRACE has passed since it was sent is declared failed (safe to send again).
FOURVENUES_RESOLVE_DELAY_SECONDS = env.float("FOURVENUES_RESOLVE_DELAY_SECONDS", default=15.0)
FOURVENUES_RESOLVE_GRACE_SECONDS = env.float("FOURVENUES_RESOLVE_GRACE_SECONDS", default=120.0)
# Background work whose worker vanished (killed, crashed) is taken back after this long.
COMPS_STALE_TASK_SECONDS = env.int("COMPS_STALE_TASK_SECONDS", default=600)
COMPS_SCHEDULER_INTERVAL_SECONDS = env.float("COMPS_SCHEDULER_INTERVAL_SECONDS", default=30.0)
# A scheduler or worker silent for longer is reported as not seen (`/healthz`, health checks).
COMPS_PROCESS_SILENCE_SECONDS = env.float("COMPS_PROCESS_SILENCE_SECONDS", default=180.0)
# `/metrics` answers only to `Authorization: Bearer <this>`; unset, it is closed (404).
COMPS_METRICS_TOKEN = env.ENVIRON.get("COMPS_METRICS_TOKEN", "")  # as it is, like SECRET_KEY
# An XLSX export of more rows than this is prepared in the background and offered for download
# when ready (CSV always streams). The files go to COMPS_EXPORT_DIR, which the workers and the
# web processes must share and no web server may serve; each is deleted once fetched, or
# COMPS_EXPORT_TTL_HOURS after it was ready.
COMPS_XLSX_INLINE_LIMIT = env.int("COMPS_XLSX_INLINE_LIMIT", default=5000)
COMPS_EXPORT_DIR = Path(env.str("COMPS_EXPORT_DIR", default=str(BASE_DIR / "var" / "exports")))
COMPS_EXPORT_TTL_HOURS = env.float("COMPS_EXPORT_TTL_HOURS", default=24.0)
# The scheduler refreshes the catalogue mirror this often (0: only the button and the command).
COMPS_CATALOGUE_REFRESH_SECONDS = env.int("COMPS_CATALOGUE_REFRESH_SECONDS", default=3600)
# Reconciliation schedule: events whose night is from yesterday to COMPS_RECONCILE_SOON_DAYS
# ahead are reconciled every COMPS_RECONCILE_SOON_SECONDS, other events with tickets of ours
# every COMPS_RECONCILE_RARELY_SECONDS. Never more than once a minute per event (Fourvenues).
COMPS_RECONCILE_SOON_DAYS = env.int("COMPS_RECONCILE_SOON_DAYS", default=2)
COMPS_RECONCILE_SOON_SECONDS = env.int("COMPS_RECONCILE_SOON_SECONDS", default=300)
COMPS_RECONCILE_RARELY_SECONDS = env.int("COMPS_RECONCILE_RARELY_SECONDS", default=6 * 3600)
# Holders' documents, birthdays, addresses and phones are removed this many days after the
# morning that ends their event's night (services.purge; the scheduler checks hourly).
COMPS_PURGE_AFTER_DAYS = env.int("COMPS_PURGE_AFTER_DAYS", default=30)
if FOURVENUES_TICKETS_PER_CALL < 1:
    raise ImproperlyConfigured("FOURVENUES_TICKETS_PER_CALL must be at least 1.")

# --- Delivery to guests ---------------------------------------------------------------------------
# Mail goes through Django's e-mail framework, configured by one URL: smtp://user:password@host:587
# (smtp+tls://, smtp+ssl:// for TLS), or consolemail:// to print. The default is the local mail
# server `make run` starts (`manage.py mail_sandbox`). A provider's own API through django-anymail
# instead: EMAIL_BACKEND=anymail.backends.<provider>.EmailBackend and its ANYMAIL_* settings.
vars().update(env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025"))
if "EMAIL_BACKEND" in os.environ:
    EMAIL_BACKEND = os.environ["EMAIL_BACKEND"]
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=20.0)
# Every ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"] (the provider's API key, its webhook
# signing key, WEBHOOK_SECRET for the webhooks' basic authentication).
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}
# The venue, as guests see it: the sender's name and the messages' signature.
COMPS_VENUE_NAME = env.str("COMPS_VENUE_NAME", default="Comps")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tickets@comps.localhost")
# Where guests reach Comps from outside (the guest page's links in messages): no request is at
# hand when the worker writes them.
COMPS_PUBLIC_URL = env.str("COMPS_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# A guest page stops working this many days after its event's night.
COMPS_GUEST_PAGE_DAYS = env.int("COMPS_GUEST_PAGE_DAYS", default=3)
# Openings of guest pages allowed per address and minute (a flood gets 429).
COMPS_GUEST_PAGE_RATE = env.str("COMPS_GUEST_PAGE_RATE", default="30/m")
# A message the mail server provably did not take is tried again, with backoff, this often.
COMPS_DELIVERY_ATTEMPTS = env.int("COMPS_DELIVERY_ATTEMPTS", default=5)
COMPS_DELIVERY_BACKOFF_SECONDS = env.float("COMPS_DELIVERY_BACKOFF_SECONDS", default=30.0)
# The local mail server's store of what it received, which the training mailbox page lists
# (blank: no mailbox page). `make run` sets it; never in production.
COMPS_MAILBOX_DIR = env.str("COMPS_MAILBOX_DIR", default="")
# The morning-after summary of each event is e-mailed to managers and admins once, from this
# hour (venue time, 0-23) of the morning after its night.
COMPS_SUMMARY_HOUR = env.int("COMPS_SUMMARY_HOUR", default=11)
if not 0 <= COMPS_SUMMARY_HOUR <= 23:
    raise ImproperlyConfigured("COMPS_SUMMARY_HOUR must be an hour of the day, 0 to 23.")

# The bundled sandbox (`manage.py fourvenues_sandbox`), used by `make run` and the demo.
FOURVENUES_SANDBOX_PORT = env.int("FOURVENUES_SANDBOX_PORT", default=8765)

# One line per record: JSON in production (LOG_FORMAT=json, the default with DEBUG off), each
# with the request's or background task's id; `make run` prints plain lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "filters": {
        "client_errors_on_one_line": {"()": "backoffice.logging.ClientErrorsOnOneLine"},
        "request_id": {"()": "backoffice.logging.RequestId"},
    },
    "loggers": {
        "urllib3": {"level": "WARNING"},
        "django.request": {"filters": ["client_errors_on_one_line"]},
    },
}
