"""``get_lead`` calls in worker threads, their answers handed over in batches as they arrive.

The rate limiter, not the database, is what a refresh should wait for: calls go on in the
threads while the caller applies the answers that arrived, so a batch's transaction overlaps
the next batch's calls. The threads only call Kartra and parse (pure code); they never touch
the database, so every write of a sync stays in the caller's thread and connection.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING

from django.utils import timezone

from kartra_mirror.kartra import KartraClient, KartraError
from leads.normalize import LeadSnapshot, parse_lead_details

if TYPE_CHECKING:
    from .sync import Target


@dataclass
class Answer:
    """What one ``get_lead`` request brought: its snapshot, parsed, or the error (a
    ``KartraError``, a ``PayloadError``, or the exception parsing raised)."""

    target: Target
    requested_at: datetime
    snapshot: LeadSnapshot | None = None
    error: Exception | None = None


def answer_of(client: KartraClient, target: Target) -> Answer:
    """Call ``get_lead`` for ``target`` and parse what it returns; never raises for
    Kartra's errors or the answer's content."""
    requested_at = timezone.now()
    try:
        if target.kartra_id is not None:
            details = client.get_lead(lead_id=target.kartra_id)
        else:
            details = client.get_lead(email=target.email)
    except KartraError as exc:
        return Answer(target, requested_at, error=exc)
    try:
        return Answer(target, requested_at, snapshot=parse_lead_details(details))
    except Exception as exc:  # noqa: BLE001 - a bad answer fails its lead, not the run
        return Answer(target, requested_at, error=exc)


def answers_in_batches(
    client: KartraClient,
    targets: Iterable[Target],
    *,
    workers: int,
    batch: int,
    wait: timedelta,
) -> Iterator[list[Answer]]:
    """Answers for ``targets`` from ``workers`` threads, in batches of at most ``batch``:
    each the answers that arrived while the caller handled the last one (at least one,
    waiting for it). The threads keep calling meanwhile, up to ``batch`` answers ahead of
    the caller. An empty batch comes after ``wait`` without an answer (for the caller to
    say it is alive). Calls not started when the caller stops are cancelled."""
    workers = max(1, workers)
    ahead = workers + 2 * batch  # calls in flight or answers waiting, at most
    arrived: queue.SimpleQueue[Future[Answer]] = queue.SimpleQueue()
    remaining = iter(targets)
    outstanding = 0
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="get-lead")
    try:
        while True:
            for target in islice(remaining, ahead - outstanding):
                pool.submit(answer_of, client, target).add_done_callback(arrived.put)
                outstanding += 1
            if not outstanding:
                return
            try:
                futures = [arrived.get(timeout=wait.total_seconds())]
            except queue.Empty:
                yield []
                continue
            while len(futures) < batch:
                try:
                    futures.append(arrived.get_nowait())
                except queue.Empty:
                    break
            outstanding -= len(futures)
            yield [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
