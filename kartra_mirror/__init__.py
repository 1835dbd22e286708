"""kartra_mirror: a complete, current copy of a Kartra account in your own database."""

from .celery import app as celery_app

__all__ = ["celery_app"]
