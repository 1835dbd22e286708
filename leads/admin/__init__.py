"""The mirror's admin: read-only pages over everything Kartra told us, split by domain."""

from . import catalog, lead, state  # noqa: F401  (each module registers its admins)
