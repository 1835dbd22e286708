"""The suppression list: people erased from the mirror, known only by salted hashes."""

from django.db import models


class SuppressionKind(models.TextChoices):
    EMAIL = "email", "email (lowercased)"
    KARTRA_ID = "kartra_id", "Kartra id"


class Suppression(models.Model):
    """One identifier of an erased lead, as an HMAC (``leads.services.suppression``): a
    webhook or a refresh about it is not mirrored again, and nothing here says who it was."""

    kind = models.CharField(max_length=16, choices=SuppressionKind.choices)
    digest = models.CharField("HMAC-SHA256", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"suppressed {self.get_kind_display()} {self.digest[:12]}…"
