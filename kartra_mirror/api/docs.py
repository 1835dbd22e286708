"""The API's documentation pages, served without internet access.

Their scripts and styles come from drf-spectacular-sidecar's static files
(``SWAGGER_UI_DIST = "SIDECAR"``). These subclasses remove the two remaining calls out:
ReDoc's Google Fonts links, and Swagger UI's validator badge, which would send the schema's
address to validator.swagger.io.
"""

import json

from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


class OfflineSwaggerView(SpectacularSwaggerView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        settings = {**spectacular_settings.SWAGGER_UI_SETTINGS, "validatorUrl": None}
        response.data["settings"] = json.dumps(settings, indent=2)
        return response


class OfflineRedocView(SpectacularRedocView):
    template_name = "api/redoc.html"
