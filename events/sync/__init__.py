"""Pulls from Kartra recorded as sync runs (``events.models.SyncRun``): the runs themselves
(``.runs``), refreshing leads (``.refresh``), the catalogues (``.catalogs``) and the refresh
loop that drives them without Celery (``.loop``). What a pull writes to the mirror is
``leads.services``'."""
