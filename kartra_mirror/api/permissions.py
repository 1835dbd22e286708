"""Who may read what: the model's ``view`` permission, and staff for the mirror's own logs."""

from rest_framework.permissions import DjangoModelPermissions

VIEW_PERMISSION = "%(app_label)s.view_%(model_name)s"


class ViewModelPermissions(DjangoModelPermissions):
    """An authenticated user holding ``<app>.view_<model>`` may read the endpoint.

    Every method asks for the view permission, writes included: the viewsets are read-only,
    so a reader who tries to write gets 405 (the method does not exist) rather than a 403
    that would suggest some other permission could allow it. Anonymous requests fail here and
    DRF answers 401, because the first authentication class (token) sends WWW-Authenticate.
    """

    perms_map = {
        method: [VIEW_PERMISSION]
        for method in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
    }

    def _queryset(self, view):
        # DRF builds the view's whole queryset (eager loading and all) to learn its model;
        # the class attribute names the same model.
        return view.queryset


class StaffViewModelPermissions(ViewModelPermissions):
    """The view permission plus ``is_staff``: webhook deliveries and sync runs are the
    mirror's operational logs (raw bodies, headers, tracebacks), not account data."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff) and super().has_permission(
            request, view
        )
