"""Settings for kartra_mirror, read from the environment only.

A ``.env`` file in the project directory is read when present. Production behaviour is
switched by environment variables (see the configuration table in README.md); there is no
separate production settings module.
"""

from pathlib import Path

import environ

from kartra_mirror.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    # Django's deploy check flags the "django-insecure-" prefix, so this cannot ship unnoticed.
    default="django-insecure-local-only-set-DJANGO_SECRET_KEY-in-production",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # First, so that its templates (admin/base_site.html, admin/index.html) override the
    # admin's; they ship inside the package, found by APP_DIRS in a checkout or a wheel.
    "kartra_mirror",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leads",
    "events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kartra_mirror.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "kartra_mirror.wsgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
# A persistent connection is checked before a request reuses it, so a restarted database
# costs a reconnect, not a 500.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
_on_sqlite = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if _on_sqlite:
    # SQLite serialises writers; wait for the lock instead of failing under a webhook burst.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
    # A transaction takes the write lock when it begins, waiting for it like any other:
    # a deferred one that reads first and writes later fails at once if another thread
    # (the delivery drainer, a request) writes meanwhile.
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# delivery_day_action_idx carries the action and status for PostgreSQL's index-only scans;
# SQLite indexes received_at alone, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Django's ModelBackend, with a user's permissions read in one query (kartra_mirror/auth.py).
AUTHENTICATION_BACKENDS = ["kartra_mirror.auth.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Outside debug, `collectstatic` writes compressed files under content-hashed names and
# WhiteNoise serves them with far-future cache headers; in debug the development server
# serves the apps' own files as they are, without collecting.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if not DEBUG:
    # Static files straight from the web process, right after the security middleware.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

# Security: secure defaults whenever DEBUG is off; each can be relaxed by its variable.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False)
    else None
)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
# Load balancers probe the backend over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = logging_config(
    log_format=env.str("DJANGO_LOG_FORMAT", default="plain"),
    level=env.str("DJANGO_LOG_LEVEL", default="INFO"),
)

# --- Django REST Framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kartra_mirror.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kartra_mirror API",
    "DESCRIPTION": "Read-only access to the mirrored Kartra account.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a ``kind`` (assets, deliveries, changes, sign-ups): names of their own.
    "ENUM_NAME_OVERRIDES": {
        "SignupKindEnum": "leads.models.SignupKind",
        "AssetKindEnum": "leads.models.AssetKind",
    },
}

# --- Kartra ----------------------------------------------------------------------------
KARTRA_API_URL = env.str("KARTRA_API_URL", default="https://app.kartra.com/api")
KARTRA_APP_ID = env.str("KARTRA_APP_ID", default="")
KARTRA_API_KEY = env.str("KARTRA_API_KEY", default="")
KARTRA_API_PASSWORD = env.str("KARTRA_API_PASSWORD", default="")
KARTRA_API_RATE = env.int("KARTRA_API_RATE", default=18)
KARTRA_API_TIMEOUT = env.float("KARTRA_API_TIMEOUT", default=20.0)
KARTRA_REDIS_URL = env.str("KARTRA_REDIS_URL", default=env.str("REDIS_URL", default=""))
KARTRA_WEBHOOK_TOKENS = env.list("KARTRA_WEBHOOK_TOKENS", default=[])
KARTRA_WEBHOOK_MAX_BYTES = env.int("KARTRA_WEBHOOK_MAX_BYTES", default=1024 * 1024)
# Seconds a webhook sender may pause while sending its body (under gunicorn) before it is
# answered 408 and the thread serving it is free again.
KARTRA_WEBHOOK_READ_TIMEOUT = env.float("KARTRA_WEBHOOK_READ_TIMEOUT", default=10.0)
KARTRA_TRUSTED_PROXY_COUNT = env.int("KARTRA_TRUSTED_PROXY_COUNT", default=0)
KARTRA_DUPLICATE_WINDOW = env.int("KARTRA_DUPLICATE_WINDOW", default=60)
KARTRA_REFRESH_MAX_AGE = env.int("KARTRA_REFRESH_MAX_AGE", default=24 * 3600)
# How often the refresh loop (kartra_serve, or Celery beat) refreshes due leads and the
# catalogues, in seconds.
KARTRA_REFRESH_INTERVAL = env.int("KARTRA_REFRESH_INTERVAL", default=60)
KARTRA_CATALOG_SYNC_INTERVAL = env.int("KARTRA_CATALOG_SYNC_INTERVAL", default=3600)
# Leads compared with Kartra (and repaired) once a day by the drift audit; 0 turns it off.
KARTRA_AUDIT_DAILY_SAMPLE = env.int("KARTRA_AUDIT_DAILY_SAMPLE", default=50)

