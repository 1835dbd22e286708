"""factory-boy factories for the leads app's models (and users).

Rows look like what the mirror stores after real Kartra traffic: Kartra ids from sequences,
observations stamped now by a webhook, catalogue rows named and numbered. Relations build
their parents (``LeadTagFactory()`` makes a lead and a tag) unless given.
"""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from leads.models import (
    Asset,
    AssetKind,
    Calendar,
    CalendarClass,
    CalendarEvent,
    CalendarStatus,
    CalendarSubscription,
    Change,
    ChangeKind,
    CustomField,
    CustomFieldOption,
    CustomFieldValue,
    FieldType,
    GdprStatus,
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    MirrorStatus,
    PricePoint,
    Product,
    ProductSignup,
    QuestionCorrectness,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    Source,
    Subscription,
    Survey,
    SurveyAnswer,
    SurveyOption,
    SurveyQuestion,
    SurveyResult,
    SurveyType,
    Tag,
    Transaction,
    TransactionType,
)


class UserFactory(DjangoModelFactory):
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(None)  # unusable: hashing a real one costs ~1 s

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)


class ObservedFactory(DjangoModelFactory):
    """Fields of every ``Observed`` row: seen now, by a webhook."""

    observed_at = factory.LazyFunction(timezone.now)
    observed_source = Source.WEBHOOK
    observed_ref = None

    class Meta:
        abstract = True


# --- catalogues ---------------------------------------------------------------------------


class CatalogFactory(DjangoModelFactory):
    kartra_id = factory.Sequence(lambda n: 1000 + n)

    class Meta:
        abstract = True


class TagFactory(CatalogFactory):
    name = factory.Sequence(lambda n: f"Tag {n}")

    class Meta:
        model = Tag


class ListFactory(CatalogFactory):
    name = factory.Sequence(lambda n: f"Newsletter {n}")

    class Meta:
        model = List


class SequenceFactory(CatalogFactory):
    name = factory.Sequence(lambda n: f"Onboarding {n}")

    class Meta:
        model = Sequence


class MembershipFactory(CatalogFactory):
    name = factory.Sequence(lambda n: f"Academy {n}")

    class Meta:
        model = Membership


class MembershipLevelFactory(DjangoModelFactory):
    membership = factory.SubFactory(MembershipFactory)
    kartra_id = factory.Sequence(lambda n: 1 + n)
    name = factory.Iterator(["Bronze", "Silver", "Gold", "Platinum"])

    class Meta:
        model = MembershipLevel


class ProductFactory(CatalogFactory):
    name = factory.Sequence(lambda n: f"product-{n}")
    official_name = factory.LazyAttribute(lambda p: p.name.replace("-", " ").title())

    class Meta:
        model = Product


class PricePointFactory(DjangoModelFactory):
    product = factory.SubFactory(ProductFactory)
    number = factory.Sequence(lambda n: str(1 + n))

    class Meta:
        model = PricePoint


class CalendarFactory(CatalogFactory):
    name = factory.Sequence(lambda n: f"Coaching calendar {n}")
    vendor_id = factory.Sequence(lambda n: 500 + n)
    vendor_timezone = "America/New_York"

    class Meta:
        model = Calendar


class CalendarClassFactory(DjangoModelFactory):
    calendar = factory.SubFactory(CalendarFactory)
    kartra_id = factory.Sequence(lambda n: 1 + n)
    name = factory.Sequence(lambda n: f"Strategy call {n}")

    class Meta:
        model = CalendarClass


class SurveyFactory(CatalogFactory):
    name = factory.Sequence(lambda n: f"Survey {n}")
    survey_type = SurveyType.SURVEY

    class Meta:
        model = Survey


class SurveyQuestionFactory(DjangoModelFactory):
    survey = factory.SubFactory(SurveyFactory)
    kartra_id = factory.Sequence(lambda n: 1 + n)
    title = factory.Sequence(lambda n: f"Question {n}?")

    class Meta:
        model = SurveyQuestion


class SurveyOptionFactory(DjangoModelFactory):
    question = factory.SubFactory(SurveyQuestionFactory)
    kartra_id = factory.Sequence(lambda n: 1 + n)
    value = factory.Sequence(lambda n: f"Answer {n}")

    class Meta:
        model = SurveyOption


class AssetFactory(DjangoModelFactory):
    kind = AssetKind.PAGE
    kartra_id = factory.Sequence(lambda n: 1 + n)
    name = factory.Sequence(lambda n: f"Landing page {n}")

    class Meta:
        model = Asset


class CustomFieldFactory(DjangoModelFactory):
    kartra_id = factory.Sequence(lambda n: 1 + n)
    identifier = factory.Sequence(lambda n: f"field_{n}")
    field_type = FieldType.INPUT_FIELD

    class Meta:
        model = CustomField


class CustomFieldOptionFactory(DjangoModelFactory):
    field = factory.SubFactory(CustomFieldFactory, field_type=FieldType.DROP_DOWN)
    kartra_id = factory.Sequence(lambda n: 1 + n)
    value = factory.Sequence(lambda n: f"Option {n}")

    class Meta:
        model = CustomFieldOption


# --- leads --------------------------------------------------------------------------------


class LeadFactory(DjangoModelFactory):
    kartra_id = factory.Sequence(lambda n: 100_000 + n)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    phone_country_code = "+1"
    phone = factory.Sequence(lambda n: f"555{n:07d}")
    company = factory.Faker("company")
    address = factory.Faker("street_address")
    city = factory.Faker("city")
    zip = factory.Faker("postcode")
    state = factory.Faker("state_abbr")
    country = "US"
    date_joined = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    ip = factory.Faker("ipv4_public")
    source = "web_form"
    score = 0
    gdpr_lead_status = GdprStatus.NOT_SUBJECT
    mirror_status = MirrorStatus.ACTIVE
    mirror_raw_source = Source.WEBHOOK
    mirror_profile_observed_at = factory.LazyFunction(timezone.now)
    mirror_webhook_at = factory.LazyFunction(timezone.now)

    class Meta:
        model = Lead


