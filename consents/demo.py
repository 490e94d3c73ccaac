"""The demo organization: purposes, notice, site, admin user and a little history."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from consents.models import ConsentMode, Membership, Notice, Organization, Purpose
from consents.services import record_consent

DEMO_ORG = "demo"
DEMO_USERNAME = "admin"
DEMO_PASSWORD = "kaizen-demo"  # noqa: S105  (local demo only, printed by `make run`)

OPT_IN, OPT_OUT, ALWAYS = ConsentMode.OPT_IN, ConsentMode.OPT_OUT, ConsentMode.ALWAYS_ON
K = Purpose.Kind
# key, name, kind, (eu, us, other), validity days, description
DEMO_PURPOSES = [
    (
        "necessary",
        "Strictly necessary",
        K.COOKIE_CATEGORY,
        (ALWAYS, ALWAYS, ALWAYS),
        None,
        "Needed for the site to work: security, load balancing, remembering your choices.",
    ),
    (
        "functional",
        "Functional",
        K.COOKIE_CATEGORY,
        (OPT_IN, OPT_OUT, OPT_IN),
        395,
        "Remembers settings such as language and region.",
    ),
    (
        "analytics",
        "Analytics",
        K.COOKIE_CATEGORY,
        (OPT_IN, OPT_OUT, OPT_IN),
        395,
        "Counts visits and measures how the site is used, so we can improve it.",
    ),
    (
        "advertising",
        "Advertising",
        K.COOKIE_CATEGORY,
        (OPT_IN, OPT_OUT, OPT_IN),
        395,
        "Shows Kaizenify ads on other sites and measures their effect.",
    ),
    (
        "marketing_email",
        "Marketing email",
        K.COMMUNICATION_CHANNEL,
        (OPT_IN, OPT_IN, OPT_IN),
        730,
        "News, offers and event invitations by email.",
    ),
    (
        "marketing_sms",
        "Marketing SMS",
        K.COMMUNICATION_CHANNEL,
        (OPT_IN, OPT_IN, OPT_IN),
        730,
        "Offers and reminders by text message.",
    ),
    (
        "sale_share",
        "Sale or sharing of personal information",
        K.DATA_USE_OPT_OUT,
        (OPT_IN, OPT_OUT, OPT_IN),
        None,
        "Disclosing information to partners in ways US state laws call a sale or sharing.",
    ),
    (
        "targeted_advertising",
        "Targeted advertising",
        K.DATA_USE_OPT_OUT,
        (OPT_IN, OPT_OUT, OPT_IN),
        None,
        "Using activity across sites to choose the ads you see.",
    ),
    (
        "profiling",
        "Profiling",
        K.DATA_USE_OPT_OUT,
        (OPT_IN, OPT_OUT, OPT_IN),
        None,
        "Automated evaluation of your interests to personalise offers.",
    ),
    (
        "sensitive_data_limit",
        "Use of sensitive personal information",
        K.DATA_USE_OPT_OUT,
        (OPT_IN, OPT_OUT, OPT_IN),
        None,
        "Using sensitive information (such as precise location) beyond what the service needs.",
    ),
    (
        "topic_newsletter",
        "Newsletter",
        K.MARKETING_TOPIC,
        (OPT_IN, OPT_IN, OPT_IN),
        730,
        "The monthly newsletter.",
    ),
    (
        "topic_product_updates",
        "Product updates",
        K.MARKETING_TOPIC,
        (OPT_IN, OPT_IN, OPT_IN),
        730,
        "New features and releases.",
    ),
    (
        "topic_offers",
        "Offers",
        K.MARKETING_TOPIC,
        (OPT_IN, OPT_IN, OPT_IN),
        730,
        "Discounts and promotions.",
    ),
    (
        "topic_events",
        "Events",
        K.MARKETING_TOPIC,
        (OPT_IN, OPT_IN, OPT_IN),
        730,
        "Invitations to events and webinars.",
    ),
    (
        "topic_surveys",
        "Surveys",
        K.MARKETING_TOPIC,
        (OPT_IN, OPT_IN, OPT_IN),
        730,
        "Requests for feedback.",
    ),
]

DEMO_NOTICE_TEXT = (
    "We and our partners use cookies and similar technologies. Strictly necessary cookies keep "
    "the site working. With your consent we also use functional, analytics and advertising "
    "cookies. You can change your choice at any time from the Privacy choices link."
)


def ensure_demo_purposes(organization: Organization) -> None:
    """Create or refresh the demo purposes in an organization."""
    for position, (key, name, kind, modes, validity, description) in enumerate(DEMO_PURPOSES):
        Purpose.objects.update_or_create(
            organization=organization,
            key=key,
            defaults={
                "name": name,
                "kind": kind,
                "mode_eu": modes[0],
                "mode_us": modes[1],
                "mode_other": modes[2],
                "validity_days": validity,
                "description": description,
                "position": position,
            },
        )


@transaction.atomic
def seed_demo(admin_password: str = DEMO_PASSWORD) -> Organization:
    """Create or refresh the demo organization. Safe to run any number of times.

    `admin_password`: the demo admin user's, when it is created (an existing user keeps its own).
    """
    organization, _ = Organization.objects.get_or_create(
        slug=DEMO_ORG, defaults={"name": "Kaizenify Demo", "default_jurisdiction": "DE"}
    )
    ensure_demo_purposes(organization)
    notice, created = Notice.objects.get_or_create(
        organization=organization,
        version="2026-01",
        defaults={
            "title": "Cookie notice",
            "text": DEMO_NOTICE_TEXT,
            "published_at": timezone.now() - timedelta(days=60),
        },
    )
    if created:
        notice.purposes.set(organization.purposes.filter(kind=K.COOKIE_CATEGORY))
    user_model = get_user_model()
    user = user_model.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        user = user_model.objects.create_superuser(
            DEMO_USERNAME, "admin@demo.invalid", admin_password
        )
    Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": Membership.Role.ADMIN}
    )
    from cookies.demo import seed_demo_site

    seed_demo_site(organization)
    if not organization.subjects.exists():
        _demo_history(organization, notice)
    return organization


def _demo_history(organization: Organization, notice: Notice) -> None:
    now = timezone.now()
    people = [
        ({"email": "ada@example.com"}, {"marketing_email": True, "topic_newsletter": True}, 40),
        ({"email": "grace@example.com"}, {"marketing_email": False}, 30),
        (
            {"email": "linus@example.com", "phone": "+4915112345678"},
            {"marketing_email": True, "marketing_sms": True},
            20,
        ),
        (
            {"visitor_id": "demo-visitor-0000000001"},
            {"analytics": True, "advertising": False, "functional": True},
            10,
        ),
        (
            {"visitor_id": "demo-visitor-0000000002"},
            {"analytics": False, "advertising": False, "functional": False},
            5,
        ),
        ({"email": "ada@example.com"}, {"topic_offers": False}, 2),
    ]
    for identifiers, choices, days_ago in people:
        record_consent(
            organization=organization,
            identifiers=identifiers,
            choices=choices,
            source="banner" if "visitor_id" in identifiers else "preference_center",
            actor="visitor" if "visitor_id" in identifiers else "subject",
            notice_version=notice.version,
            jurisdiction="DE",
            ip="203.0.113.77",
            user_agent="Mozilla/5.0 (demo)",
            occurred_at=now - timedelta(days=days_ago),
        )
