"""The account's catalogues: what leads can be tagged with, subscribed to, buy or visit."""

from django.db import models

from .base import CatalogItem, label_or_value


def one_unnamed_per_name(label: str, *parents: str) -> models.UniqueConstraint:
    """At most one row without a Kartra id per name (within its parent), so that a name
    seen in ``get_lead`` matches one row and concurrent writers cannot duplicate it."""
    return models.UniqueConstraint(
        fields=[*parents, "name"],
        condition=models.Q(kartra_id__isnull=True),
        name=f"{label}_unnamed_name",
    )


def one_per_kartra_id(label: str, parent: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=[parent, "kartra_id"], name=f"{label}_kartra_id")


class Tag(CatalogItem):
    class Meta(CatalogItem.Meta):
        constraints = [one_unnamed_per_name("tag")]


class List(CatalogItem):
    """A Kartra mailing list."""

    class Meta(CatalogItem.Meta):
        constraints = [one_unnamed_per_name("list")]


class Sequence(CatalogItem):
    """An email sequence (``get_lead`` calls it a ``tree`` in one variant)."""

    class Meta(CatalogItem.Meta):
        constraints = [one_unnamed_per_name("sequence")]


class Membership(CatalogItem):
    """A Kartra or external membership site."""

    class Meta(CatalogItem.Meta):
        constraints = [one_unnamed_per_name("membership")]


class MembershipLevel(models.Model):
    """A level of a membership (Kartra memberships only; external ones have none)."""

    membership = models.ForeignKey(
        Membership,
        on_delete=models.CASCADE,
        related_name="levels",
        db_index=False,  # membershiplevel_kartra_id starts with it
    )
    kartra_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255)

    class Meta:
        ordering = ("membership__name", "name")
        constraints = [
            one_per_kartra_id("membershiplevel", "membership"),
            one_unnamed_per_name("membershiplevel", "membership"),
        ]

    def __str__(self) -> str:
        return f"{self.membership} / {self.name}"


class Product(CatalogItem):
    """A product; ``name`` is Kartra's internal name, ``official_name`` the public one."""

    official_name = models.CharField(max_length=255, blank=True)

    class Meta(CatalogItem.Meta):
        constraints = [one_unnamed_per_name("product")]


class PricePoint(models.Model):
    """A price point number of a product, as transactions name it."""

    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="price_points",
        db_index=False,  # pricepoint_unique starts with it
    )
    number = models.CharField(max_length=64)

    class Meta:
        ordering = ("product__name", "number")
        constraints = [
            models.UniqueConstraint(fields=["product", "number"], name="pricepoint_unique")
        ]

    def __str__(self) -> str:
        return f"{self.product} #{self.number}"


class Calendar(CatalogItem):
    vendor_id = models.BigIntegerField(null=True, blank=True)
    vendor_timezone = models.CharField(max_length=64, blank=True)

    class Meta(CatalogItem.Meta):
        constraints = [one_unnamed_per_name("calendar")]


class CalendarClass(models.Model):
    calendar = models.ForeignKey(
        Calendar,
        on_delete=models.CASCADE,
        related_name="classes",
        db_index=False,  # calendarclass_kartra_id starts with it
    )
    kartra_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255)

    class Meta:
        verbose_name_plural = "calendar classes"
        ordering = ("calendar__name", "name")
        constraints = [
            one_per_kartra_id("calendarclass", "calendar"),
            one_unnamed_per_name("calendarclass", "calendar"),
        ]

    def __str__(self) -> str:
        return f"{self.calendar} / {self.name}"


class SurveyType(models.TextChoices):
    """The documented types (002: 1 survey, 2 quiz); ``survey_type`` keeps any other as sent."""

    SURVEY = "survey", "survey"
    QUIZ = "quiz", "quiz"


class Survey(CatalogItem):
    """A survey or a quiz."""

    survey_type = models.CharField(max_length=64, null=True, blank=True)

    class Meta(CatalogItem.Meta):
        constraints = [one_unnamed_per_name("survey")]

    def get_survey_type_display(self):
        return label_or_value(SurveyType, self.survey_type)


