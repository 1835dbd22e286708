"""Constants shared by the lead app's serializers."""

LATEST_ACTIVITY = 20  # activity rows shown on a lead's detail; the rest is at /activity/?lead=
CATALOG_FIELDS = ("id", "url", "name", "mirror_first_seen", "mirror_updated")
# Columns a lead row carries that a serializer pointing at the lead never shows.
LEAD_HEAVY = ("lead__mirror_raw", "lead__notes")
