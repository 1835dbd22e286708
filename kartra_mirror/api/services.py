"""Issuing API tokens."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db import transaction
from rest_framework.authtoken.models import Token

MIRROR_APPS = ("leads", "events")


class ApiTokenError(Exception):
    pass


@dataclass(frozen=True)
class IssuedToken:
    key: str
    user: AbstractBaseUser
    created_user: bool
    created_token: bool


@transaction.atomic
def api_token_issue(
    *,
    username: str,
    create_user: bool = False,
    staff: bool = False,
    grant_view: bool = False,
    rotate: bool = False,
) -> IssuedToken:
    """Return the API token of ``username``, creating what is asked for on the way.

    ``create_user`` creates a missing user (without a usable password: it reads the API by
    token only); ``staff`` marks the user staff (deliveries and sync runs need it);
    ``grant_view`` gives it the view permission on every model of the mirror; ``rotate``
    replaces an existing token. Raises ApiTokenError when the user does not exist and
    ``create_user`` is false.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
    created_user = user is None
    if user is None:
        if not create_user:
            raise ApiTokenError(f"no user {username!r} (pass --create-user to create one)")
        user = user_model.objects.create_user(**{user_model.USERNAME_FIELD: username})
        user.set_unusable_password()
        user.save()
    if staff and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    if grant_view:
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label__in=MIRROR_APPS, codename__startswith="view_"
            )
        )
    if rotate:
        Token.objects.filter(user=user).delete()
    token, created_token = Token.objects.get_or_create(user=user)
    return IssuedToken(
        key=token.key, user=user, created_user=created_user, created_token=created_token
    )
