"""O2C settings. Everything a deployment changes comes from the environment."""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("O2C_SECRET_KEY", "o2c-development-key-change-me-in-production-0123456789")
DEBUG = os.environ.get("O2C_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("O2C_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "o2c.core",
    "o2c.audit",
    "o2c.ledger",
    "o2c.customers",
    "o2c.receivables",
    "o2c.documents",
    "o2c.billing",
    "o2c.cash",
    "o2c.disputes",
    "o2c.collections",
    "o2c.credit",
    "o2c.reporting",
    "o2c.close",
    "o2c.workspace",
    "o2c.config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "o2c.workspace.middleware.UserLanguageMiddleware",
]

ROOT_URLCONF = "o2c.config.urls"

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
                "o2c.workspace.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "o2c.config.wsgi.application"

DATABASE_URL = os.environ.get("O2C_DATABASE_URL", "sqlite:///o2c.sqlite3")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing mid-way.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["TEST"] = (
        {"NAME": os.environ.get("O2C_TEST_SQLITE_NAME", "")} if os.environ.get("O2C_TEST_SQLITE_NAME") else {}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Only for `o2c collectstatic` in production; otherwise WhiteNoise serves from the apps' folders.
STATIC_ROOT = os.environ.get("O2C_STATIC_ROOT") or None

# Static files (htmx, Pico CSS, our CSS) are served by the app itself, also without DEBUG: it works
# offline and needs no web server in front for a single-machine installation.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The legal entity a fresh database starts with.
O2C_DEFAULT_ENTITY = {
    "code": os.environ.get("O2C_ENTITY_CODE", "MAIN"),
    "name": os.environ.get("O2C_ENTITY_NAME", "O2C Demo GmbH"),
    "country": os.environ.get("O2C_ENTITY_COUNTRY", "DE"),
    "currency": os.environ.get("O2C_ENTITY_CURRENCY", "EUR"),
    "time_zone": os.environ.get("O2C_ENTITY_TIME_ZONE", "Europe/Berlin"),
}
# Refuse, instead of registering with a warning, a statement for an own bank account not yet known.
O2C_STRICT_BANK_ACCOUNTS = os.environ.get("O2C_STRICT_BANK_ACCOUNTS", "0") == "1"

# E-mail: SMTP when O2C_EMAIL_HOST is set; otherwise messages are written as files to O2C_EMAIL_OUTBOX,
# so a demo or test installation never mails a real customer.
if os.environ.get("O2C_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["O2C_EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("O2C_EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("O2C_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("O2C_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("O2C_EMAIL_TLS", "0") == "1"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ.get("O2C_EMAIL_OUTBOX", "outbox")
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("O2C_EMAIL_FROM", "billing@o2c.invalid")
# Processes that render and send a dunning run's e-mail side by side (PostgreSQL; 0: one per CPU).
DUNNING_MAIL_WORKERS = int(os.environ.get("O2C_DUNNING_MAIL_WORKERS", "0")) or None
# Issued billing-run invoices are rendered and e-mailed after their transaction commits.
O2C_DELIVER_INVOICES = os.environ.get("O2C_DELIVER_INVOICES", "1") == "1"
# Bill-to customers billed per transaction by a billing run (twice as many documents per issuing one):
# larger is faster, smaller loses less work to a crash.
O2C_BILLING_BATCH = int(os.environ.get("O2C_BILLING_BATCH", "500"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("O2C_LOG_LEVEL", "WARNING")},
}
