"""One-click unsubscribe (RFC 8058 / RFC 2369): the links we hand out and what a POST does."""

from dataclasses import dataclass

from consents import selectors
from consents.identifiers import normalize_identifier
from consents.models import Organization, Purpose
from consents.preferences import links, tokens
from consents.services import record_consent

LIST_UNSUBSCRIBE_POST = "List-Unsubscribe=One-Click"
MAX_RECIPIENTS = 10_000
UNSUBSCRIBABLE_KINDS = (Purpose.Kind.COMMUNICATION_CHANNEL, Purpose.Kind.MARKETING_TOPIC)
NOT_UNSUBSCRIBABLE = "Purpose {key!r} is not a marketing channel or topic."


@dataclass(frozen=True)
class UnsubscribeLink:
    email: str
    purpose: str
    url: str
    preferences_url: str

    @property
    def list_unsubscribe(self) -> str:
        return f"<{self.url}>"

    def as_json(self) -> dict:
        return {
            "email": self.email,
            "purpose": self.purpose,
            "url": self.url,
            "list_unsubscribe": self.list_unsubscribe,
            "list_unsubscribe_post": LIST_UNSUBSCRIBE_POST,
            "preferences_url": self.preferences_url,
        }


def unsubscribable_purposes(organization: Organization) -> dict[str, Purpose]:
    return {p.key: p for p in organization.purposes.filter(kind__in=UNSUBSCRIBABLE_KINDS)}


def unsubscribe_links(
    organization: Organization, recipients: list[tuple[str, str]]
) -> list[UnsubscribeLink]:
    """Links for (email, purpose key) pairs already validated by the caller."""
    return [
        UnsubscribeLink(
            email=email,
            purpose=purpose_key,
            url=links.unsubscribe_url(organization, email, purpose_key),
            preferences_url=links.preference_url(organization, email),
        )
        for email, purpose_key in recipients
    ]


@dataclass(frozen=True)
class UnsubscribeRequest:
    organization: Organization
    email: str
    purpose: Purpose
    issued_at: int  # when the link was made (Unix seconds)


def read_unsubscribe_token(token: str) -> UnsubscribeRequest:
    """Decode a token from an unsubscribe URL; raises tokens.TokenError when it is not ours."""
    content = tokens.read_token(token, tokens.UNSUBSCRIBE)
    payload = content.payload
    purpose = unsubscribable_purposes(content.organization).get(payload.get("p"))
    try:
        email = normalize_identifier("email", payload.get("e"))
    except Exception:
        raise tokens.TokenError("invalid") from None
    if purpose is None:
        raise tokens.TokenError("purpose no longer exists")
    return UnsubscribeRequest(content.organization, email, purpose, content.issued_at)


def unsubscribe(request: UnsubscribeRequest, *, ip: str | None, user_agent: str) -> bool:
    """Record the refusal unless it is already on record; return whether anything changed."""
    organization, purpose = request.organization, request.purpose
    subject = selectors.subject_by_identifier(organization, "email", request.email)
    if subject is not None:
        state = subject.states.filter(purpose=purpose).first()
        if state is not None and not state.granted:
            return False
    record_consent(
        organization=organization,
        identifiers={"email": request.email},
        choices={purpose.key: False},
        source="unsubscribe",
        actor="unsubscribe_link",
        ip=ip,
        user_agent=user_agent,
    )
    return True
