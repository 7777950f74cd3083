import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
application = get_wsgi_application()

from shequ.core import keys  # noqa: E402 - needs the apps loaded

# Refuse to serve (a clear message, exit status 1) when the keys do not open the stored data.
keys.refuse_to_start()
