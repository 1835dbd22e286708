"""Segments: lead lists people keep. The mirror's own data, not Kartra's, so people edit them."""

from django.conf import settings
from django.db import models


class Segment(models.Model):
    """A named, filtered lead list: the admin lead list's filters and search as a query
    string (``tag=12&custom_field=3&custom_value=blue&q=ada``), applied by the lead list
    itself whenever the segment is opened, counted or exported.

    Its owner edits and deletes it; ``shared`` shows it to the other staff, read-only.
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    filters = models.CharField(
        "lead list filters",
        max_length=2000,
        blank=True,
        help_text="The lead list's query string; empty for every lead.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # a departed colleague's shared segments stay
        related_name="lead_segments",
    )
    shared = models.BooleanField(default=False, help_text="Other staff see it and can use it.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "pk")

    def __str__(self) -> str:
        return self.name
