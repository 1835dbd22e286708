"""The clock of the mirror: which of two observations of a piece of state is newer."""

from dataclasses import dataclass
from datetime import datetime

from leads.models import Source


@dataclass(frozen=True)
class Observation:
    """When something was observed (a delivery's received time or a get_lead's request
    time), by what (webhook or snapshot) and which delivery or sync run it was."""

    at: datetime
    source: str
    ref: int | None = None

    #: The columns an observed row keeps them in.
    FIELDS = ("observed_at", "observed_source", "observed_ref")

    def fields(self) -> dict:
        return {"observed_at": self.at, "observed_source": self.source, "observed_ref": self.ref}

    def is_older_than(self, observed_at: datetime | None) -> bool:
        """True when state last observed at ``observed_at`` must not be overwritten by this."""
        return observed_at is not None and observed_at > self.at

    @property
    def is_webhook(self) -> bool:
        return self.source == Source.WEBHOOK
