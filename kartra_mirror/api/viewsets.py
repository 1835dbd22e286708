"""The one base class every API endpoint derives from."""

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.exceptions import NotFound

from .filters import FilterBackend, SearchFilter
from .pagination import INT64_MAX, KeysetPagination
from .permissions import ViewModelPermissions
from .prefetch import prefetch_present, presence_annotations


class MirrorViewSet(viewsets.ReadOnlyModelViewSet):
    """Read-only list and detail over one model of the mirror.

    Subclasses declare ``queryset``, ``serializer_class`` and ``filterset_class`` (and, where
    it differs from these defaults, ``detail_serializer_class``, ``lookup_field``,
    ``ordering``, ``ordering_fields``, ``search_fields``). Everything else lives here:

    - lookups by Kartra id (``lookup_field``), digits only and within 64 bits;
    - keyset paging (``KeysetPagination``) ordered by ``ordering``, chosen among
      ``ordering_fields``, which must each be backed by an index;
    - the ``view`` permission of the model;
    - eager loading declared on the serializer's ``Meta`` (``select_related``,
      ``prefetch_related``, ``defer``, ``only``, ``values``), so no endpoint issues a query
      per row; a detail prefetches only the relations its row has (``prefetch.py``).
    """

    lookup_field = "kartra_id"
    lookup_value_regex = "[0-9]+"
    permission_classes = (ViewModelPermissions,)
    pagination_class = KeysetPagination
    filter_backends = (FilterBackend, SearchFilter)
    ordering = "-id"
    ordering_fields: tuple[str, ...] = ("id",)
    detail_serializer_class = None

    def get_serializer_class(self):
        if self.action == "retrieve" and self.detail_serializer_class is not None:
            return self.detail_serializer_class
        return self.serializer_class

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        meta = self.get_serializer_class().Meta
        if select := getattr(meta, "select_related", ()):
            queryset = queryset.select_related(*select)
        if prefetch := getattr(meta, "prefetch_related", ()):
            if self.action == "retrieve":  # prefetched in get_object(), what the row has
                queryset = queryset.annotate(**presence_annotations(queryset.model, prefetch))
            else:
                queryset = queryset.prefetch_related(*prefetch)
        if defer := getattr(meta, "defer", ()):
            queryset = queryset.defer(*defer)
        if only := getattr(meta, "only", ()):
            queryset = queryset.only(*only)
        if values := getattr(meta, "values", ()):
            queryset = queryset.values(*values)
        return queryset

    def get_object(self):
        # Out-of-range numbers would overflow the bigint column: answer 404, not 500.
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        if len(value) > 19 or int(value) > INT64_MAX:
            raise NotFound()
        row = super().get_object()
        if prefetch := getattr(self.get_serializer_class().Meta, "prefetch_related", ()):
            prefetch_present(row, prefetch)
        return row
