"""Settling ``get_lead`` answers in a sync run: what each answer does to the mirror.

A batch of answers (``.fetch``) is settled in the calling thread: the snapshots are applied
together in one transaction (``snapshots_apply``), one at a time should the batch fail, so
that only the lead at fault fails; an erased lead's snapshot is dropped (``.suppression``);
a lead Kartra does not have, or deleted, is marked so; any other error is the lead's
failure, recorded on the run in full, logged without the lead's data, and its next try
deferred by ``RETRY_AFTER``. A refresh settles the answers it fetched; an audit that
repairs, those it compared.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from kartra_mirror.kartra import (
    CredentialsRefused,
    KartraError,
    KartraUnavailable,
    LeadDeleted,
    LeadNotFound,
    RateLimited,
)
from leads.models import Lead, Source
from leads.normalize import PayloadError

from .fetch import Answer
from .observation import Observation
from .snapshot import lead_mark_gone, snapshots_apply
from .suppression import snapshots_suppressed

if TYPE_CHECKING:
    from .sync import Target

logger = logging.getLogger(__name__)

#: A lead's outcome in a run, as :func:`answers_settle` returns it.
REFRESHED = "refreshed"
UNCHANGED = "unchanged"
NOT_FOUND = "not_found"
DELETED = "deleted"
FAILED = "failed"
SUPPRESSED = "suppressed"  # an erased lead's answer, not applied (counted as unchanged)


class SettleRun(Protocol):
    """What settling needs of the run it settles in (``events.sync.runs.SyncRecorder``,
    which records it): the run's id, which observations and gone marks point to, and a
    place for each lead's error."""

    @property
    def run_id(self) -> int: ...

    def error(self, where: str, exc: BaseException | str) -> None: ...


#: A lead that failed is tried again after this long.
RETRY_AFTER = timedelta(minutes=15)


def answers_settle(
    answers: Sequence[Answer], run: SettleRun, *, drifted: bool = False
) -> list[str]:
    """Apply a batch of answers: the snapshots together, each not found / deleted mark, and
    each failure recorded, its lead's next try deferred; return each one's outcome. (A
    refresh settles the answers it fetched; an audit that repairs, those it compared and
    found ``drifted`` from the mirror: see ``snapshots_apply``.)"""
    outcomes: dict[int, str] = {}
    snapshots = [answer for answer in answers if answer.snapshot is not None]
    erased = snapshots_suppressed([answer.snapshot for answer in snapshots])
    outcomes.update((id(a), SUPPRESSED) for a, no in zip(snapshots, erased, strict=True) if no)
    snapshots = [answer for answer, no in zip(snapshots, erased, strict=True) if not no]
    settled = _snapshots_settle(snapshots, run, drifted)
    for answer, outcome in zip(snapshots, settled, strict=True):
        outcomes[id(answer)] = outcome
    for answer in answers:
        if answer.snapshot is None:
            outcomes[id(answer)] = _guarded(answer, run, _settle_error)
    _defer([answer.target for answer in answers if outcomes[id(answer)] == FAILED])
    return [outcomes[id(answer)] for answer in answers]


def _snapshots_settle(answers: Sequence[Answer], run: SettleRun, drifted: bool) -> list[str]:
    """Apply the snapshots of ``answers`` in one transaction; should that fail, apply each
    alone, so that only the lead at fault fails."""

    def apply(batch: Sequence[Answer]) -> list[str]:
        pairs = [(a.snapshot, _observation(a, run)) for a in batch]
        applied = snapshots_apply(pairs, drifted=drifted)
        return [UNCHANGED if one.unchanged else REFRESHED for one in applied]

    if not answers:
        return []
    if len(answers) > 1:
        try:
            return apply(answers)
        except Exception as exc:  # noqa: BLE001 - each lead is tried alone below
            logger.error("a batch of %d snapshots failed (%s); one at a time", len(answers),
                         type(exc).__name__)  # fmt: skip
    return [_guarded(answer, run, lambda one, _: apply([one])[0]) for answer in answers]


def _observation(answer: Answer, run: SettleRun) -> Observation:
    return Observation(at=answer.requested_at, source=Source.SNAPSHOT, ref=run.run_id)


def _settle_error(answer: Answer, run: SettleRun) -> str:
    """A lead Kartra does not have is marked so; any other error is the lead's failure."""
    target, error = answer.target, answer.error
    if isinstance(error, LeadNotFound | LeadDeleted):
        deleted = isinstance(error, LeadDeleted)
        lead_mark_gone(
            kartra_id=target.kartra_id,
            email=target.email,
            deleted=deleted,
            requested_at=answer.requested_at,
            sync_run_id=run.run_id,
        )
        return DELETED if deleted else NOT_FOUND
    assert error is not None
    _failure(target, error, run)
    return FAILED


def _guarded(answer: Answer, run: SettleRun, settle: Callable[[Answer, SettleRun], str]) -> str:
    """``settle(answer, run)``; should it raise, the lead fails, and only this lead."""
    try:
        return settle(answer, run)
    except Exception as exc:  # noqa: BLE001 - one lead's failure must not stop the run
        _failure(answer.target, exc, run)
        return FAILED


def _failure(target: Target, exc: Exception, run: SettleRun) -> None:
    """Record why ``target`` failed on the run, in full; the log names the lead by id
    only, and says where an exception of ours was raised (its text may quote the lead's
    data)."""
    if isinstance(exc, KartraError):
        if not isinstance(exc, RateLimited | KartraUnavailable | CredentialsRefused):
            logger.warning("get_lead failed for %s: %s", target.log_name, type(exc).__name__)
    elif not isinstance(exc, PayloadError):
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        logger.error(
            "refreshing %s failed: %s at %s:%s",
            target.log_name, type(exc).__name__, frame.filename, frame.lineno,
        )  # fmt: skip
    run.error(str(target), exc)


def _defer(targets: Sequence[Target]) -> None:
    """Retry leads that failed in ``RETRY_AFTER``, not at the next pass: their refresh
    requests move to then (``leads_due`` takes requests that are due), so one lead Kartra
    keeps failing on never starves the others or spins the refresh loop. One statement."""
    ids = [target.kartra_id for target in targets if target.kartra_id is not None]
    emails = [target.email.lower() for target in targets if target.kartra_id is None]
    if not ids and not emails:
        return
    Lead.objects.annotate(email_ci=Lower("email")).filter(
        Q(kartra_id__in=ids) | Q(email_ci__in=emails)
    ).update(mirror_refresh_requested_at=timezone.now() + RETRY_AFTER)
