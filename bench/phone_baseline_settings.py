"""Settings of the baseline server of ``bench/bench_phone_pages.py``: the static-file and compression
set-up of main before issue 9, on the same code and database. Static files straight from the apps
and all of node_modules under plain names, uncompressed; HTML uncompressed. ``max-age=0``: main sent
``max-age=60``, so a second visit more than a minute later revalidates every file, which is what
the warm visit of the benchmark stands for."""

from shequ.settings import *  # noqa: F403
from shequ.settings import BASE_DIR, MIDDLEWARE, STORAGES, VAR_DIR

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATICFILES_DIRS = [("vendor", BASE_DIR / "node_modules")]
STATIC_ROOT = VAR_DIR / "static-baseline"  # empty: nothing collected, no compressed copies
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_MAX_AGE = 0
MIDDLEWARE = [m for m in MIDDLEWARE if m != "shequ.core.middleware.SameOriginGZipMiddleware"]
