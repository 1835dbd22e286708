"""The drift audit: how far the mirror is from Kartra right now, lead by lead.

Webhooks get lost or unticked in Kartra's UI, and some changes send none (profile edits,
custom fields, sequence steps, rebills). An audit asks Kartra for leads with ``get_lead``,
through the same fetch pipeline and the same shared rate budget as a refresh
(``leads.services.fetch``, the client of ``sync_client``), parses each answer with the
snapshot path's normaliser, and compares it with the mirror (``.compare``) without writing
anything of the lead's.
It records an audit run (``events.models.AuditRun``) with one ``AuditDifference`` per way a
lead differs.

Asked to repair, it then applies the answers of the leads that differ, as a refresh
applies them (``answers_settle``), in a sync run of kind ``audit`` of its own.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from events.models import AuditDifference, AuditRun, SyncRunStatus
from events.sync.refresh import APPLY_BATCH, StopRule
from events.sync.runs import (
    DEAD_AFTER,
    HEARTBEAT,
    MAX_ERRORS,
    SyncAborted,
    SyncRecorder,
    sync_run_start,
)
from kartra_mirror.counters import counters_add
from kartra_mirror.kartra import (
    KartraClient,
    LeadDeleted,
    LeadNotFound,
)
from kartra_mirror.kartra.client import ClientStats
from leads.models import Lead
from leads.services.audit_mirror import MirrorLead, mirror_leads
from leads.services.fetch import Answer, answers_in_batches
from leads.services.importing import LeadRef, lead_refs_read
from leads.services.settle import FAILED, answers_settle
from leads.services.sync import Target, fetch_workers, targets_of

from .compare import Difference, gone_compare, lead_compare

logger = logging.getLogger(__name__)

COMPARED, NOT_FOUND = "compared", "not_found"
#: A daily sample is due when the last one started longer ago than this (beat's day, with
#: room for a late start).
DAILY_GAP = timedelta(hours=20)


@dataclass
class LeadDrift:
    """One lead's outcome: ``compared`` (Kartra answered with its profile), ``not_found``
    (Kartra does not have it, or deleted it) or ``failed`` (no answer to compare)."""

    target: Target
    outcome: str
    kartra_id: int | None = None
    lead_pk: int | None = None
    differences: list[Difference] = field(default_factory=list)

    def __str__(self) -> str:
        return f"lead {self.kartra_id}" if self.kartra_id is not None else str(self.target)


class _NoCalls:
    """What a repair's sync run counts API calls from: it makes none of its own (the
    audit run counts the calls whose answers the repair applies)."""

    def __init__(self) -> None:
        self.stats = ClientStats()


class AuditRecorder:
    """Counts one audit's outcomes on its ``AuditRun``, stores its differences, and takes
    the client's counters (calls, 429s, retries) as the difference since it started."""

    def __init__(self, run: AuditRun, client: KartraClient) -> None:
        self.run, self.client = run, client
        self._baseline = client.stats.as_dict()
        self._reported = dict(self._baseline)
        self._saved_at = time.monotonic()
        self.causes: Counter[str] = Counter(run.causes)

    def record(self, drifts: Sequence[LeadDrift]) -> None:
        """Count ``drifts`` and store their differences (one statement)."""
        rows = []
        for drift in drifts:
            if drift.outcome == FAILED:
                self.run.leads_failed += 1
                continue
            self.run.leads_compared += 1
            self.run.leads_not_found += drift.outcome == NOT_FOUND
            self.run.leads_differing += bool(drift.differences)
            rows += [_difference_row(self.run, drift, d) for d in drift.differences]
        self.run.differences_found += len(rows)
        self.causes.update(row.cause for row in rows)
        AuditDifference.objects.bulk_create(rows)

    def error(self, where: str, text: str) -> None:
        if len(self.run.errors) < MAX_ERRORS:
            self.run.errors.append({"target": where, "error": text[:500]})

    def checkpoint(self) -> None:
        if time.monotonic() - self._saved_at >= HEARTBEAT.total_seconds():
            self.save()

    def save(self) -> None:
        stats = self.client.stats.as_dict()
        for key, column in (
            ("calls", "api_calls"),
            ("throttled", "throttled"),
            ("retries", "retries"),
        ):
            setattr(self.run, column, stats[key] - self._baseline[key])
        self.run.causes = dict(sorted(self.causes.items()))
        self.run.heartbeat_at = timezone.now()
        self.run.save()
        self._saved_at = time.monotonic()
        counters_add(
            (f"kartra_api_{key}", {}, stats[key] - self._reported[key])
            for key in ("calls", "throttled", "retries")
            if stats[key] > self._reported[key]
        )
        self._reported = stats

    def finish(self, status: str) -> AuditRun:
        self.run.status = status
        self.run.finished_at = timezone.now()
        self.save()
        return self.run


def _difference_row(run: AuditRun, drift: LeadDrift, difference: Difference) -> AuditDifference:
    return AuditDifference(
        run=run,
        lead_id=drift.lead_pk,
        lead_kartra_id=drift.kartra_id,
        relation=difference.relation,
        name=difference.name[:512],
        mirror_value=difference.mirror,
        kartra_value=difference.kartra,
        cause=difference.cause,
    )