class LeadTagFactory(ObservedFactory):
    lead = factory.SubFactory(LeadFactory)
    tag = factory.SubFactory(TagFactory)
    active = True

    class Meta:
        model = LeadTag


class ListSubscriptionFactory(ObservedFactory):
    lead = factory.SubFactory(LeadFactory)
    list = factory.SubFactory(ListFactory)
    active = True

    class Meta:
        model = ListSubscription


class SequenceSubscriptionFactory(ObservedFactory):
    lead = factory.SubFactory(LeadFactory)
    sequence = factory.SubFactory(SequenceFactory)
    step = 1
    status = SequenceStatus.ACTIVE

    class Meta:
        model = SequenceSubscription


class MembershipAccessFactory(ObservedFactory):
    lead = factory.SubFactory(LeadFactory)
    level = factory.SubFactory(MembershipLevelFactory)
    membership = factory.LazyAttribute(lambda access: access.level.membership)
    active = True

    class Meta:
        model = MembershipAccess


class CustomFieldValueFactory(ObservedFactory):
    lead = factory.SubFactory(LeadFactory)
    field = factory.SubFactory(CustomFieldFactory)
    text = factory.Faker("sentence", nb_words=3)

    class Meta:
        model = CustomFieldValue
        skip_postgeneration_save = True

    @factory.post_generation
    def options(self, create, extracted, **kwargs):
        """``CustomFieldValueFactory(options=[option, ...])`` chooses those options."""
        if create and extracted:
            self.options.set(extracted)


class CalendarSubscriptionFactory(ObservedFactory):
    kartra_id = factory.Sequence(lambda n: 7000 + n)
    lead = factory.SubFactory(LeadFactory)
    calendar_class = factory.SubFactory(CalendarClassFactory)
    calendar = factory.LazyAttribute(lambda sub: sub.calendar_class.calendar)
    status = CalendarStatus.ACTIVE
    vendor_timezone = "America/New_York"
    hosts = factory.LazyFunction(
        lambda: [
            {
                "host_first_name": "Ada",
                "host_last_name": "Host",
                "host_email_address": "ada@example.com",
            }
        ]
    )
    ics_calendar_link = "https://app.kartra.com/calendar/ics/abc"

    class Meta:
        model = CalendarSubscription


class CalendarEventFactory(DjangoModelFactory):
    subscription = factory.SubFactory(CalendarSubscriptionFactory)
    starts_at = factory.Sequence(lambda n: timezone.now() + timedelta(days=1 + n))
    duration_minutes = 30

    class Meta:
        model = CalendarEvent


class SurveyResultFactory(ObservedFactory):
    lead = factory.SubFactory(LeadFactory)
    survey = factory.SubFactory(SurveyFactory)
    score = Decimal("80.00")
    completion_time = 95
    completed_at = factory.LazyFunction(timezone.now)

    class Meta:
        model = SurveyResult


class SurveyAnswerFactory(DjangoModelFactory):
    result = factory.SubFactory(SurveyResultFactory)
    question = factory.SubFactory(
        SurveyQuestionFactory, survey=factory.SelfAttribute("..result.survey")
    )
    correct = QuestionCorrectness.NOT_SCORED

    class Meta:
        model = SurveyAnswer
        skip_postgeneration_save = True

    @factory.post_generation
    def options(self, create, extracted, **kwargs):
        """``SurveyAnswerFactory(options=[option, ...])`` chooses those options."""
        if create and extracted:
            self.options.set(extracted)


# --- commerce -----------------------------------------------------------------------------


class SubscriptionFactory(ObservedFactory):
    kartra_id = factory.Sequence(lambda n: 90_000 + n)
    lead = factory.SubFactory(LeadFactory)
    product = factory.SubFactory(ProductFactory)
    cancelled = False

    class Meta:
        model = Subscription


class ProductSignupFactory(ObservedFactory):
    lead = factory.SubFactory(LeadFactory)
    product = factory.SubFactory(ProductFactory)
    kind = "affiliate"
    signed_up_at = factory.LazyFunction(timezone.now)

    class Meta:
        model = ProductSignup


class TransactionFactory(ObservedFactory):
    kartra_id = factory.Sequence(lambda n: 500_000 + n)
    lead = factory.SubFactory(LeadFactory)
    product = factory.SubFactory(ProductFactory)
    price_point = "1"
    transaction_type = TransactionType.SALE
    transaction_date = factory.LazyFunction(timezone.now)
    amount = Decimal("49.00")
    full_amount = factory.SelfAttribute("amount")
    base_amount = factory.SelfAttribute("amount")
    discount = Decimal("0.00")
    tax = Decimal("0.00")
    shipping = Decimal("0.00")
    buyer_first_name = factory.SelfAttribute("lead.first_name")
    buyer_last_name = factory.SelfAttribute("lead.last_name")
    buyer_email = factory.SelfAttribute("lead.email")
    payment_processor_type = "stripe"

    class Meta:
        model = Transaction


# --- history ------------------------------------------------------------------------------


class ChangeFactory(DjangoModelFactory):
    lead = factory.SubFactory(LeadFactory)
    kind = ChangeKind.TAG
    name = factory.Sequence(lambda n: f"tag {n}")
    old = "unassigned"
    new = "assigned"
    observed_at = factory.LazyFunction(timezone.now)
    source = Source.WEBHOOK
    recorded_at = factory.LazyFunction(timezone.now)

    class Meta:
        model = Change