# --- Erasure and retention ----------------------------------------------------------------
# The key of the HMAC that turns an erased lead's email and Kartra id into the hashes of the
# suppression list (leads.services.suppression). By default it is derived from SECRET_KEY, so
# rotating the secret key without setting this forgets every suppression: set it for good.
KARTRA_ERASURE_SALT = env.str("KARTRA_ERASURE_SALT", default="")
# Days the raw bodies of failed, rejected and unknown-action deliveries are kept (never less
# than the age kartra_prune is given for processed ones); 0 keeps them forever.
KARTRA_PRUNE_FAILED_DAYS = env.int("KARTRA_PRUNE_FAILED_DAYS", default=180)
KARTRA_PRUNE_REJECTED_DAYS = env.int("KARTRA_PRUNE_REJECTED_DAYS", default=180)
KARTRA_PRUNE_UNKNOWN_DAYS = env.int("KARTRA_PRUNE_UNKNOWN_DAYS", default=365)
# Days the change history (the lead page's changes, /api/v1/changes/) is kept; kartra_prune
# deletes older changes. 0 records no history at all.
KARTRA_HISTORY_DAYS = env.int("KARTRA_HISTORY_DAYS", default=365)

# --- Health and metrics (/healthz, /metrics) -------------------------------------------
# /healthz answers 503 when the oldest unprocessed delivery is older than this (seconds),
KARTRA_HEALTH_MAX_DELIVERY_LAG = env.int("KARTRA_HEALTH_MAX_DELIVERY_LAG", default=300)
# when the last successful sync run finished longer ago than this (seconds),
KARTRA_HEALTH_MAX_SYNC_AGE = env.int(
    "KARTRA_HEALTH_MAX_SYNC_AGE",
    default=max(6 * 3600, 3 * KARTRA_CATALOG_SYNC_INTERVAL, 3 * KARTRA_REFRESH_INTERVAL),
)
# and when more leads than this are due for a refresh (0: never for that reason).
KARTRA_HEALTH_MAX_OVERDUE = env.int("KARTRA_HEALTH_MAX_OVERDUE", default=0)
# /metrics answers only to "Authorization: Bearer <this>"; empty turns it off.
KARTRA_METRICS_TOKEN = env.str("KARTRA_METRICS_TOKEN", default="")

# --- Background work (Celery) ----------------------------------------------------------
# With no broker configured everything runs in the web process: a thread of it processes
# the stored webhook deliveries (see events/drain.py).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Workers log through LOGGING (plain or JSON, redacted), not a handler of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Process each delivery in its own request instead (tests, the smallest installs).
KARTRA_PROCESS_INLINE = env.bool("KARTRA_PROCESS_INLINE", default=False)
# Deliveries claimed and applied in one transaction. A batch runs the same statements for 5
# deliveries as for 500, so a larger one costs less per delivery. PostgreSQL takes a batch's
# keys as one array per lookup; SQLite takes one parameter per key, and before SQLite 3.32 no
# more than 999 in a statement (a batch of 500 looks its leads up by up to 1,000 ids and
# emails), hence its smaller default.
KARTRA_DELIVERY_BATCH = env.int(
    "KARTRA_DELIVERY_BATCH",
    default=200 if _on_sqlite else 500,
)
# Seconds a processing pass waits for a burst to gather into a full batch.
KARTRA_DRAIN_LINGER = env.float("KARTRA_DRAIN_LINGER", default=0.2)
# Seconds at most that a delivery waits for a burst (a batch a second or more) to pass
# before it is applied: the web processes acknowledge first (see events/drain.py).
KARTRA_DRAIN_BURST_WAIT = env.float("KARTRA_DRAIN_BURST_WAIT", default=10)
# Seconds between sweeps for deliveries nobody asked to process (after a crash, say).
KARTRA_DRAIN_SWEEP_INTERVAL = env.int("KARTRA_DRAIN_SWEEP_INTERVAL", default=15)
CELERY_BEAT_SCHEDULE = {
    "kartra-drain-deliveries": {
        "task": "events.drain_deliveries",
        "schedule": float(KARTRA_DRAIN_SWEEP_INTERVAL),
    },
    "kartra-catalog-sync": {
        "task": "leads.catalog_sync",
        "schedule": float(KARTRA_CATALOG_SYNC_INTERVAL),
    },
    "kartra-refresh-due": {"task": "leads.refresh_due", "schedule": float(KARTRA_REFRESH_INTERVAL)},
    # Sync runs whose process is gone are marked aborted (each run also sweeps as it starts).
    "kartra-sweep-sync-runs": {"task": "leads.sweep_sync_runs", "schedule": 60.0},
    # The daily drift audit; the task skips a day already audited (a restarted beat).
    "kartra-audit-daily": {"task": "leads.audit_daily", "schedule": 24 * 3600.0},
}

# Requests larger than the webhook limit must reach the view so it can record the refusal.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, KARTRA_WEBHOOK_MAX_BYTES + 1)
