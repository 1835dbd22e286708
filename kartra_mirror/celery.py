"""The Celery app. Each worker machine runs ``celery --app kartra_mirror worker``, and the
deployment runs ``celery --app kartra_mirror beat`` exactly once (see the Procfile)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kartra_mirror.settings")

app = Celery("kartra_mirror")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
