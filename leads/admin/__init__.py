"""The mirror's admin: read-only pages over everything Kartra told us, split by domain, and
the segments people keep of the lead list."""

from django.contrib import admin

from . import catalog, erase, history, lead, segments, state  # noqa: F401  (each registers its admins)

admin.site.site_header = "kartra_mirror"
admin.site.site_title = "kartra_mirror"
admin.site.index_title = "Your Kartra account, mirrored"
