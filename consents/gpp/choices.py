"""From a subject's choices (purpose key -> allowed) to usnat and the US Privacy string.

static/kaizen/gpp.js applies the same rules in the browser; a test keeps the two identical.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from consents.gpp.strings import (
    CONSENT,
    DID_NOT_OPT_OUT,
    N_A,
    NO,
    NO_CONSENT,
    NOTICE_GIVEN,
    NOTICE_NOT_GIVEN,
    OPTED_OUT,
    US_PRIVACY_NOT_APPLICABLE,
    YES,
    UsNat,
    gpp_string,
    us_privacy_string,
)

# Purpose keys whose decisions feed the usnat section.
SALE_SHARE = "sale_share"
TARGETED_ADVERTISING = "targeted_advertising"
SENSITIVE_DATA_LIMIT = "sensitive_data_limit"


@dataclass(frozen=True)
class MspaConfig:
    """A site's IAB Multi-State Privacy Agreement settings and its US Privacy switch."""

    covered_transaction: bool = False
    opt_out_option_mode: bool = False
    service_provider_mode: bool = False
    us_privacy_enabled: bool = True

    @classmethod
    def from_site(cls, site) -> "MspaConfig":
        return cls(
            covered_transaction=site.mspa_covered_transaction,
            opt_out_option_mode=site.mspa_opt_out_option_mode,
            service_provider_mode=site.mspa_service_provider_mode,
            us_privacy_enabled=site.us_privacy_enabled,
        )


def _notice(present: bool, notice_given: bool) -> int:
    if not present:
        return N_A
    return NOTICE_GIVEN if notice_given else NOTICE_NOT_GIVEN


def _opt_out(allowed: bool | None, notice_given: bool, gpc: bool) -> int:
    """A refusal (or GPC) is an opt-out; not opting out only counts after a notice."""
    if allowed is None:
        return N_A
    if not allowed or gpc:
        return OPTED_OUT
    return DID_NOT_OPT_OUT if notice_given else N_A


def usnat_from_choices(
    choices: Mapping[str, bool], *, notice_given: bool, gpc: bool | None, mspa: MspaConfig
) -> UsNat:
    """Map purpose decisions (key -> allowed) to usnat; a purpose the organization lacks is n/a.

    `gpc` None leaves out the GPC sub-section (the caller cannot see the browser's signal).
    """
    sale = choices.get(SALE_SHARE)
    targeted = choices.get(TARGETED_ADVERTISING)
    sensitive = choices.get(SENSITIVE_DATA_LIMIT)
    sensitive_value = N_A if sensitive is None else CONSENT if sensitive else NO_CONSENT
    covered = mspa.covered_transaction
    return UsNat(
        SharingNotice=NOTICE_GIVEN if notice_given else NOTICE_NOT_GIVEN,
        SaleOptOutNotice=_notice(sale is not None, notice_given),
        SharingOptOutNotice=_notice(sale is not None, notice_given),
        TargetedAdvertisingOptOutNotice=_notice(targeted is not None, notice_given),
        SensitiveDataProcessingOptOutNotice=_notice(sensitive is not None, notice_given),
        SensitiveDataLimitUseNotice=_notice(sensitive is not None, notice_given),
        SaleOptOut=_opt_out(sale, notice_given, bool(gpc)),
        SharingOptOut=_opt_out(sale, notice_given, bool(gpc)),
        TargetedAdvertisingOptOut=_opt_out(targeted, notice_given, bool(gpc)),
        SensitiveDataProcessing=(sensitive_value,) * 16,
        KnownChildSensitiveDataConsents=(N_A,) * 3,
        PersonalDataConsents=N_A,
        MspaCoveredTransaction=YES if covered else NO,
        MspaOptOutOptionMode=(YES if mspa.opt_out_option_mode else NO) if covered else N_A,
        MspaServiceProviderMode=(YES if mspa.service_provider_mode else NO) if covered else N_A,
        Gpc=gpc,
    )


def us_privacy_from_choices(
    choices: Mapping[str, bool], *, notice_given: bool, gpc: bool | None, mspa: MspaConfig
) -> str:
    """The `1YNN` string; the MSPA's covered-transaction flag answers the LSPA question."""
    sale = choices.get(SALE_SHARE)
    opted_out = None if sale is None else (not sale or bool(gpc))
    return us_privacy_string(
        notice_given=notice_given, opted_out=opted_out, lspa_covered=mspa.covered_transaction
    )


def signals_from_choices(
    choices: Mapping[str, bool],
    *,
    jurisdiction_group: str,
    notice_given: bool,
    gpc: bool | None,
    mspa: MspaConfig,
) -> dict:
    """`gpp` and `us_privacy` for the consent state API; outside the US no usnat, `1---`."""
    if jurisdiction_group != "us":
        us_privacy = US_PRIVACY_NOT_APPLICABLE if mspa.us_privacy_enabled else None
        return {"gpp": None, "us_privacy": us_privacy}
    usnat = usnat_from_choices(choices, notice_given=notice_given, gpc=gpc, mspa=mspa)
    us_privacy = None
    if mspa.us_privacy_enabled:
        us_privacy = us_privacy_from_choices(choices, notice_given=notice_given, gpc=gpc, mspa=mspa)
    return {"gpp": gpp_string(usnat), "us_privacy": us_privacy}


def signals_for_decisions(*, organization, decisions, jurisdiction: str, site=None) -> dict:
    """`gpp` and `us_privacy` for a subject's current decisions, as the state API reports them.

    A server cannot see the browser's GPC signal, so the GPC sub-section appears only when the
    subject's sale/share refusal was recorded from GPC (source `gpc`).
    """
    from django.utils import timezone

    from consents.jurisdiction import jurisdiction_group

    choices = {d.purpose.key: d.allowed for d in decisions}
    if site is not None:
        # Speak for the purposes this site's banner offers, so both ends give one string.
        offered = set(site.purposes.values_list("key", flat=True))
        choices = {key: value for key, value in choices.items() if key in offered}
    sale = next((d for d in decisions if d.purpose.key == SALE_SHARE), None)
    gpc = True if sale is not None and not sale.allowed and sale.source == "gpc" else None
    notice_given = organization.notices.filter(published_at__lte=timezone.now()).exists()
    return signals_from_choices(
        choices,
        jurisdiction_group=jurisdiction_group(jurisdiction or organization.default_jurisdiction),
        notice_given=notice_given,
        gpc=gpc,
        mspa=MspaConfig.from_site(site) if site is not None else MspaConfig(),
    )
