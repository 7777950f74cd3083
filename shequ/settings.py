"""Shequ settings: everything that differs between machines comes from SHEQU_* environment variables."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHEQU_VAR_DIR", BASE_DIR / "var"))


def private_dir(path: Path) -> Path:
    """A directory only this account may enter (0700): var/ holds keys, the database with live
    session keys, and uploads."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid():  # also one made before this rule, or under a looser umask
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` (empty) readable and writable by this account only (0600), or tighten it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # made earlier, or just now by another process
        if path.stat().st_uid == os.getuid():
            path.chmod(0o600)
    return path


private_dir(VAR_DIR)

# development | test | production. Production refuses to start without real secrets.
ENVIRONMENT = os.environ.get("SHEQU_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"
# Off unless a developer asks for it (SHEQU_DEBUG=1): the debug pages list every URL pattern and
# settings, and the demo runs on shared machines.
DEBUG = os.environ.get("SHEQU_DEBUG", "0") == "1"


# Development and demo keys live in their own folder (0700, files 0600), not beside the database,
# so that a copy of the database file is not a copy of its keys (backups leave this folder out).
KEY_DIR = Path(os.environ.get("SHEQU_KEY_DIR", VAR_DIR / "keys"))
# Dev key files that were missing at start: their keys exist only in this process until the key
# check (shequ/core/keys.py) has proved that no stored data needs the lost original. Then they are
# written; while encrypted data exists, they never are.
NEW_DEV_KEYS: dict[str, str] = {}


def _write_once(path: Path, value: str) -> str:
    """Write ``value`` to ``path`` unless it exists; return what the file holds. Written 0600 under a
    private name, then linked: readable by no one else at any moment, and of processes starting
    together all keep the first one's value."""
    draft = private_file(path.parent / f".{path.name}.{os.getpid()}")
    draft.write_text(value)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


def _dev_secret(name: str, nbytes: int = 32, *, create: bool = False) -> str:
    """A per-machine random secret in KEY_DIR, for development and demo only. A missing key is made
    in memory and remembered in NEW_DEV_KEYS (``create=True``: written at once, for secrets that
    seal no stored data)."""
    private_dir(KEY_DIR)
    path = KEY_DIR / name
    legacy = VAR_DIR / name  # before SHEQU_KEY_DIR, keys sat beside the database: moved once
    if legacy.exists() and not path.exists():
        with contextlib.suppress(FileExistsError):  # another process moved it first
            os.link(legacy, path)
    if legacy.exists() and path.exists() and path.read_text().strip() == legacy.read_text().strip():
        legacy.unlink(missing_ok=True)
    if path.exists():
        path.chmod(0o600)
        return path.read_text().strip()
    value = secrets.token_hex(nbytes)
    if create:
        return _write_once(path, value)
    NEW_DEV_KEYS[name] = value
    return value


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set in production")
    return value


if PRODUCTION:
    SECRET_KEY = _required("SHEQU_SECRET_KEY")
    # {"k1": "<32 hex chars>", ...}: SM4 keys by id; the current one encrypts, all of them decrypt.
    FIELD_KEYS: dict[str, str] = json.loads(_required("SHEQU_FIELD_KEYS"))
    FIELD_KEY_CURRENT = _required("SHEQU_FIELD_KEY_CURRENT")
    INDEX_KEY = _required("SHEQU_INDEX_KEY")
    AUDIT_CHECKPOINT_KEY = _required("SHEQU_AUDIT_KEY")
else:
    SECRET_KEY = os.environ.get("SHEQU_SECRET_KEY") or _dev_secret("secret_key", create=True)
    if os.environ.get("SHEQU_FIELD_KEYS"):
        FIELD_KEYS = json.loads(os.environ["SHEQU_FIELD_KEYS"])
    else:  # var/keys/field_key_<id> files (``shequ keys import`` may write several), else k1
        _ids = (
            sorted(p.name[len("field_key_") :] for p in KEY_DIR.glob("field_key_*"))
            if KEY_DIR.exists()
            else []
        )
        FIELD_KEYS = {key_id: _dev_secret(f"field_key_{key_id}", 16) for key_id in _ids or ["k1"]}
    _current_file = KEY_DIR / "current_field_key"
    FIELD_KEY_CURRENT = os.environ.get("SHEQU_FIELD_KEY_CURRENT") or (
        _current_file.read_text().strip() if _current_file.exists() else sorted(FIELD_KEYS)[-1]
    )
    INDEX_KEY = os.environ.get("SHEQU_INDEX_KEY") or _dev_secret("index_key", 32)
    AUDIT_CHECKPOINT_KEY = os.environ.get("SHEQU_AUDIT_KEY") or _dev_secret("audit_key", 32)

# Where each key comes from, for messages that tell an operator what to restore ("field:k1",
# "index", "audit" -> an environment variable or a file in KEY_DIR).
KEY_SOURCES: dict[str, str] = {
    "index": "SHEQU_INDEX_KEY"
    if PRODUCTION or os.environ.get("SHEQU_INDEX_KEY")
    else str(KEY_DIR / "index_key"),
    "audit": "SHEQU_AUDIT_KEY"
    if PRODUCTION or os.environ.get("SHEQU_AUDIT_KEY")
    else str(KEY_DIR / "audit_key"),
    **{
        f"field:{key_id}": "SHEQU_FIELD_KEYS"
        if PRODUCTION or os.environ.get("SHEQU_FIELD_KEYS")
        else str(KEY_DIR / f"field_key_{key_id}")
        for key_id in FIELD_KEYS
    },
}

# The audit log (docs/security.md): the sealer chains committed entries at least this often, writes
# a signed checkpoint at most this often while the log grows, and appends each checkpoint to a file
# in the witness folder, which production keeps outside the database server (another disk, a WORM
# mount or a log shipper's folder). The auditors get the newest checkpoint in their inbox daily.
AUDIT_SEAL_SECONDS = float(os.environ.get("SHEQU_AUDIT_SEAL_SECONDS", "1"))
AUDIT_CHECKPOINT_SECONDS = float(os.environ.get("SHEQU_AUDIT_CHECKPOINT_SECONDS", "60"))
AUDIT_WITNESS_DIR = Path(os.environ.get("SHEQU_AUDIT_WITNESS_DIR", VAR_DIR / "audit-witness"))

# Operations (docs/operations.md). The outbox's lease on a task whose handler talks to the outside
# world (SMTP, SMS): another worker may take the task over when it runs out.
OUTBOX_LEASE_SECONDS = float(os.environ.get("SHEQU_OUTBOX_LEASE_SECONDS", "300"))
# An urgent ticket's alert climbs (on-duty person → community head → street) when nobody has
# acknowledged it within this many minutes.
URGENT_ACK_MINUTES = float(os.environ.get("SHEQU_URGENT_ACK_MINUTES", "10"))
# IoT: how long device events are kept (whole months are dropped on PostgreSQL), the largest
# payload a device may send, and how long a silent device stays "online".
IOT_RETENTION_DAYS = int(os.environ.get("SHEQU_IOT_RETENTION_DAYS", "180"))
IOT_MAX_PAYLOAD_BYTES = int(os.environ.get("SHEQU_IOT_MAX_PAYLOAD_BYTES", "8192"))
IOT_OFFLINE_MINUTES = float(os.environ.get("SHEQU_IOT_OFFLINE_MINUTES", "15"))
# Retry delays of the worker, scheduler and audit sealer while the database is unavailable.
DB_RETRY_MIN_SECONDS = float(os.environ.get("SHEQU_DB_RETRY_MIN_SECONDS", "1"))
DB_RETRY_MAX_SECONDS = float(os.environ.get("SHEQU_DB_RETRY_MAX_SECONDS", "30"))
# How often a worker records that it is alive, and how old the newest record and the oldest due
# outbox task may be for /readyz to answer ready (0 turns that check off).
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("SHEQU_WORKER_HEARTBEAT_SECONDS", "5"))
READY_WORKER_SECONDS = float(os.environ.get("SHEQU_READY_WORKER_SECONDS", "60"))
READY_OUTBOX_LAG_SECONDS = float(os.environ.get("SHEQU_READY_OUTBOX_LAG_SECONDS", "300"))
# Who may read /metrics: clients at these addresses (comma-separated CIDRs; requests that came
# through a proxy never count as local) or with "Authorization: Bearer <SHEQU_METRICS_TOKEN>".
METRICS_ALLOW = [
    c.strip() for c in os.environ.get("SHEQU_METRICS_ALLOW", "127.0.0.1/32,::1/128").split(",") if c.strip()
]
for _cidr in METRICS_ALLOW:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"SHEQU_METRICS_ALLOW: {_cidr!r} is not an address or network") from None
METRICS_TOKEN = os.environ.get("SHEQU_METRICS_TOKEN", "")

ALLOWED_HOSTS = os.environ.get("SHEQU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("SHEQU_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # its Swagger UI files are served from our static files (no CDN, CSP-safe)
    "shequ.core",
    "shequ.registry",
    "shequ.grid",
    "shequ.iot",
    "shequ.emergency",
    "shequ.govservice",
    "shequ.participation",
    "shequ.reports",
    "shequ.sharing",
    "shequ.demo",
]

MIDDLEWARE = [
    # First: /healthz, /readyz and /metrics answer before host checks, HTTPS redirects and sessions.
    "shequ.core.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files come pre-compressed), above everything that writes a body.
    "shequ.core.middleware.SameOriginGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shequ.core.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "shequ.core.middleware.NoStoreMiddleware",
    "shequ.core.middleware.RequestSizeMiddleware",  # last: before anything reads the body
]

ROOT_URLCONF = "shequ.urls"
WSGI_APPLICATION = "shequ.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shequ.core.context_processors.shell",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("SHEQU_DATABASE_URL", f"sqlite:///{VAR_DIR / 'shequ.sqlite3'}")
# Persistent connections are checked before their first use in a request, so that after a
# database restart each server thread reconnects instead of failing one request.
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0 if DEBUG else 60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and the writer work at once; IMMEDIATE avoids lock-upgrade deadlocks.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    # Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database
    # file's mode (core/apps.py tightens files made before this rule).
    if not str(DATABASES["default"]["NAME"]).startswith((":memory:", "file:")):
        private_file(Path(DATABASES["default"]["NAME"]))
    # A file, not memory, so that worker subprocesses in tests see the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails a connection attempt in seconds (libpq waits forever by default),
    # so that /readyz and the worker's retries notice an outage; ?connect_timeout= in the URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["shequ.core.auth.ShequBackend"]
if os.environ.get("SHEQU_OIDC_ISSUER"):
    AUTHENTICATION_BACKENDS.append("shequ.core.oidc.ShequOIDCBackend")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "shequ.core.passwords.CharacterClassValidator"},
    {"NAME": "shequ.core.passwords.NoUsernameValidator"},
    {"NAME": "shequ.core.passwords.HistoryValidator"},
]

# Security requirement 2-5 (shared/DOMAIN.md).
PASSWORD_MAX_AGE_DAYS = 90
PASSWORD_HISTORY = 5
LOCKOUT_FAILURES = 5
LOCKOUT_MINUTES = 30
IP_THROTTLE_FAILURES = int(os.environ.get("SHEQU_IP_THROTTLE_FAILURES", "20"))
IP_THROTTLE_MINUTES = 15
SESSION_IDLE_SECONDS = 30 * 60
SESSION_ABSOLUTE_SECONDS = 12 * 3600

LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "shequ.core.views_errors.csrf_failure"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "shequ" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Front-end packages installed by npm (package.json): only the files pages load are served, at
# /static/vendor/<path> (glob patterns under node_modules; a test checks every {% static %} path).
STATIC_VENDOR_FILES = [
    "htmx.org/dist/htmx.min.js",
    "leaflet/dist/leaflet.js",
    "leaflet/dist/leaflet.js.map",  # named in leaflet.js: the manifest storage needs it
    "leaflet/dist/leaflet.css",
    "leaflet/dist/images/*.png",
    "echarts/dist/echarts.min.js",
    # Drawing a warning's area on the map (emergency/warning-draw.js); the maps are named in the files.
    "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js",
    "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js.map",
    "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
    "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css.map",
]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "shequ.core.staticfiles.VendorFinder",
]
# Collected into STATIC_ROOT under fingerprinted names with gzip and brotli copies; `shequ serve`
# (and so the demo) collects at start when a source changed (shequ/core/staticfiles.py). WhiteNoise
# serves them, fingerprinted names cached a year as immutable. With SHEQU_DEBUG=1, or in a process
# that started without a collection, pages link plain names, served from the sources (finders).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "shequ.core.staticfiles.StaticStorage"},
}
WHITENOISE_USE_FINDERS = True
# Files a browser asks for at the site root (/favicon.ico), served by WhiteNoise before sessions,
# so a signed-in page's no-store never reaches them.
WHITENOISE_ROOT = BASE_DIR / "shequ" / "core" / "root"


def _static_headers(headers: Any, path: str, url: str) -> None:
    from shequ.core.staticfiles import add_headers  # imported late: it needs the settings

    add_headers(headers, path, url)


WHITENOISE_ADD_HEADERS_FUNCTION = _static_headers

# The largest request body (uploads: up to 9 report photos, a 12345 export or a ledger workbook).
# Bigger declared bodies get a 413 before they are read (core/middleware.RequestSizeMiddleware),
# and `shequ serve` gives waitress the same limit; set the front web server's limit to it too
# (nginx: client_max_body_size). Bodies that are not uploads stay under DATA_UPLOAD_MAX_MEMORY_SIZE.
MAX_REQUEST_BYTES = int(os.environ.get("SHEQU_MAX_REQUEST_MB", "40")) * 1024 * 1024

MEDIA_ROOT = private_dir(VAR_DIR / "media")
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Security headers (requirement 6).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = os.environ.get("SHEQU_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Messaging (F6).
# The demo has no mail server: its emails (the auditors' daily checkpoint among them) are written to
# var/mail/ as files instead of failing and being retried.
_DEMO_MAIL = os.environ.get("SHEQU_DEMO", "0") == "1" and not PRODUCTION
EMAIL_BACKEND = os.environ.get(
    "SHEQU_EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if _DEMO_MAIL
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = private_dir(VAR_DIR / "mail") if _DEMO_MAIL else VAR_DIR / "mail"  # emails hold names
EMAIL_HOST = os.environ.get("SHEQU_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("SHEQU_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("SHEQU_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("SHEQU_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("SHEQU_EMAIL_TLS", "0") == "1"
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("SHEQU_EMAIL_FROM", "shequ@localhost")
SMS_GATEWAY_URL = os.environ.get("SHEQU_SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SHEQU_SMS_GATEWAY_TOKEN", "")
# The token the gateway sends with SMS that people send to the platform (POST /api/v1/sms/inbound);
# empty: replies are not taken.
SMS_CALLBACK_TOKEN = os.environ.get("SHEQU_SMS_CALLBACK_TOKEN", "")
# Absolute address of the site, for links in emails and SMS (e.g. https://shequ.example.gov.cn).
# Map tiles for the map pin on the resident's report page: a URL template such as
# https://tiles.example.cn/{z}/{x}/{y}.png of a provider licensed for China (GCJ-02 maps need a
# matching provider). Empty: no map, the form works with the home address or a typed one.
GRID_MAP_TILES = os.environ.get("SHEQU_MAP_TILES", "")
GRID_MAP_ATTRIBUTION = os.environ.get("SHEQU_MAP_ATTRIBUTION", "")
GRID_MAP_CENTER = tuple(
    float(x) for x in os.environ.get("SHEQU_MAP_CENTER", "28.2282,112.9388").split(",")
)  # Changsha
SITE_URL = os.environ.get("SHEQU_SITE_URL", "http://127.0.0.1:8000" if not PRODUCTION else "")

# Requests per API token (or signed-in user) per window, e.g. "600/min".
API_RATE = os.environ.get("SHEQU_API_RATE", "600/min")
# Open311 GeoReport v2 at /open311/v2/ (shequ/grid/open311.py): our jurisdiction_id and contact.
OPEN311_JURISDICTION_ID = os.environ.get("SHEQU_OPEN311_JURISDICTION", "hunan.shequ")
OPEN311_CONTACT = os.environ.get("SHEQU_OPEN311_CONTACT", "")

# Unified identity login (OIDC), off unless an issuer is configured.
OIDC_ENABLED = bool(os.environ.get("SHEQU_OIDC_ISSUER"))
if OIDC_ENABLED:
    _issuer = os.environ["SHEQU_OIDC_ISSUER"].rstrip("/")
    OIDC_OP_ISSUER = _issuer  # checked against the id_token's "iss" (shequ/core/oidc.py)
    OIDC_RP_SCOPES = os.environ.get("SHEQU_OIDC_SCOPES", "openid email profile")
    # A claim holding the platform's user name, for first-time binding (see shequ/core/oidc.py).
    OIDC_BIND_USERNAME_CLAIM = os.environ.get("SHEQU_OIDC_USERNAME_CLAIM", "")
    OIDC_RP_CLIENT_ID = os.environ.get("SHEQU_OIDC_CLIENT_ID", "")
    OIDC_RP_CLIENT_SECRET = os.environ.get("SHEQU_OIDC_CLIENT_SECRET", "")
    OIDC_RP_SIGN_ALGO = os.environ.get("SHEQU_OIDC_SIGN_ALGO", "RS256")
    OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("SHEQU_OIDC_AUTHORIZE_URL", f"{_issuer}/authorize")
    OIDC_OP_TOKEN_ENDPOINT = os.environ.get("SHEQU_OIDC_TOKEN_URL", f"{_issuer}/token")
    OIDC_OP_USER_ENDPOINT = os.environ.get("SHEQU_OIDC_USERINFO_URL", f"{_issuer}/userinfo")
    OIDC_OP_JWKS_ENDPOINT = os.environ.get("SHEQU_OIDC_JWKS_URL", f"{_issuer}/jwks")
    OIDC_CREATE_USER = False  # identities are bound to existing accounts; the platform owns roles.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"error_id": {"()": "shequ.core.logs.ErrorIdFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SHEQU_LOG_LEVEL", "INFO")},
    # The failed request's line carries the error id its page shows (core/views_errors.py).
    "loggers": {"django.request": {"level": "ERROR", "filters": ["error_id"]}},
}

DEMO = os.environ.get("SHEQU_DEMO", "0") == "1"
