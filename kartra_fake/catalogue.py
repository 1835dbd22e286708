"""The demo account's catalogue: tags, lists, sequences, memberships, products, calendars,
surveys, custom fields, pages, forms, videos and links, with ids and names in the style of
Kartra's docs (the 002 example's custom fields, surveys and calendar included)."""

from __future__ import annotations

from decimal import Decimal

from .data import FakeAccountData
from .model import (
    FakeCalendar,
    FakeCustomField,
    FakeHost,
    FakeMembership,
    FakeMembershipLevel,
    FakeNamed,
    FakePricePoint,
    FakeProduct,
    FakeSequence,
    FakeSurvey,
    FakeSurveyQuestion,
)

D = Decimal


def demo_catalogue(account: FakeAccountData) -> None:
    """Fill ``account``'s catalogue with the demo's items (the same every time)."""
    account.tags = _named(
        101,
        "Customer|Lead magnet|Webinar attendee|VIP|Cold|Hot lead|"
        "Affiliate|Newsletter|Black Friday 2023|Podcast listener|"
        "Coaching prospect|Refunded",
    )
    account.lists = _named(
        201, "Newsletter|Webinar registrants|Customers|Product launch|Podcast|Beta testers"
    )
    account.sequences = {
        sid: FakeSequence(sid, name, steps)
        for sid, name, steps in [
            (301, "Welcome series", 5),
            (302, "Webinar reminders", 3),
            (303, "Onboarding", 7),
            (304, "Re-engagement", 4),
            (305, "Launch sequence", 6),
        ]
    }
    account.memberships = _memberships()
    account.products = _products()
    account.calendars = _calendars()
    account.surveys = _surveys()
    account.custom_fields = _custom_fields()
    account.pages = _named(
        801, "Home|Webinar registration|Thank you|Sales page|Checkout|Blog|Member login|Contact"
    )
    account.forms = _named(901, "Newsletter opt-in|Webinar sign-up|Quiz entry|Contact form")
    account.videos = _named(951, "Welcome video|Webinar replay|Module 1|Testimonials|Launch teaser")
    account.tracking_links = _named(981, "Facebook ad|Newsletter footer|Podcast notes|YouTube")
    account.split_test_links = _named(991, "Sales page test|Opt-in A/B|Pricing test")


def _named(start: int, names: str) -> dict[int, FakeNamed]:
    return {start + i: FakeNamed(start + i, name) for i, name in enumerate(names.split("|"))}


def _memberships() -> dict[int, FakeMembership]:
    return {
        401: FakeMembership(
            401,
            "Academy",
            [
                FakeMembershipLevel(4101, "Basic"),
                FakeMembershipLevel(4102, "Pro"),
                FakeMembershipLevel(4103, "VIP"),
            ],
        ),
        402: FakeMembership(
            402,
            "Coaching Club",
            [FakeMembershipLevel(4201, "Member"), FakeMembershipLevel(4202, "Inner circle")],
        ),
    }


def _products() -> dict[int, FakeProduct]:
    return {
        501: FakeProduct(501, "ebook-2024", "The Launch Ebook", [FakePricePoint(1, D("27.00"))]),
        502: FakeProduct(
            502,
            "course-main",
            "Launch Course",
            [
                FakePricePoint(1, D("497.00")),
                FakePricePoint(2, D("197.00"), recurring=True, payments=3),
            ],
        ),
        503: FakeProduct(
            503,
            "membership-monthly",
            "Academy Monthly",
            [FakePricePoint(1, D("47.00"), recurring=True, payments=9999, trial_days=14)],
        ),
        504: FakeProduct(504, "coaching-1on1", "1:1 Coaching", [FakePricePoint(1, D("1997.00"))]),
        505: FakeProduct(505, "workshop-ticket", "Live Workshop", [FakePricePoint(1, D("97.00"))]),
        506: FakeProduct(
            506,
            "bundle",
            "Everything Bundle",
            [FakePricePoint(1, D("297.00")), FakePricePoint(2, D("597.00"))],
        ),
    }


def _calendars() -> dict[int, FakeCalendar]:
    hosts = [
        FakeHost("host", "host", "hostemail@gmail.com"),
        FakeHost("co-host", "co-host", "cohostemail@gmail.com"),
    ]
    return {
        601: FakeCalendar(
            601,
            "Discovery calls",
            321,
            "America/New_York",
            hosts[:1],
            [FakeNamed(6101, "30-minute call"), FakeNamed(6102, "Strategy session")],
        ),
        602: FakeCalendar(
            602,
            "Group coaching",
            321,
            "America/Detroit",
            hosts,
            [FakeNamed(6201, "Monday group"), FakeNamed(6202, "Thursday Q&A")],
        ),
    }


def _surveys() -> dict[int, FakeSurvey]:
    return {
        701: FakeSurvey(
            701,
            "My Survey",
            1,
            [
                FakeSurveyQuestion(
                    146,
                    "Age",
                    [
                        FakeNamed(105, "Under 18"),
                        FakeNamed(106, "Between 18 and 30"),
                        FakeNamed(107, "Over 30"),
                    ],
                ),
                FakeSurveyQuestion(
                    147,
                    "What pets do you like",
                    [FakeNamed(109, "Cats"), FakeNamed(110, "Dogs"), FakeNamed(111, "Fish")],
                ),
            ],
        ),
        702: FakeSurvey(
            702,
            "My Quiz",
            2,
            [
                FakeSurveyQuestion(
                    150, "5+5", [FakeNamed(125, "10"), FakeNamed(126, "55")], (125,)
                ),
                FakeSurveyQuestion(
                    151,
                    "Which are mammals",
                    [FakeNamed(131, "Cats"), FakeNamed(132, "Dogs"), FakeNamed(133, "Trout")],
                    (131, 132),
                ),
            ],
        ),
    }


def _custom_fields() -> dict[int, FakeCustomField]:
    # Option ids restart per field, as in the 002 example (color 1, 2; gender 1).
    return {
        323: FakeCustomField(
            323,
            "color",
            "checkbox",
            [FakeNamed(1, "red"), FakeNamed(2, "blue"), FakeNamed(3, "green")],
        ),
        324: FakeCustomField(
            324,
            "gender",
            "drop_down",
            [FakeNamed(1, "male"), FakeNamed(2, "female"), FakeNamed(3, "other")],
        ),
        325: FakeCustomField(325, "favorite_dish", "input_field"),
        326: FakeCustomField(326, "bio", "text_area"),
        327: FakeCustomField(
            327, "plan", "radio_button", [FakeNamed(1, "basic"), FakeNamed(2, "pro")]
        ),
    }
