"""factory-boy factories for every model, the one place tests build data."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from consents import models as m
from consents.keys import create_api_key
from cookies import models as c


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Organization

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.LazyAttribute(lambda o: f"Organization {o.slug}")
    default_jurisdiction = "DE"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def saved(self, create, extracted, **kwargs):
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = m.Membership.Role.ADMIN


class PurposeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Purpose

    organization = factory.SubFactory(OrganizationFactory)
    key = factory.Sequence(lambda n: f"purpose_{n}")
    name = factory.LazyAttribute(lambda p: p.key.replace("_", " ").title())
    kind = m.Purpose.Kind.COOKIE_CATEGORY
    mode_eu = m.ConsentMode.OPT_IN
    mode_us = m.ConsentMode.OPT_OUT
    mode_other = m.ConsentMode.OPT_IN


class NoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Notice

    organization = factory.SubFactory(OrganizationFactory)
    version = factory.Sequence(lambda n: f"v{n}")
    title = "Cookie notice"
    text = factory.LazyAttribute(lambda n: f"Notice text of version {n.version}.")
    published_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=1))


class DataSubjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.DataSubject

    organization = factory.SubFactory(OrganizationFactory)


class SubjectIdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SubjectIdentifier

    subject = factory.SubFactory(DataSubjectFactory)
    organization = factory.SelfAttribute("subject.organization")
    kind = "email"
    value_hash = factory.Sequence(lambda n: f"{n:064x}")


class IdentifierMoveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.IdentifierMove

    from_subject = factory.SubFactory(DataSubjectFactory)
    organization = factory.SelfAttribute("from_subject.organization")
    to_subject = factory.SubFactory(
        DataSubjectFactory, organization=factory.SelfAttribute("..organization")
    )
    kind = "email"
    value_hash = factory.Sequence(lambda n: f"{n:064x}")


class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Suppression

    organization = factory.SubFactory(OrganizationFactory)
    kind = "email"
    value_hash = factory.Sequence(lambda n: f"{n:064x}")


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.WebhookEndpoint

    organization = factory.SubFactory(OrganizationFactory)
    url = "http://127.0.0.1:9/hook"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = c.Site

    organization = factory.SubFactory(OrganizationFactory)
    key = factory.Sequence(lambda n: f"site{n}")
    name = factory.LazyAttribute(lambda s: f"Site {s.key}")
    allowed_origins = "https://www.example.com"


class BannerTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = c.BannerText

    site = factory.SubFactory(SiteFactory)
    language = "en"
    title = "We use cookies"


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = c.Vendor

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Vendor {n}")
    purpose = factory.SubFactory(
        PurposeFactory, organization=factory.SelfAttribute("..organization")
    )


class CookieDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = c.CookieDefinition

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"cookie_{n}")
    purpose = factory.SubFactory(
        PurposeFactory, organization=factory.SelfAttribute("..organization")
    )


def api_key_for(organization, *scopes: str) -> str:
    """Create a key with these scopes and return its raw value."""
    _, raw = create_api_key(organization=organization, name="test key", scopes=list(scopes))
    return raw


def standard_purposes(organization) -> dict:
    """The purposes most tests need, keyed by purpose key."""
    K, M = m.Purpose.Kind, m.ConsentMode
    specs = {
        "necessary": (K.COOKIE_CATEGORY, M.ALWAYS_ON, M.ALWAYS_ON, None),
        "analytics": (K.COOKIE_CATEGORY, M.OPT_IN, M.OPT_OUT, 395),
        "advertising": (K.COOKIE_CATEGORY, M.OPT_IN, M.OPT_OUT, 395),
        "marketing_email": (K.COMMUNICATION_CHANNEL, M.OPT_IN, M.OPT_IN, 730),
        "marketing_sms": (K.COMMUNICATION_CHANNEL, M.OPT_IN, M.OPT_IN, 730),
        "sale_share": (K.DATA_USE_OPT_OUT, M.OPT_IN, M.OPT_OUT, None),
        "targeted_advertising": (K.DATA_USE_OPT_OUT, M.OPT_IN, M.OPT_OUT, None),
    }
    return {
        key: PurposeFactory(
            organization=organization,
            key=key,
            kind=kind,
            mode_eu=eu,
            mode_us=us,
            mode_other=eu,
            validity_days=validity,
        )
        for key, (kind, eu, us, validity) in specs.items()
    }


class ConsentEventFactory(factory.django.DjangoModelFactory):
    """Events are only ever created through the consent service, so the chain stays valid."""

    class Meta:
        model = m.ConsentEvent

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"subject{n}@example.com")
    purpose_key = "marketing_email"
    granted = True
    source = "api"

    @classmethod
    def _create(cls, model_class, organization, email, purpose_key, granted, source, **kwargs):
        from consents.services import record_consent

        if not organization.purposes.filter(key=purpose_key).exists():
            PurposeFactory(organization=organization, key=purpose_key)
        result = record_consent(
            organization=organization,
            identifiers={"email": email},
            choices={purpose_key: granted},
            source=source,
            actor="factory",
            **kwargs,
        )
        return result.events[0]


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ApiKey

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"key {n}")
    scopes = factory.LazyFunction(lambda: ["consents:check"])

    @classmethod
    def _create(cls, model_class, organization, name, scopes, **kwargs):
        api_key, _ = create_api_key(organization=organization, name=name, scopes=scopes)
        return api_key


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = factory.SubFactory(
        ConsentEventFactory, organization=factory.SelfAttribute("..endpoint.organization")
    )
    payload = factory.LazyAttribute(lambda d: {"event_id": d.event.pk})


class IdempotencyRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.IdempotencyRecord

    organization = factory.SubFactory(OrganizationFactory)
    key = factory.Sequence(lambda n: f"idem-{n}")
    request_digest = "0" * 64
    response = factory.LazyFunction(dict)


class CheckTallyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CheckTally

    organization = factory.SubFactory(OrganizationFactory)
    purpose_key = "marketing_email"
    day = factory.LazyFunction(lambda: timezone.now().date())
    answered = 10
    allowed = 4


class PrivacyRequestLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PrivacyRequestLog

    organization = factory.SubFactory(OrganizationFactory)
    action = m.PrivacyRequestLog.Action.ERASURE
    performed_by = "factory"


class EmailConfirmationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.EmailConfirmation

    subject = factory.SubFactory(DataSubjectFactory)
    organization = factory.SelfAttribute("subject.organization")
    purpose_keys = factory.LazyFunction(lambda: ["marketing_email"])
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
