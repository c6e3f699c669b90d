"""WSGI entry point: production (DEBUG off, a real SECRET_KEY required) unless DEBUG=true is set.

Whatever serves it (gunicorn with or without the repo's gunicorn.conf.py, another WSGI server, a script importing
``registry.wsgi``), from whatever directory: only ``manage.py`` defaults to development (registry/settings.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

application = get_wsgi_application()
