"""``{% kartra_dashboard %}``: the mirror's health and volumes on the admin index."""

from django import template

from events.dashboard import dashboard

register = template.Library()


@register.inclusion_tag("admin/kartra/dashboard.html", takes_context=True)
def kartra_dashboard(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    allowed = user is not None and user.has_perms(["leads.view_lead", "events.view_delivery"])
    return {"dashboard": dashboard() if allowed else None}
