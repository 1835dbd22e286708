"""Refreshing leads from Kartra, as the rest of the mirror (the admin's "Refresh from
Kartra") asks for it. The work itself happens in ``leads.services.sync``, run by the refresh
loop of ``kartra_serve``, the Celery beat task or ``kartra_sync``."""

from leads.services.lead import lead_request_refresh
from leads.services.sync import sync_leads

__all__ = ["lead_request_refresh", "sync_leads"]