# -- comparing a batch of answers ----------------------------------------------------------


def answers_compare(answers: Sequence[Answer]) -> list[LeadDrift]:
    """Compare each answer with the mirror's lead (read in a fixed number of queries for
    the batch); one :class:`LeadDrift` per answer, in the same order. Writes nothing."""
    ids = {a.snapshot.profile.kartra_id for a in answers if a.snapshot is not None}
    ids |= {a.target.kartra_id for a in answers if a.target.kartra_id is not None}
    emails = {a.target.email for a in answers if a.target.email}
    emails |= {a.snapshot.profile.fields.get("email", "") for a in answers if a.snapshot}
    mirrors = mirror_leads(kartra_ids=ids, emails=emails)
    by_id = {m.kartra_id: m for m in mirrors if m.kartra_id is not None}
    by_email = {m.profile["email"].lower(): m for m in mirrors if m.profile["email"]}
    return [_drift(answer, by_id, by_email) for answer in answers]


def _drift(answer: Answer, by_id: dict, by_email: dict[str, MirrorLead]) -> LeadDrift:
    target, at = answer.target, answer.requested_at
    if answer.snapshot is not None:
        profile = answer.snapshot.profile
        mirror = by_id.get(profile.kartra_id)
        if mirror is None:  # a lead imported by email, not fetched yet
            pending = by_email.get(profile.fields.get("email", "").lower())
            mirror = pending if pending is not None and pending.kartra_id is None else None
        found = lead_compare(answer.snapshot, mirror, requested_at=at)
        return _made(target, COMPARED, profile.kartra_id, mirror, found)
    if isinstance(answer.error, LeadNotFound | LeadDeleted):
        if target.kartra_id is not None:
            mirror = by_id.get(target.kartra_id)
        else:
            mirror = by_email.get(target.email.lower())
        deleted = isinstance(answer.error, LeadDeleted)
        found = gone_compare(mirror, deleted=deleted, requested_at=at)
        kartra_id = target.kartra_id or (mirror.kartra_id if mirror else None)
        return _made(target, NOT_FOUND, kartra_id, mirror, found)
    return LeadDrift(target, FAILED, target.kartra_id)


def _made(target, outcome, kartra_id, mirror: MirrorLead | None, found) -> LeadDrift:
    return LeadDrift(target, outcome, kartra_id, mirror.pk if mirror else None, found)


# -- running an audit ----------------------------------------------------------------------


class _Repair:
    """Applies the answers of the leads that differ, as a refresh applies them, in a sync
    run of kind ``audit`` opened at the first one (an audit that finds nothing opens none)."""

    def __init__(self, audit: AuditRun) -> None:
        self.audit = audit
        self.recorder: SyncRecorder | None = None

    def apply(self, answers: Sequence[Answer], drifts: Sequence[LeadDrift]) -> None:
        differing = [a for a, d in zip(answers, drifts, strict=True) if d.differences]
        if not differing:
            return
        if self.recorder is None:
            arguments = {"audit_run": self.audit.pk}
            self.recorder = sync_run_start(kind="audit", client=_NoCalls(), arguments=arguments)
            self.audit.repair_run = self.recorder.run
        for outcome in answers_settle(differing, self.recorder, drifted=True):
            self.recorder.count(outcome)
            self.audit.leads_repaired += outcome != FAILED
        self.recorder.checkpoint()

    def finish(self) -> None:
        if self.recorder is not None:
            self.recorder.finish()

    def crashed(self, exc: BaseException) -> None:
        if self.recorder is not None:
            self.recorder.crashed(exc)


def audit_run(
    client: KartraClient,
    targets: Iterable[Target],
    *,
    kind: str,
    arguments: dict | None = None,
    repair: bool = False,
    workers: int | None = None,
    on_lead: Callable[[LeadDrift], None] | None = None,
) -> AuditRun:
    """Audit ``targets`` (Kartra ids, or emails the mirror has no id for) in a run of
    ``kind`` (``sample``, ``all``, ``leads``, ``daily``) and return the finished run.

    ``get_lead`` calls go through ``client`` (its rate limiter is the deployment's shared
    budget), ``workers`` in flight (default: as a refresh). ``on_lead`` is called with each
    lead's :class:`LeadDrift` as it is compared. With ``repair``, the answers of the leads
    that differ are applied afterwards, batch by batch. The run ends ``failed`` when Kartra
    refuses the credentials or stays unreachable, ``partial`` when some leads could not be
    fetched, and ``aborted`` (then re-raised) when anything else stops it.
    """
    audit_runs_sweep()
    now = timezone.now()
    run = AuditRun.objects.create(
        kind=kind, arguments=arguments or {}, started_at=now, heartbeat_at=now, repair=repair
    )
    recorder = AuditRecorder(run, client)
    repairer = _Repair(run) if repair else None
    try:
        _audit(client, targets, recorder, repairer, workers=workers, on_lead=on_lead)
    except SyncAborted as exc:
        recorder.error("run", str(exc))
        status = SyncRunStatus.FAILED
    except BaseException as exc:
        _crashed(recorder, repairer, exc)
        raise
    else:
        failed = run.leads_failed or run.errors
        status = SyncRunStatus.PARTIAL if failed else SyncRunStatus.SUCCEEDED
    if repairer is not None:
        repairer.finish()
    return recorder.finish(status)


