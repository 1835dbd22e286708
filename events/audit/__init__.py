"""The drift audit, recorded as audit runs (``events.models.AuditRun``): the run
(``.runs``) and the comparison of a ``get_lead`` snapshot with the mirror (``.compare``)."""
