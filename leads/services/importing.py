"""Getting leads in: Kartra has no call that lists leads (``kartra-facts.md``), so a mirror
learns them from webhooks and from an outside list: Kartra's lead export CSV, or a plain file
of emails or lead ids, one per line.

Importing creates the leads the mirror does not have yet as ``pending`` (known by id or
email only) and requests their refresh; the refresh loop (or ``kartra_sync --due``) then
fetches them. Re-running an import changes nothing for leads already there.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from leads.models import Lead, MirrorStatus
from leads.services.suppression import is_suppressed, suppressed_digests

#: Header names (lower case, letters and digits only) that hold a lead's email or id.
EMAIL_HEADERS = frozenset({"email", "emailaddress", "leademail", "mail", "emailid"})
ID_HEADERS = frozenset({"id", "leadid", "kartraid", "kartraleadid", "contactid"})
MAX_ID = 2**63 - 1
CHUNK = 500


@dataclass(frozen=True)
class LeadRef:
    """One line of the file: a lead id and/or an email (empty when invalid)."""

    line: int
    kartra_id: int | None
    email: str
    text: str

    @property
    def valid(self) -> bool:
        return self.kartra_id is not None or bool(self.email)


@dataclass
class ImportReport:
    created: int = 0
    existing: int = 0
    invalid: int = 0
    duplicates: int = 0
    suppressed: int = 0  # erased leads on the suppression list: not imported again
    refresh_requested: int = 0
    invalid_lines: list[tuple[int, str]] = field(default_factory=list)
    columns: str = ""


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.strip().lower())


def _as_id(text: str) -> int | None:
    text = text.strip().strip('"').strip()
    if text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    return None


def _as_email(text: str) -> str:
    text = text.strip().strip('"').strip().strip("<>")
    try:
        validate_email(text)
    except ValidationError:
        return ""
    return text if len(text) <= 254 else ""


def lead_refs_read(path: Path | str) -> tuple[str, Iterator[LeadRef]]:
    """Read a lead export CSV (email and id columns found by header, case-insensitive) or a
    plain list (one email or id per line). Returns a description of what was found and the
    references, line by line."""
    handle = open(path, encoding="utf-8-sig", errors="replace", newline="")  # noqa: SIM115
    first = handle.readline()
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    header = next(csv.reader([first], dialect), [])
    keys = [_key(h) for h in header]
    email_col = next((i for i, k in enumerate(keys) if k in EMAIL_HEADERS), None)
    id_col = next((i for i, k in enumerate(keys) if k in ID_HEADERS), None)
    if email_col is None and id_col is None:
        lines = _plain(first, handle)
        return "a plain list (one email or lead id per line)", lines
    names = [header[i].strip() for i in (id_col, email_col) if i is not None]
    return f"CSV columns {', '.join(repr(n) for n in names)}", _csv(
        handle, dialect, id_col, email_col
    )


def _plain(first: str, handle: io.TextIOBase) -> Iterator[LeadRef]:
    with handle:
        for number, line in enumerate([first, *handle], start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            kartra_id = _as_id(text)
            email = "" if kartra_id is not None else _as_email(text)
            yield LeadRef(number, kartra_id, email, text)


def _csv(handle, dialect, id_col: int | None, email_col: int | None) -> Iterator[LeadRef]:
    with handle:
        for number, row in enumerate(csv.reader(handle, dialect), start=2):
            if not any(cell.strip() for cell in row):
                continue
            id_text = row[id_col] if id_col is not None and id_col < len(row) else ""
            email_text = row[email_col] if email_col is not None and email_col < len(row) else ""
            text = ", ".join(cell for cell in (id_text, email_text) if cell) or ",".join(row)
            yield LeadRef(number, _as_id(id_text), _as_email(email_text), text[:200])


def leads_import(refs: Iterable[LeadRef], *, dry_run: bool = False) -> ImportReport:
    """Create missing leads as pending and request their refresh; count what was done.

    A reference matches an existing lead by Kartra id, else by email (case-insensitive); a
    pending lead known by email learns its id from a reference that has both. Existing leads
    never refreshed get a refresh request too; others are left alone.
    """
    report = ImportReport()
    seen_ids: set[int] = set()
    seen_emails: set[str] = set()
    iterator = iter(refs)
    while chunk := list(islice(iterator, CHUNK)):
        fresh = []
        for ref in chunk:
            if not ref.valid:
                report.invalid += 1
                if len(report.invalid_lines) < 20:
                    report.invalid_lines.append((ref.line, ref.text))
                continue
            email = ref.email.lower()
            if (ref.kartra_id is not None and ref.kartra_id in seen_ids) or (
                ref.kartra_id is None and email in seen_emails
            ):
                report.duplicates += 1
                continue
            if ref.kartra_id is not None:
                seen_ids.add(ref.kartra_id)
            if email:
                seen_emails.add(email)
            fresh.append(ref)
        found = suppressed_digests(
            emails=[ref.email for ref in fresh],
            kartra_ids=[ref.kartra_id for ref in fresh if ref.kartra_id is not None],
        )
        allowed = [
            ref
            for ref in fresh
            if not is_suppressed(found, email=ref.email, kartra_id=ref.kartra_id)
        ]
        report.suppressed += len(fresh) - len(allowed)
        if allowed:
            _import_chunk(allowed, report, dry_run=dry_run)
    return report


def _import_chunk(refs: list[LeadRef], report: ImportReport, *, dry_run: bool) -> None:
    ids = {r.kartra_id for r in refs if r.kartra_id is not None}
    emails = {r.email.lower() for r in refs if r.email}
    with transaction.atomic():
        rows = (
            Lead.objects.annotate(email_ci=Lower("email"))
            .filter(Q(kartra_id__in=ids) | Q(email_ci__in=emails))
            .select_for_update()
        )
        by_id = {}
        by_email = {}
        for lead in rows:
            if lead.kartra_id is not None:
                by_id[lead.kartra_id] = lead
            if lead.email:
                by_email[lead.email.lower()] = lead
        to_create: list[Lead] = []
        touched: list[int] = []
        for ref in refs:
            email = ref.email.lower()
            lead = by_id.get(ref.kartra_id) if ref.kartra_id is not None else None
            if lead is None and email:
                lead = by_email.get(email)
                moved = ref.kartra_id is not None and lead is not None
                if moved and lead.kartra_id not in (None, ref.kartra_id):
                    lead = None  # the email now belongs to another lead; Kartra will tell
            if lead is not None:
                report.existing += 1
                if ref.kartra_id is not None and lead.kartra_id is None and not dry_run:
                    Lead.objects.filter(pk=lead.pk).update(kartra_id=ref.kartra_id)
                if lead.mirror_refreshed_at is None:
                    touched.append(lead.pk)
                continue
            to_create.append(
                Lead(
                    kartra_id=ref.kartra_id,
                    email="" if email in by_email else ref.email,
                    mirror_status=MirrorStatus.PENDING,
                )
            )
        report.created += len(to_create)
        if dry_run:
            report.refresh_requested += len(to_create) + len(touched)
            return
        now = timezone.now()
        for lead in to_create:
            lead.mirror_refresh_requested_at = now
        Lead.objects.bulk_create(to_create, ignore_conflicts=True)
        report.refresh_requested += len(to_create)
        report.refresh_requested += Lead.objects.filter(
            pk__in=touched, mirror_refresh_requested_at__isnull=True
        ).update(mirror_refresh_requested_at=now)
