"""The Celery app: workers run ``celery -A kartra_mirror worker -B``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kartra_mirror.settings")

app = Celery("kartra_mirror")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
