"""The catalogues' sync (``leads.services.catalog_sync``) in a sync run: one of their own
(:func:`catalog_sync_run`, the refresh loop's and the beat task's) or the run of a refresh,
before its leads (:func:`catalog_sync_into`, the ``kartra_sync`` command's and the demo's).
"""

from events.models import SyncRun
from kartra_mirror.kartra import CredentialsRefused, KartraClient
from leads.services.catalog_sync import catalog_sync

from .runs import SyncAborted, SyncRecorder, sync_run


def catalog_sync_into(recorder: SyncRecorder) -> dict[str, int]:
    """Sync the catalogues within ``recorder``'s run; a catalogue that fails is an error on
    the run, and the counts go to its arguments (``catalog``). Returns the counts. Raises
    :class:`SyncAborted` when Kartra refuses the credentials."""

    def on_error(step: str, exc: Exception) -> None:
        recorder.error(f"catalogue {step}", exc)

    try:
        counts = catalog_sync(recorder.client, on_error=on_error)
    except CredentialsRefused as exc:
        recorder.error("catalogue", exc)
        raise SyncAborted(f"Kartra refused the credentials: {exc}") from None
    recorder.run.arguments = {**recorder.run.arguments, "catalog": counts}
    recorder.save()
    return counts


def catalog_sync_run(client: KartraClient) -> SyncRun:
    """Sync the catalogues in a run of kind ``catalog`` of their own; returns the finished
    run (``failed`` when Kartra refused the credentials)."""
    with sync_run(kind="catalog", client=client) as recorder:
        catalog_sync_into(recorder)
    return recorder.run
