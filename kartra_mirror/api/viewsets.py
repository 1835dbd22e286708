"""The one base class every API endpoint derives from."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.functional import classproperty
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import viewsets
from rest_framework.exceptions import NotFound

from .addressing import Address
from .filters import FilterBackend, SearchFilter
from .pagination import KeysetPagination
from .permissions import ViewModelPermissions
from .prefetch import prefetch_present, presence_annotations


class MirrorSchema(AutoSchema):
    """drf-spectacular's schema, saying what a detail's path segment is."""

    def get_override_parameters(self) -> list:
        if self.view.action != "retrieve":
            return super().get_override_parameters()
        address = self.view.row_address()
        key = OpenApiParameter(
            self.view.lookup_url_kwarg,
            str,
            OpenApiParameter.PATH,
            description=address.description,
            pattern=f"^{address.path_regex}$",
        )
        return [*super().get_override_parameters(), key]


class MirrorViewSet(viewsets.ReadOnlyModelViewSet):
    """Read-only list and detail over one model of the mirror.

    Subclasses declare ``queryset``, ``serializer_class`` and ``filterset_class`` (and, where
    it differs from these defaults, ``detail_serializer_class``, ``address``, ``ordering``,
    ``ordering_fields``, ``search_fields``). Everything else lives here:

    - details addressed as ``addressing.py`` says: by Kartra id or ``mirror-<n>`` (``address``
      defaults to ``Address.of`` the model), within 64 bits;
    - keyset paging (``KeysetPagination``) ordered by ``ordering``, chosen among
      ``ordering_fields``, which must each be backed by an index. ``id`` names the row's id
      as the rows show it (Kartra's, or the mirror's for its own records); the default,
      ``-pk``, lists the rows the mirror saw last first and is no choice a client makes;
    - the ``view`` permission of the model;
    - eager loading declared on the serializer's ``Meta`` (``select_related``,
      ``prefetch_related``, ``defer``, ``only``, ``values``), so no endpoint issues a query
      per row; a detail prefetches only the relations its row has (``prefetch.py``).
    """

    address: Address | None = None
    lookup_url_kwarg = "key"
    permission_classes = (ViewModelPermissions,)
    pagination_class = KeysetPagination
    filter_backends = (FilterBackend, SearchFilter)
    schema = MirrorSchema()
    ordering = "-pk"
    ordering_fields: tuple[str, ...] = ()
    detail_serializer_class = None

    @classmethod
    def row_address(cls) -> Address:
        return cls.address or Address.of(cls.queryset.model)

    @classproperty
    def lookup_value_regex(cls) -> str:  # read by the router, on the class
        return cls.row_address().path_regex

    def ordering_field(self, name: str) -> str:
        """The model field behind an ordering name (without its ``-``)."""
        return self.row_address().id_field if name == "id" else name

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
        lookup = self.row_address().lookup(self.kwargs[self.lookup_url_kwarg])
        if lookup is None:
            raise NotFound()
        row = get_object_or_404(self.filter_queryset(self.get_queryset()), **lookup)
        self.check_object_permissions(self.request, row)
        if prefetch := getattr(self.get_serializer_class().Meta, "prefetch_related", ()):
            prefetch_present(row, prefetch)
        return row
