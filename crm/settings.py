"""Settings, all read from environment variables through django-environ.

With nothing set the project runs on an embedded default: SQLite, a Celery broker on the
filesystem (no server), the LINE sandbox as the platform, DEBUG on and a generated secret key.
Set ``CRM_ENV=production`` for a deployment: DEBUG must be off, a real ``SECRET_KEY`` must be
given, and the HTTPS hardening below is switched on.
"""

import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env.str("CRM_VAR_DIR", default=str(BASE_DIR / "var")))

PRODUCTION = env.str("CRM_ENV", default="development") == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)


def _development_secret_key() -> str:
    """A key generated once per checkout, so sessions survive restarts in development."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when CRM_ENV=production.")
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 50 characters "
            "when CRM_ENV=production."
        )
else:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Public base URL of this site: webhook URLs shown to staff and links in messages use it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "crm.apps.CrmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "linebot.login",  # allauth's LINE provider, with base URLs from settings
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, not a CDN
    "django_celery_beat",
    "django_celery_results",
    "crm.apps.CrmConfig",
    "linebot",
    "members",
    "campaigns",
    "journeys",  # step sequences and triggers (uses campaigns' sending pipeline)
    "integrations",  # the REST API for the company's systems (members and events)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
SITE_ID = 1

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'crm.sqlite3'}"),
}
# Persistent connections in production: a new PostgreSQL backend per webhook request cost a
# fifth of the web workers' time (bench/webhook_ingest.py).
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web app, a worker and beat share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="ja")
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "members:me"

# django-allauth: members log in with LINE (or a site password, for the account-link flow).
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="none")
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
LINE_LOGIN_SCOPE = env.list("LINE_LOGIN_SCOPE", default=["openid", "profile", "email"])
# "aggressive" (default), "normal", or empty to not offer adding the account as a friend.
LINE_LOGIN_BOT_PROMPT = env.str("LINE_LOGIN_BOT_PROMPT", default="aggressive")
SOCIALACCOUNT_PROVIDERS = {"line": {"OAUTH_PKCE_ENABLED": True}}
# Signed link URLs sent in messages stay valid this long.
LINE_LINK_URL_MAX_AGE = env.int("LINE_LINK_URL_MAX_AGE", default=60 * 60 * 24 * 3)
# The account-link nonce lives as long as LINE's link token (10 minutes).
LINE_ACCOUNT_LINK_NONCE_TTL = 600

# Celery. The embedded default is kombu's filesystem transport, so a worker and beat run as
# real processes without a broker server; CELERY_BROKER_URL=redis://... for real deployments.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task whose worker died unacknowledged (acks_late) is queued again after this many
    # seconds; it must exceed the longest task, which is why sends work in small batches.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": env.float("CELERY_UNACKED_RESTORE_INTERVAL", default=10.0),
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes the database connection after every task unless this is set: a new PostgreSQL
# backend per task cost the webhook worker more than its handling (bench/README.md). With it,
# crm.celery checks each connection before a task (CONN_MAX_AGE, broken connections).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_DEFAULT_QUEUE = "default"
# One queue per kind of work, so each can get its own workers: sending is the hot path,
# webhook handling must keep up with LINE, housekeeping must never delay either.
CELERY_TASK_QUEUES_ALL = ("default", "sending", "webhooks", "housekeeping")
CELERY_TASK_ROUTES = {
    "*.tasks.send_*": {"queue": "sending"},
    "*.tasks.webhook_*": {"queue": "webhooks"},
    "*.tasks.housekeeping_*": {"queue": "housekeeping"},
    "celery.backend_cleanup": {"queue": "housekeeping"},
}
# A Redis shared by every web and worker process for coordination (linebot.shared_redis):
# whether a webhook drain is queued, and LINE's rate limits (a token bucket per channel and
# endpoint). The broker's Redis by default; empty means each process coordinates alone, which
# is right for the embedded default on one machine.
SHARED_REDIS_URL = env.str(
    "SHARED_REDIS_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
LINE_RATE_LIMIT_REDIS_URL = env.str("LINE_RATE_LIMIT_REDIS_URL", default=SHARED_REDIS_URL)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Fixed schedules; beat copies them into the database, where staff see them in the admin.
CELERY_BEAT_SCHEDULE = {
    # Segments over "the last N days" change without any data changing.
    "rich-menu-relink-nightly": {
        "task": "members.tasks.housekeeping_richmenu_relink_all",
        "schedule": crontab(hour=3, minute=0),
    },
    "rich-menu-check-hourly": {
        "task": "members.tasks.housekeeping_richmenus_check",
        "schedule": crontab(minute=15),
    },
    "webhook-events-requeue": {
        "task": "linebot.tasks.housekeeping_webhook_events_requeue",
        "schedule": 300.0,
    },
    "id-link-rate-daily": {
        "task": "members.tasks.housekeeping_link_rate_snapshot",
        "schedule": crontab(hour=23, minute=55),
    },
    # Step sequences: due steps (and due trigger messages) go out within this many seconds.
    "journeys-send-due-steps": {
        "task": "journeys.tasks.send_due_steps",
        "schedule": env.float("JOURNEYS_TICK_SECONDS", default=15.0),
    },
    "journeys-segment-entries": {
        "task": "journeys.tasks.housekeeping_sequence_segments",
        "schedule": 300.0,
    },
}
# Sending workers sharing a large batch of due steps (each takes its own chunks of 500).
JOURNEYS_SEND_FANOUT = env.int("JOURNEYS_SEND_FANOUT", default=4)
# Tests and demos only: a file holding the time journeys run on (see journeys/clock.py).
JOURNEYS_CLOCK_FILE = env.str("JOURNEYS_CLOCK_FILE", default="")
CELERY_TASK_ALWAYS_EAGER = False

# The LINE platform. Each channel says which platform it talks to; the base URLs live here,
# so pointing a channel at real LINE is configuration, not code.
LINE_SANDBOX_URL = env.str("LINE_SANDBOX_URL", default="http://127.0.0.1:8001").rstrip("/")
LINE_PLATFORMS = {
    "line": {
        "api": "https://api.line.me",
        "api_data": "https://api-data.line.me",
        "access": "https://access.line.me",
    },
    "sandbox": {
        "api": LINE_SANDBOX_URL,
        "api_data": LINE_SANDBOX_URL,
        "access": LINE_SANDBOX_URL,
    },
}
LINE_DEFAULT_PLATFORM = env.str("LINE_DEFAULT_PLATFORM", default="sandbox")
LINE_API_TIMEOUT = env.float("LINE_API_TIMEOUT", default=10.0)
# Senders a campaign's batches are shared out to (tasks on the ``sending`` queue, each sending
# one batch after another): at least the number of processes consuming that queue.
CAMPAIGN_SENDERS = env.int("CAMPAIGN_SENDERS", default=8)

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The integrations API (/api/v1/): requests per integration token, events per batch request.
INTEGRATIONS_API_RATE = env.str("INTEGRATIONS_API_RATE", default="1200/min")
INTEGRATIONS_EVENT_BATCH_MAX = env.int("INTEGRATIONS_EVENT_BATCH_MAX", default=500)
SPECTACULAR_SETTINGS = {
    "TITLE": "LINE CRM API",
    "DESCRIPTION": "How the company's systems report members and events to the CRM.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise send the schema to validator.swagger.io for a badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