def _audit(client, targets, recorder: AuditRecorder, repairer: _Repair | None, *, workers, on_lead):
    """Fetch, compare, record (and repair) batch by batch, as the answers arrive."""
    stop = StopRule()
    answers = answers_in_batches(
        client, targets, workers=workers or fetch_workers(), batch=APPLY_BATCH, wait=HEARTBEAT
    )
    with closing(answers):  # stops the calls at once when the audit stops
        for arrived in answers:
            drifts = answers_compare(arrived) if arrived else []
            recorder.record(drifts)
            if repairer is not None:
                repairer.apply(arrived, drifts)
            for answer, drift in zip(arrived, drifts, strict=True):
                if drift.outcome == FAILED:
                    recorder.error(
                        str(drift.target), f"{type(answer.error).__name__}: {answer.error}"
                    )
                if on_lead is not None:
                    on_lead(drift)
                stop.see(answer.error)
            recorder.checkpoint()
            stop.check()


def _crashed(recorder: AuditRecorder, repairer: _Repair | None, exc: BaseException) -> None:
    """Mark the audit (and its repair) aborted by ``exc``, if the database still takes it;
    otherwise the next sweep does. Never raises."""
    if repairer is not None:
        repairer.crashed(exc)
    try:
        recorder.error("run", f"aborted: {type(exc).__name__}: {exc}")
        with transaction.atomic():
            recorder.finish(SyncRunStatus.ABORTED)
    except Exception as again:  # noqa: BLE001 - the sweep records it instead
        logger.warning("audit run %s: its abort could not be recorded (%s)", recorder.run.pk,
                       type(again).__name__)  # fmt: skip


def audit_runs_sweep(*, now=None) -> int:
    """Mark ``aborted`` the audits shown running that said nothing for ``DEAD_AFTER``
    (their process is gone); return how many."""
    now = now or timezone.now()
    return AuditRun.objects.filter(
        status=SyncRunStatus.RUNNING, heartbeat_at__lt=now - DEAD_AFTER
    ).update(status=SyncRunStatus.ABORTED, finished_at=now)


# -- which leads -----------------------------------------------------------------------------


def audit_sample(size: int) -> list[Target]:
    """``size`` leads with a Kartra id, at random."""
    ids = (
        Lead.objects.filter(kartra_id__isnull=False)
        .order_by("?")
        .values_list("kartra_id", flat=True)[: max(size, 0)]
    )
    return [Target(kartra_id=kartra_id) for kartra_id in ids]


def audit_all() -> list[Target]:
    """Every lead of the mirror, by Kartra id (by email where it has none yet)."""
    return targets_of(Lead.objects.order_by("pk"))


def audit_targets_read(path: Path | str) -> tuple[str, list[Target], list[LeadRef]]:
    """The leads of a file ``kartra_import_leads`` reads (Kartra's export CSV, or one email
    or lead id per line): what was found, the targets (by Kartra id; an email the mirror
    knows an id for by that id), and the lines that name no lead."""
    found, refs = lead_refs_read(path)
    refs = list(refs)
    emails = {ref.email.lower() for ref in refs if ref.kartra_id is None and ref.email}
    known = dict(
        Lead.objects.annotate(email_ci=Lower("email"))
        .filter(email_ci__in=emails, kartra_id__isnull=False)
        .values_list("email_ci", "kartra_id")
    )
    targets = []
    for ref in refs:
        kartra_id = ref.kartra_id or known.get(ref.email.lower())
        if kartra_id is not None:
            targets.append(Target(kartra_id=kartra_id))
        elif ref.email:
            targets.append(Target(email=ref.email))
    return found, list(dict.fromkeys(targets)), [ref for ref in refs if not ref.valid]


# -- the daily sample ------------------------------------------------------------------------


def audit_daily_due(*, now=None) -> bool:
    """Whether the daily sample should run: ``KARTRA_AUDIT_DAILY_SAMPLE`` is above 0 and no
    daily audit started within ``DAILY_GAP``."""
    if settings.KARTRA_AUDIT_DAILY_SAMPLE <= 0:
        return False
    since = (now or timezone.now()) - DAILY_GAP
    return not AuditRun.objects.filter(kind="daily", started_at__gt=since).exists()


def audit_daily(client: KartraClient) -> AuditRun | None:
    """The daily sample, when due: ``KARTRA_AUDIT_DAILY_SAMPLE`` leads at random, compared
    and repaired (it holds their answers: a refresh would fetch the same again). None when
    not due."""
    if not audit_daily_due():
        return None
    size = settings.KARTRA_AUDIT_DAILY_SAMPLE
    return audit_run(client, audit_sample(size), kind="daily", arguments={"sample": size},
                     repair=True)  # fmt: skip
