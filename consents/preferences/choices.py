"""What the preference pages read and change. Every change goes through `record_consent`."""

from collections.abc import Iterable, Mapping

from django.http import HttpRequest
from django.utils import timezone

from consent_platform.ratelimit import client_ip
from consents import selectors
from consents.models import DataSubject, Notice, Organization, Purpose
from consents.services import ConsentResult, record_consent

# The US privacy-choices page, in display order; a key the organization lacks is not shown.
DATA_USE_KEYS = ("sale_share", "targeted_advertising", "profiling", "sensitive_data_limit")
# What a Global Privacy Control signal opts out of (CCPA §7025: sale and sharing).
GPC_KEYS = ("sale_share", "targeted_advertising")
# Channels whose grants wait for a confirmed address when the organization asks for double opt-in.
EMAIL_CHANNEL_KEYS = ("marketing_email",)


def current_notice(organization: Organization, purposes: Iterable[Purpose] = ()) -> Notice | None:
    """The newest published notice naming one of `purposes`, else the newest published one."""
    published = Notice.objects.filter(
        organization=organization, published_at__lte=timezone.now()
    ).order_by("-published_at", "-id")
    purpose_ids = [p.pk for p in purposes]
    if purpose_ids:
        naming = published.filter(purposes__in=purpose_ids).first()
        if naming is not None:
            return naming
    return published.first()


def decisions_by_key(
    organization: Organization, subject: DataSubject | None, jurisdiction: str = ""
) -> dict[str, selectors.PurposeDecision]:
    return {
        d.purpose.key: d
        for d in selectors.consent_state_for_subject(organization, subject, jurisdiction)
    }


def changed_choices(
    decisions: Mapping[str, selectors.PurposeDecision], wanted: Mapping[str, bool]
) -> dict[str, bool]:
    """The choices that differ from what is on record.

    A never-made choice counts, except a purpose left allowed where it is allowed by default
    (an opt-out jurisdiction): leaving a box as it was shown is not a grant."""
    changed = {}
    for key, value in wanted.items():
        decision = decisions.get(key)
        if decision is not None and decision.decision is None and value and decision.allowed:
            continue
        if (
            decision is None
            or decision.decision is None
            or decision.basis == "expired"
            or (decision.decision == "granted") != value
        ):
            changed[key] = value
    return changed


def record_choices(
    *,
    request: HttpRequest,
    organization: Organization,
    identifiers: Mapping[str, str],
    choices: Mapping[str, bool],
    source: str,
    notice: Notice | None,
    jurisdiction: str = "",
    site=None,
    source_by_purpose: Mapping[str, str] | None = None,
) -> ConsentResult | None:
    if not choices:
        return None
    return record_consent(
        organization=organization,
        identifiers=identifiers,
        choices=choices,
        source=source,
        actor="visitor" if "visitor_id" in identifiers else "subject",
        notice_version=notice.version if notice else None,
        jurisdiction=jurisdiction,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        site=site,
        source_by_purpose=source_by_purpose,
    )
