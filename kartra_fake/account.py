"""``FakeAccount``: an in-memory Kartra account, its data and its mutations.

Building one, rendering it, stating its truth and playing activity on it are functions over
an account, in the modules that do them (``generate``, ``render``, ``state``, ``play``).
"""

from __future__ import annotations

from .ipn import IpnMixin
from .mutations import MutationsMixin


class FakeAccount(MutationsMixin, IpnMixin):
    """The whole account: the data of :class:`~kartra_fake.data.FakeAccountData` (catalogue,
    leads, clock, id counters) and its mutations.

    Mutation methods (``assign_tag``, ``buy_product``, ...) change the state and return the
    webhook body Kartra would send for them; see :class:`~kartra_fake.mutations.MutationsMixin`.
    Payments only the IPN reports (``rebill``) and the IPN queue (``take_ipns``) are in
    :class:`~kartra_fake.ipn.IpnMixin`.
    """
