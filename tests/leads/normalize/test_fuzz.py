"""Property: on any JSON, the parsers return records or raise PayloadError, nothing else."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.normalize import (
    WEBHOOK_ACTIONS,
    LeadSnapshot,
    PayloadError,
    WebhookEvent,
    loads_lenient,
    parse_lead_details,
    parse_webhook,
    webhook_first_look,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values Kartra really sends, to reach past the first type check more often.
kartra_scalars = st.sampled_from(
    [
        "",
        "0",
        "1",
        " 1 ",
        "N/A",
        "0000-00-00 00:00:00",
        "2019-03-26 06:35:31",
        "2020-12-14 09:00",
        "2019-03-10 02:30:00",
        "300.00",
        "1,200.50",
        "Sale",
        "Partial_refund",
        "checkbox",
        "drop_down",
        "input_field",
        "active",
        "Cancelled",
        "Until cancelled",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | kartra_scalars
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
# Leaves of the shaped dicts: mostly scalars, sometimes a small flat container (cheap to
# generate; test_arbitrary_json covers deep nesting).
leaf = (
    scalars
    | st.lists(scalars, max_size=2)
    | st.dictionaries(st.text(max_size=5), scalars, max_size=2)
)


POSITIVE_IDS = st.integers(min_value=1, max_value=10**9) | st.sampled_from(["1", " 12 "])
EMPTY_IDS = st.sampled_from([0, "0", "", "N/A"])
IDS = st.sampled_from([True] * 11 + [False]).flatmap(
    lambda keep: POSITIVE_IDS if keep else EMPTY_IDS
)
DATES = st.sampled_from(
    ["", "N/A", "0000-00-00 00:00:00", "2019-03-10 02:30:00", "2019-11-03 01:30", "2021-07-01"]
) | st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S")
)
AMOUNTS = (
    st.sampled_from(["", "N/A", "1,200.50"])
    | st.decimals(min_value=-(10**9), max_value=10**9, places=3).map(str)
    | st.floats(min_value=-(10**9), max_value=10**9)
)
FLAGS = st.sampled_from([0, 1, "0", "1", True, False, ""])
ENUMS = {
    "transaction_type": ["sale", "Sale", "Partial_refund", "refund", "cancellation"],
    "field_type": ["input_field", "text_area", "drop_down", "radio_button", "checkbox"],
    "status": ["active", "unsubscribed", "completed"],
    "calendar_subscription_status": ["Active", "Cancelled", "pending"],
}


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, odds: int = 15) -> st.SearchStrategy:
    """``good`` about ``odds`` times out of ``odds + 1``, else ``bad``.

    (Drawing an integer and testing it would not do: hypothesis favours boundary values.)
    """
    return st.sampled_from([True] * odds + [False]).flatmap(lambda keep: good if keep else bad)


def plausible(key: str) -> st.SearchStrategy:
    """Values of the kind Kartra sends for ``key``, so examples get past the first check."""
    if key in ENUMS:
        return st.sampled_from(ENUMS[key])
    if "date" in key:
        return DATES
    if "amount" in key or key in ("survey_score", "transaction_tax", "transaction_discount"):
        return AMOUNTS
    if key in ("blacklisted", "lead_deleted", "active", "trial_payment"):
        return FLAGS
    if key.startswith("gdpr_lead_") or key in ("question_correct", "survey_type"):
        return st.sampled_from([0, 1, 2, "2", "", "N/A"])
    if key == "id" or key.endswith("_id") or key in ("points", "step", "score", "payments_left"):
        return IDS
    if key.endswith(("_name", "_identifier")):
        return st.text(min_size=1, max_size=12)
    return st.text(max_size=12)


def shaped(keys: list[str], required: tuple[str, ...] = ()) -> st.SearchStrategy[dict]:
    """A dict with ``required`` and some of ``keys``, each holding a plausible or
    (1 in 30) random value."""
    return st.fixed_dictionaries(
        {
            key: mostly(POSITIVE_IDS if key.endswith("_id") else plausible(key), leaf, 29)
            for key in required
        },
        optional={key: mostly(plausible(key), leaf, 29) for key in keys if key not in required},
    )


OPTION = shaped(["option_value"], required=("option_id",))
CHOICE_VALUES = mostly(st.lists(OPTION, max_size=2), IDS | OPTION)
TEXT_TYPES = st.sampled_from(["input_field", "text_area"])
CHOICE_TYPES = st.sampled_from(["drop_down", "radio_button", "checkbox"])
CUSTOM_FIELD = st.builds(
    lambda base, typed: {**base, "field_type": typed[0], "field_value": typed[1]},
    shaped(["field_id"], required=("field_identifier",)),
    st.tuples(TEXT_TYPES, st.text(max_size=12)) | st.tuples(CHOICE_TYPES, CHOICE_VALUES),
).flatmap(lambda entry: mostly(st.just(entry), shaped(["field_id", "field_type", "field_value"])))
LEAD_KEYS = [
    "first_name", "email", "phone", "date_joined", "score", "source", "source_id",
    "referring_id", "blacklisted", "lead_deleted", "lead_deleted_date", "google_plus",
    "gdpr_lead_status", "gdpr_lead_communications", "gdpr_lead_status_date",
    "lead_preferred_time_zone", "notes", "zip",
]  # fmt: skip
LEAD = st.builds(
    lambda base, lead_id, fields: {**base, "id": lead_id, "custom_fields": fields},
    shaped(LEAD_KEYS),
    mostly(
        st.integers(min_value=1, max_value=10**6) | st.just(" 7 "), st.sampled_from(["0", "", "x"])
    ),
    mostly(st.lists(CUSTOM_FIELD, max_size=2), leaf),
)
TRANSACTION = shaped(
    [
        "transaction_id", "id", "transaction_type", "transaction_full_amount",
        "transaction_amount", "transaction_date", "product_id", "product_name",
        "product_price_point", "price_point", "transaction_subscription_id", "trial_payment",
        "payments_left", "buyer_email", "original_id",
    ],
    required=("transaction_id", "transaction_type"),
)  # fmt: skip
CALENDAR = shaped(
    [
        "calendar_id", "calendar_name", "class_id", "class_name", "subscription_id",
        "calendar_subscription_status", "vendor_id", "vendor_timezone", "ics_calendar_link",
    ],
    required=("calendar_id",),
).flatmap(
    lambda base: st.builds(
        lambda hosts, events: {**base, "hosts": hosts, "events": events},
        mostly(st.lists(shaped(["host_first_name", "host_email_address"]), max_size=2), leaf),
        mostly(st.lists(shaped(["event_duration"], required=("event_date",)), max_size=2), leaf),
    )
)  # fmt: skip
QUESTION = shaped(["question_title", "question_correct"], required=("question_id",)).flatmap(
    lambda base: st.builds(
        lambda a: {**base, "answers": a}, mostly(st.lists(OPTION, max_size=2), leaf)
    )
)
SURVEY = shaped(
    ["survey_name", "survey_type", "survey_score", "survey_completion_time"],
    required=("survey_id",),
).flatmap(
    lambda base: st.builds(lambda q: {**base, "questions": q}, st.lists(QUESTION, max_size=2))
)
DETAIL_OBJECTS = {
    "list": shaped(["list_name"], required=("list_id",)),
    "tag": shaped(["tag_name", "form_id", "form_name"], required=("tag_id",)),
    "form": shaped(["form_name"], required=("form_id",)),
    "video": shaped(["video_name"], required=("video_id",)),
    "tracking_link": shaped(["tracking_link_name"], required=("tracking_link_id",)),
    "page_split_test_link": shaped(
        ["page_split_test_link_name"], required=("page_split_test_link_id",)
    ),
    "sequence": shaped(["sequence_name", "tree_name"], required=("sequence_id",)),
    "membership": shaped(
        ["membership_name", "level_id", "level_name"], required=("membership_id",)
    ),
    "product": shaped(["product_name", "official_product_name"], required=("product_id",)),
    "kartra_page": shaped(["kartra_page_name"], required=("kartra_page_id",)),
    "transaction_details": TRANSACTION,
    "calendar": CALENDAR,
    "survey": SURVEY,
    "points": mostly(IDS, leaf),
}
#: The action_details key each documented action needs.
DETAIL_KEY = {
    **dict.fromkeys(["list_subscription", "list_unsubscription"], "list"),
    **dict.fromkeys(["assign_tag", "unassign_tag", "filled_form"], "tag"),
    **dict.fromkeys(
        ["sequence_subscription", "sequence_unsubscription", "sequence_completion"], "sequence"
    ),
    **dict.fromkeys(
        ["buy_product", "refund_product", "partial_refund_product", "cancel_subscription"],
        "transaction_details",
    ),
    **dict.fromkeys(["membership_granted", "membership_revoked"], "membership"),
    **dict.fromkeys(["affiliate_signup", "jv_signup"], "product"),
    **dict.fromkeys(["calendar_subscribe", "calendar_complete", "calendar_cancel"], "calendar"),
    **dict.fromkeys(["video_play", "video_complete"], "video"),
    "click_tracking_link": "tracking_link",
    "click_page_split_test_link": "page_split_test_link",
    "kartra_page_visit": "kartra_page",
    "reaches_score": "points",
    "survey_complete": "survey",
}


def documented_body(action: str) -> st.SearchStrategy[dict]:
    """A body for ``action`` whose action_details has the key the action needs."""
    key = DETAIL_KEY.get(action)
    required = {key: DETAIL_OBJECTS[key]} if key in DETAIL_OBJECTS else {}
    details = st.fixed_dictionaries(required, optional={"unknown_key": leaf})
    return st.fixed_dictionaries(
        {"lead": LEAD, "action": st.just(action), "action_details": mostly(details, leaf)}
    )


# One detail object under its own key, for bodies whose action is random.
ONE_DETAIL = st.sampled_from(sorted(DETAIL_OBJECTS)).flatmap(
    lambda key: st.fixed_dictionaries({key: DETAIL_OBJECTS[key]})
)
RANDOM_BODY = st.fixed_dictionaries(
    {"lead": mostly(LEAD, leaf), "action": st.text(max_size=12) | leaf},
    optional={"action_details": ONE_DETAIL | leaf},
)
WEBHOOK = mostly(st.sampled_from(sorted(WEBHOOK_ACTIONS)).flatmap(documented_body), RANDOM_BODY, 4)
LEAD_DETAILS = st.builds(
    lambda lead, relations: {**lead, **relations},
    LEAD,
    st.fixed_dictionaries(
        {},
        optional={
            "tags": mostly(st.lists(shaped(["tag_name"]), max_size=2), leaf),
            "lists": mostly(st.lists(shaped(["list_name", "active"]), max_size=2), leaf),
            "sequences": st.lists(
                shaped(["tree_name", "sequence_name", "step", "status"]), max_size=2
            ),
            "memberships": st.lists(shaped(["name", "level_name", "active"]), max_size=2),
            "transactions": mostly(st.lists(TRANSACTION, max_size=2), leaf),
            "calendars": mostly(st.lists(CALENDAR, max_size=2), leaf),
            "surveys": mostly(st.lists(SURVEY, max_size=2), leaf),
        },
    ),
)


def webhook_outcome(data):
    """parse_webhook returns an event or raises PayloadError; the webhook URL's first look
    agrees with it: it accepts whatever parses, with the same action and lead id, and what
    it refuses does not parse."""
    try:
        looked = webhook_first_look(data)
    except PayloadError:
        with pytest.raises(PayloadError):
            parse_webhook(data)
        return
    with contextlib.suppress(PayloadError):
        event = parse_webhook(data)
        assert isinstance(event, WebhookEvent)
        assert looked == (event.action, event.lead.kartra_id)


def snapshot_outcome(data):
    with contextlib.suppress(PayloadError):
        assert isinstance(parse_lead_details(data), LeadSnapshot)


@FUZZ
@given(json_values)
def test_arbitrary_json(value):
    webhook_outcome(value)
    snapshot_outcome(value)


@FUZZ
@given(WEBHOOK)
def test_webhook_shaped(body):
    webhook_outcome(body)
    try:
        text = json.dumps(body)
    except ValueError:  # an int too long for str(); not a body Kartra can send
        return
    webhook_outcome(text.encode())


@FUZZ
@given(LEAD_DETAILS)
def test_lead_details_shaped(data):
    snapshot_outcome(data)
    snapshot_outcome({"status": "Success", "lead_details": data})


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_bytes(data):
    with contextlib.suppress(PayloadError):
        loads_lenient(data)
    webhook_outcome(data)


# Strings with what a JSON column cannot hold: NUL and lone surrogates, beside plain text.
awkward_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x00", "\ud800", "\udfff", "é", "\\", "u", "0", "a"]),
        st.characters(codec="utf-8"),
    ),
    max_size=8,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | awkward_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(awkward_text, inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(json_values)
def test_json_storable_returns_what_a_walk_of_every_string_returns(value):
    """The shortcut (one json.dumps) never skips a value the walk would change, and what
    comes out is storable: valid UTF-8 with no NUL."""
    from leads.normalize.values import _storable, json_storable

    stored = json_storable(value)

    assert stored == _storable(value)
    text = json.dumps(stored, ensure_ascii=False)
    text.encode("utf-8")
    assert "\x00" not in text and "\\u0000" not in text.replace("\\\\", "")


@FUZZ
@given(json_values, st.booleans())
def test_a_text_the_scan_finds_storable_decodes_to_values_json_storable_keeps(value, ascii_only):
    """The scan of a body's text (``json_text_storable``) that lets a parser keep its raw
    blocks as decoded never passes a text whose values ``json_storable`` would change."""
    from leads.normalize.values import _storable, json_text_storable

    text = json.dumps(value, ensure_ascii=ascii_only)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate unescaped: no UTF-8 body carries it
        return
    decoded = json.loads(raw)

    if json_text_storable(raw):
        assert _storable(decoded) == decoded
        assert json_text_storable(text)
