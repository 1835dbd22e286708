"""Shared bases: every mirrored row says when it was observed and by what."""

from django.db import models


class Source(models.TextChoices):
    """What an observation came from."""

    WEBHOOK = "webhook", "webhook delivery"
    SNAPSHOT = "snapshot", "get_lead snapshot"
    CATALOG = "catalog", "account catalogue call"
    IMPORT = "import", "lead import"


def label_or_value(choices: type[models.Choices], value):
    """The label of a documented ``value`` of ``choices``, else the value as Kartra sent it.

    Columns that hold Kartra's enumerations keep any value Kartra sends (one it adds later
    must not fail a whole delivery or snapshot), so they declare no ``choices``: the admin
    would show an undeclared value as "-". Their models' ``get_<field>_display`` use this.
    """
    try:
        return choices(value).label
    except ValueError:
        return value


class Observed(models.Model):
    """When a piece of mirrored state was last observed, and by what.

    ``observed_at`` is the clock that decides which of two observations is newer: a webhook
    delivery's received time, or the moment a ``get_lead`` request was sent. ``observed_ref``
    is the delivery id or sync run id that made the observation.
    """

    observed_at = models.DateTimeField(db_index=False)
    observed_source = models.CharField(max_length=16, choices=Source.choices)
    observed_ref = models.BigIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


class CatalogItem(models.Model):
    """A row of one of the account's catalogues (tags, lists, products, ...).

    Kartra names some catalogue rows by id (webhooks) and some by name only (``get_lead``,
    ``retrieve_account_*``). A row first seen by name has no ``kartra_id`` until a webhook
    tells it; an id arriving with a new name is a rename. At most one id-less row exists per
    name, so name matching is unambiguous.
    """

    kartra_id = models.BigIntegerField(null=True, blank=True, unique=True)
    name = models.CharField(max_length=255, db_index=True)
    mirror_first_seen = models.DateTimeField(auto_now_add=True)
    mirror_updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name or f"#{self.kartra_id}"