class SurveyQuestion(models.Model):
    survey = models.ForeignKey(
        Survey,
        on_delete=models.CASCADE,
        related_name="questions",
        db_index=False,  # surveyquestion_kartra_id starts with it
    )
    kartra_id = models.BigIntegerField()
    title = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ("survey__name", "kartra_id")
        constraints = [one_per_kartra_id("surveyquestion", "survey")]

    def __str__(self) -> str:
        return self.title or f"question #{self.kartra_id}"


class SurveyOption(models.Model):
    question = models.ForeignKey(
        SurveyQuestion,
        on_delete=models.CASCADE,
        related_name="options",
        db_index=False,  # surveyoption_kartra_id starts with it
    )
    kartra_id = models.BigIntegerField()
    value = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ("question", "kartra_id")
        constraints = [one_per_kartra_id("surveyoption", "question")]

    def __str__(self) -> str:
        return self.value


class AssetKind(models.TextChoices):
    PAGE = "page", "page"
    FORM = "form", "form"
    VIDEO = "video", "video"
    TRACKING_LINK = "tracking_link", "tracking link"
    SPLIT_TEST_LINK = "split_test_link", "split-test link"


class Asset(models.Model):
    """Something activity points at: a page, form, video, tracking or split-test link."""

    kind = models.CharField(max_length=32, choices=AssetKind.choices)
    kartra_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=512, blank=True)
    mirror_first_seen = models.DateTimeField(auto_now_add=True)
    mirror_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("kind", "name")
        constraints = [
            one_per_kartra_id("asset", "kind"),
            one_unnamed_per_name("asset", "kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name or self.kartra_id}"


class FieldType(models.TextChoices):
    """The documented types; ``CustomField.field_type`` keeps any other as sent."""

    INPUT_FIELD = "input_field", "input field"
    TEXT_AREA = "text_area", "text area"
    DROP_DOWN = "drop_down", "drop-down"
    RADIO_BUTTON = "radio_button", "radio button"
    CHECKBOX = "checkbox", "checkbox"


TEXT_FIELD_TYPES = frozenset({FieldType.INPUT_FIELD, FieldType.TEXT_AREA})
CHOICE_FIELD_TYPES = frozenset({FieldType.DROP_DOWN, FieldType.RADIO_BUTTON, FieldType.CHECKBOX})


class CustomField(models.Model):
    """A custom field of the account, identified by Kartra's id and its identifier.

    The id is the key: a field renamed in Kartra keeps its row and values, and its
    identifier follows the newest observation. A row whose identifier another field has
    taken since is left without one (``""``) until it is observed again.
    """

    kartra_id = models.BigIntegerField(null=True, blank=True, unique=True)
    identifier = models.CharField(max_length=255, blank=True)
    field_type = models.CharField(max_length=64)
    mirror_identifier_observed_at = models.DateTimeField(
        "identifier observed at", null=True, blank=True
    )
    mirror_first_seen = models.DateTimeField(auto_now_add=True)
    mirror_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("identifier",)
        constraints = [
            models.UniqueConstraint(
                fields=["identifier"],
                condition=~models.Q(identifier=""),
                name="customfield_identifier_unique",
            )
        ]

    def __str__(self) -> str:
        return self.identifier or f"#{self.kartra_id}"

    def get_field_type_display(self):
        return label_or_value(FieldType, self.field_type)

    @property
    def is_text(self) -> bool:
        """Whether values are shown as text: for the two text types and for a type Kartra
        added since; the three choice types show their chosen options."""
        return self.field_type not in CHOICE_FIELD_TYPES


class CustomFieldOption(models.Model):
    """An option of a choice field; option ids are unique within their field only."""

    field = models.ForeignKey(
        CustomField,
        on_delete=models.CASCADE,
        related_name="options",
        db_index=False,  # customfieldoption_kartra_id starts with it
    )
    kartra_id = models.BigIntegerField()
    value = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ("field", "kartra_id")
        constraints = [one_per_kartra_id("customfieldoption", "field")]

    def __str__(self) -> str:
        return self.value
