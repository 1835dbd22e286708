"""Who is asking, and what may they read: DRF's token authentication and Django's model
permissions, each per-request lookup written as one plain query.

Every API request authenticates a token and checks a view permission on a fresh user
object. Django's ORM spends longer building those small querysets than the database spends
running them, and each round trip costs more than its SQL; so one hand-written query reads
the token's user together with the user's permissions. The answers are DRF's and Django's.
"""

from functools import cache

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


def _permissions_sql(*, select: str, user_id: str) -> str:
    """``SELECT <select>`` over the permissions (``p``, with content type ``ct``) a user
    holds, their own or through a group; ``user_id`` is the SQL for the user's id. Names
    come from the models, so a custom user model works too."""
    user_model = get_user_model()
    user_perms = user_model.user_permissions.through
    user_groups = user_model.groups.through
    group_perms = Group.permissions.through
    user = user_model._meta.model_name
    return (
        f"SELECT {select} FROM {_table(Permission)} p"
        f" JOIN {_table(ContentType)} ct ON ct.id = p.content_type_id"
        f" WHERE p.id IN ("
        f"SELECT {_column(user_perms, 'permission')} FROM {_table(user_perms)}"
        f" WHERE {_column(user_perms, user)} = {user_id}"
        f" UNION SELECT gp.{_column(group_perms, 'permission')} FROM {_table(group_perms)} gp"
        f" JOIN {_table(user_groups)} ug"
        f" ON ug.{_column(user_groups, 'group')} = gp.{_column(group_perms, 'group')}"
        f" WHERE ug.{_column(user_groups, user)} = {user_id})"
    )


@cache
def _user_permissions_sql() -> str:
    """``(app_label, codename)`` rows; the user's id is the (repeated) parameter."""
    return _permissions_sql(select="ct.app_label, p.codename", user_id="%s")


@cache
def token_user_sql() -> str:
    """The user holding a token key (the parameter), with the user's permissions as
    ``permission_names`` (``app_label.codename`` separated by spaces; NULL for none)."""
    user_model = get_user_model()
    user_pk = f"u.{_column(user_model, user_model._meta.pk.name)}"
    aggregate = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    names = _permissions_sql(
        select=f"{aggregate}(ct.app_label || '.' || p.codename, ' ')", user_id=user_pk
    )
    return (
        f"SELECT u.*, ({names}) AS permission_names"
        f" FROM {_table(Token)} t"
        f" JOIN {_table(user_model)} u ON {user_pk} = t.{_column(Token, 'user')}"
        f" WHERE t.{_column(Token, 'key')} = %s"
    )


class ModelBackend(backends.ModelBackend):
    """Django's ``ModelBackend``, reading a user's own permissions and their groups' in one
    query instead of two (or none, when ``TokenAuthentication`` read them already). Same
    rules for inactive users and superusers, same ``app_label.codename`` strings, cached on
    the user object for the rest of the request."""

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                rows = Permission.objects.values_list("content_type__app_label", "codename")
            else:
                with connection.cursor() as cursor:
                    cursor.execute(_user_permissions_sql(), [user_obj.pk, user_obj.pk])
                    rows = cursor.fetchall()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication (``Authorization: Token <key>``): one plain query reads
    the token's user and that user's permissions, which it leaves where ``ModelBackend``
    caches them, so the permission check needs no query of its own. Unknown keys and
    inactive users get DRF's 401s."""

    def authenticate_credentials(self, key: str):
        user = next(iter(get_user_model().objects.raw(token_user_sql(), [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if not user.is_superuser:  # a superuser holds every permission: read when asked
            user._perm_cache = set((user.permission_names or "").split())
        return user, Token(key=key, user=user)
