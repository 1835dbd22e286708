from django.apps import AppConfig


class KartraMirrorConfig(AppConfig):
    """The project itself: connection setup shared by the web, worker and command
    processes."""

    name = "kartra_mirror"
    verbose_name = "kartra_mirror"

    def ready(self) -> None:
        from .db import connect_signals, register_lookups

        connect_signals()
        register_lookups()
