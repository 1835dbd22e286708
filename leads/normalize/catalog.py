"""The account's catalogue calls (``kartra-facts.md``; Zapier actions in ``004``).

``retrieve_account_tags``/``lists``/``sequences`` answer names only; ``retrieve_custom_fields``
answers ``custom_fields``; ``retrieve_account_pages`` has no public shape, so several are
accepted. Answers may also come wrapped in an ``actions`` list, as ``create_lead``'s does
in ``002`` (``{"actions": [{"<cmd>": {...}}]}``).
"""

from __future__ import annotations

from typing import Any

from .customfields import parse_custom_field
from .details import ASSET_NAME_MAX, CATALOG_NAME_MAX
from .errors import PayloadError
from .records import CatalogRef, CustomFieldRecord
from .values import as_list, child, first_key, is_index, to_ref_id, to_text


def _find(answer: Any, keys: tuple[str, ...]) -> tuple[str, Any]:
    """The first of ``keys`` in ``answer`` or in one of its ``actions`` results."""
    if isinstance(answer, dict):
        key, value = first_key(answer, *keys)
        if key is not None:
            return key, value
        actions = answer.get("actions")
        for index, result in enumerate(actions if isinstance(actions, list) else []):
            for command, body in result.items() if isinstance(result, dict) else ():
                if isinstance(body, dict):
                    key, value = first_key(body, *keys)
                    if key is not None:
                        return f"actions[{index}].{command}.{key}", value
    raise PayloadError(keys[0], answer, "missing from the answer")


def parse_account_names(answer: dict | list, key: str) -> list[str]:
    """Names from ``retrieve_account_tags`` (``key="account_tags"``), ``..._lists``
    (``"account_lists"``) or ``..._sequences`` (``"account_sequences"``).

    Elements may be strings or objects with ``<kind>_name``/``name``; empty names are
    dropped and duplicates kept once, in order.
    """
    if isinstance(answer, list):
        path, items = key, answer
    else:
        path, value = _find(answer, (key,))
        items = as_list(value, path)
    kind = key.removeprefix("account_").removesuffix("s")
    name_keys = (f"{kind}_name", "name", "tree_name")
    names: dict[str, None] = {}
    for index, item in enumerate(items):
        item_path = child(path, index)
        if isinstance(item, dict):
            name_key, value = first_key(item, *name_keys)
            name = to_text(value, child(item_path, name_key or name_keys[0]), CATALOG_NAME_MAX)
        else:
            name = to_text(item, item_path, CATALOG_NAME_MAX)
        if name:
            names[name] = None
    return list(names)


def parse_custom_fields(answer: dict | list) -> list[CustomFieldRecord]:
    """``retrieve_custom_fields``' answer (key ``custom_fields``) or that list itself."""
    if isinstance(answer, list):
        path, items = "custom_fields", answer
    else:
        path, value = _find(answer, ("custom_fields",))
        items = as_list(value, path)
    return [parse_custom_field(item, child(path, index)) for index, item in enumerate(items)]


def _page(item: Any, path: str) -> CatalogRef | None:
    if isinstance(item, dict):
        id_key, id_value = first_key(item, "page_id", "id")
        name_key, name_value = first_key(item, "page_name", "name", "title")
        if id_key is None and name_key is None:
            raise PayloadError(path, item, "no page_id/id or page_name/name/title")
        kartra_id = to_ref_id(id_value, child(path, id_key or "page_id"))
        name = to_text(name_value, child(path, name_key or "page_name"), ASSET_NAME_MAX)
    else:
        kartra_id, name = None, to_text(item, path, ASSET_NAME_MAX)
    if kartra_id is None and not name:
        return None
    return CatalogRef(kartra_id=kartra_id, name=name)


def parse_pages(answer: dict | list) -> list[CatalogRef]:
    """``retrieve_account_pages``: a list of names, a list of objects (``page_id``/``id`` and
    ``page_name``/``name``/``title``) or an object mapping page ids to names, under
    ``account_pages`` or ``pages`` (or the list itself). Empty entries are dropped."""
    if isinstance(answer, list):
        path, value = "account_pages", answer
    else:
        path, value = _find(answer, ("account_pages", "pages"))
    if (
        isinstance(value, dict)
        and value
        and all(is_index(key) and not isinstance(name, dict | list) for key, name in value.items())
    ):
        # {"12": "Home"}: PHP's json_encode of an id-keyed array.
        items: list[Any] = [{"page_id": key, "page_name": name} for key, name in value.items()]
    else:
        items = as_list(value, path)
    pages = (_page(item, child(path, index)) for index, item in enumerate(items))
    return [page for page in pages if page is not None]
