"""Writes for the banner: a visitor's choices go to the ledger through record_consent."""

import hashlib
from collections.abc import Mapping
from datetime import datetime

from consents.jurisdiction import jurisdiction_group
from consents.models import ConsentMode, Source
from consents.services import UNKNOWN_PURPOSE, ConsentResult, ConsentValidationError, record_consent
from cookies.models import Site

VISITOR_ACTOR = "visitor"


def banner_idempotency_key(site: Site, event_id: str) -> str:
    """Scope the browser-made event id to the site, so two sites cannot collide (hashed, so
    the key fits its column whatever the lengths of site key and event id)."""
    scoped = hashlib.sha256(f"{site.pk}:{event_id}".encode()).hexdigest()
    return f"banner:{scoped}"


def gpc_opt_outs(site: Site, jurisdiction: str) -> list[str]:
    """Purposes a Global Privacy Control signal opts out of here: the site's GPC purposes
    whose mode is opt-out in this jurisdiction (in opt-in places they are refused anyway)."""
    group = jurisdiction_group(jurisdiction)
    wanted = set(site.gpc_purpose_keys())
    return sorted(
        p.key
        for p in site.organization.purposes.filter(key__in=wanted)
        if p.mode_for(group) == ConsentMode.OPT_OUT
    )


def record_banner_consent(
    *,
    site: Site,
    visitor_id: str,
    choices: Mapping[str, bool],
    notice_version: str | None,
    gpc: bool,
    event_id: str,
    jurisdiction: str,
    occurred_at: datetime | None = None,
    ip: str | None = None,
    user_agent: str = "",
    offered: frozenset[str] | None = None,
) -> tuple[ConsentResult, list[str]]:
    """Record a banner decision; with GPC on, the GPC purposes are refused with source `gpc`.

    Only purposes the site offers are accepted. Returns the result and the purposes GPC
    decided. A resend with the same event id is a harmless replay. `offered`: the keys of the
    site's purposes when the caller holds them (cookies.selectors.SiteEntry)."""
    if offered is None:
        offered = set(site.purposes.values_list("key", flat=True))
    unknown = [key for key in choices if key not in offered]
    if unknown:
        raise ConsentValidationError(
            {"choices": {key: [UNKNOWN_PURPOSE.format(key=key)] for key in unknown}}
        )
    decided = dict(choices)
    by_gpc = gpc_opt_outs(site, jurisdiction) if gpc else []
    for key in by_gpc:
        decided[key] = False
    result = record_consent(
        organization=site.organization,
        identifiers={"visitor_id": visitor_id},
        choices=decided,
        source=Source.BANNER,
        actor=VISITOR_ACTOR,
        notice_version=notice_version or None,
        jurisdiction=jurisdiction,
        ip=ip,
        user_agent=user_agent,
        site=site,
        occurred_at=occurred_at,
        idempotency_key=banner_idempotency_key(site, event_id),
        source_by_purpose={key: Source.GPC for key in by_gpc},
    )
    return result, by_gpc
