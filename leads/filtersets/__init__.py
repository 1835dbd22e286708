"""FilterSets over the mirrored account, one per model, shared by the API and any other list:
``lead`` for the leads, ``catalog`` for the catalogues (tags, lists, products, ...) and
``relations`` for the rows that tie a lead to them (transactions, subscriptions, ...).

Every filter is backed by an index on PostgreSQL. A row's own ``id`` filter and every filter
on a related row take Kartra ids (or names), never the mirror's primary keys: those are what
the rows show and a caller knows.
"""
