"""The account's catalogues from Kartra's ``retrieve_*`` calls (``kartra-facts.md``).

Tags, lists and sequences come as names only: a name is matched to the row that has it,
preferring a row with a Kartra id, and a new name is added without an id; ids learned from
webhooks are never lost. Custom fields come with ids, types and options. Pages are stored
as ``Asset`` rows of kind ``page``.

A rename leaves two rows of one name for a while: the id-less row a snapshot or a catalogue
call created under the new name, and the row a later webhook renamed by id. Each catalogue
sync merges such pairs (tags, lists, sequences), moving the lead links to the row with the
id and keeping the newer observation where a lead has both.

The catalogues sync in a sync run, which ``events.sync.catalogs`` records.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction

from kartra_mirror.kartra import CredentialsRefused, KartraClient, KartraError
from leads.models import (
    Asset,
    AssetKind,
    LeadTag,
    List,
    ListSubscription,
    Sequence,
    SequenceSubscription,
    Tag,
)
from leads.normalize import (
    PayloadError,
    parse_account_names,
    parse_custom_fields,
    parse_pages,
)

from .catalog import catalog_resolve_many, catalog_resolve_names
from .custom_fields import custom_fields_upsert

logger = logging.getLogger(__name__)


def catalog_names_store(model: type[models.Model], names: list[str]) -> int:
    """Make sure a row exists for every name (keeping existing ids); merge renamed pairs."""
    catalog_resolve_names(model, names)
    link_model, fk = NAME_LINKS[model]
    catalog_merge_renamed(model, link_model, fk)
    return len(names)


def catalog_merge_renamed(
    model: type[models.Model], link_model: type[models.Model], fk: str
) -> int:
    """Fold each id-less row into the row with a Kartra id that has the same name.

    Lead links move to the row with the id; where a lead is linked to both, the link with
    the newer observation survives. Returns how many rows were folded. A pair that a
    concurrent writer touches meanwhile is left for the next sync.
    """
    unnamed = model.objects.filter(kartra_id__isnull=True)
    named = model.objects.filter(kartra_id__isnull=False, name__in=unnamed.values("name"))
    folded = 0
    for keep in named.order_by("name", "pk"):
        duplicate = unnamed.filter(name=keep.name).first()
        if duplicate is None:
            continue
        try:
            with transaction.atomic():
                _fold(link_model, fk, keep, duplicate)
            folded += 1
        except IntegrityError:
            logger.info("could not merge %s %r yet; retrying at the next sync", model, keep.name)
    return folded


def _fold(link_model: type[models.Model], fk: str, keep: models.Model, duplicate) -> None:
    moving = link_model.objects.select_for_update().filter(**{fk: duplicate})
    by_lead = {link.lead_id: link for link in moving}
    clashes = link_model.objects.select_for_update().filter(**{fk: keep}, lead_id__in=list(by_lead))
    for kept in clashes:
        other = by_lead[kept.lead_id]
        # At equal times (one snapshot wrote both) the link to the current name is right.
        loser = kept if other.observed_at >= kept.observed_at else other
        loser.delete()
    link_model.objects.filter(**{fk: duplicate}).update(**{fk: keep})
    duplicate.delete()


NAME_LINKS: dict[type[models.Model], tuple[type[models.Model], str]] = {
    Tag: (LeadTag, "tag"),
    List: (ListSubscription, "list"),
    Sequence: (SequenceSubscription, "sequence"),
}


def _pages_store(answer: list) -> int:
    pages = parse_pages(answer)
    catalog_resolve_many(
        Asset, [((AssetKind.PAGE, p.kartra_id, p.name), {}) for p in pages], scope="kind"
    )
    return len(pages)


@dataclass(frozen=True)
class CatalogStep:
    """One catalogue call and how its answer is stored; ``store`` returns a count."""

    name: str
    fetch: Callable[[KartraClient], Any]
    store: Callable[[Any], int]


CATALOG_STEPS = (
    CatalogStep(
        "tags",
        lambda c: c.retrieve_account_tags(),
        lambda a: catalog_names_store(Tag, parse_account_names(a, "account_tags")),
    ),
    CatalogStep(
        "lists",
        lambda c: c.retrieve_account_lists(),
        lambda a: catalog_names_store(List, parse_account_names(a, "account_lists")),
    ),
    CatalogStep(
        "sequences",
        lambda c: c.retrieve_account_sequences(),
        lambda a: catalog_names_store(Sequence, parse_account_names(a, "account_sequences")),
    ),
    CatalogStep(
        "custom_fields",
        lambda c: c.retrieve_custom_fields(),
        lambda a: len(custom_fields_upsert(parse_custom_fields(a))),
    ),
    CatalogStep("pages", lambda c: c.retrieve_account_pages(), _pages_store),
)


def catalog_sync(
    client: KartraClient, *, on_error: Callable[[str, Exception], None] | None = None
) -> dict[str, int]:
    """Fetch and store every catalogue; return how many items each had.

    A catalogue that fails (Kartra error, unreadable answer) is reported to ``on_error`` and
    skipped, the others still sync; refused credentials stop everything (re-raised).
    """
    counts: dict[str, int] = {}
    for step in CATALOG_STEPS:
        try:
            answer = step.fetch(client)
            with transaction.atomic():
                counts[step.name] = step.store(answer)
        except CredentialsRefused:
            raise
        except (KartraError, PayloadError) as exc:
            logger.warning("catalogue %s not synced: %s", step.name, exc)
            if on_error is not None:
                on_error(step.name, exc)
    return counts
