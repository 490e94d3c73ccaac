"""The plain reading of a banner body gives what BannerConsentInput gives, or steps aside."""

import pytest

from cookies.api.serializers import BannerConsentInput, plain_banner_input

VISITOR = "v-0123456789abcdef"
EVENT = "e-0123456789"
GOOD = {"visitor_id": VISITOR, "event_id": EVENT, "choices": {"analytics": True}}

BODIES = [
    GOOD,
    {**GOOD, "gpc": True},
    {**GOOD, "gpc": False, "notice_version": "2026-01"},
    {**GOOD, "notice_version": None},
    {**GOOD, "notice_version": ""},
    {**GOOD, "occurred_at": "2026-11-27T07:00:00.123Z"},
    {**GOOD, "occurred_at": "2026-11-27T09:00:00+02:00"},
    {**GOOD, "occurred_at": "2026-11-27T07:00:00"},
    {**GOOD, "occurred_at": None},
    {**GOOD, "occurred_at": "yesterday"},
    {**GOOD, "occurred_at": 1764226800},
    {**GOOD, "extra": "ignored"},
    {**GOOD, "choices": {"analytics": True, "ads": False, "functional": True}},
    {**GOOD, "choices": {}},
    {**GOOD, "choices": {f"p{i}": True for i in range(65)}},
    {**GOOD, "choices": {"analytics": "true"}},
    {**GOOD, "choices": {"analytics": 1}},
    {**GOOD, "choices": ["analytics"]},
    {**GOOD, "gpc": "true"},
    {**GOOD, "gpc": 1},
    {**GOOD, "gpc": None},
    {**GOOD, "visitor_id": VISITOR + "\n"},
    {**GOOD, "visitor_id": " " + VISITOR},
    {**GOOD, "visitor_id": "short"},
    {**GOOD, "visitor_id": "x" * 65},
    {**GOOD, "visitor_id": 12345678901234567},
    {**GOOD, "event_id": EVENT + "\n"},
    {**GOOD, "event_id": "e-1"},
    {**GOOD, "event_id": "e 0123456789"},
    {**GOOD, "notice_version": " v1 "},
    {**GOOD, "notice_version": "v" * 65},
    {**GOOD, "notice_version": "v1\u0000"},
    {"event_id": EVENT, "choices": {"analytics": True}},
    {"visitor_id": VISITOR, "choices": {"analytics": True}},
    {"visitor_id": VISITOR, "event_id": EVENT},
]


@pytest.mark.parametrize("body", BODIES)
def test_plain_reading_matches_the_serializer_or_steps_aside(body):
    plain = plain_banner_input(body)
    serializer = BannerConsentInput(data=body)
    valid = serializer.is_valid()
    if plain is None:
        return  # the view asks the serializer, whose answer stands
    assert valid, serializer.errors
    assert plain == dict(serializer.validated_data)


def test_the_body_the_banner_sends_is_read_plainly():
    body = {
        "visitor_id": VISITOR,
        "choices": {"analytics": True, "ads": False},
        "notice_version": "2026-01",
        "gpc": False,
        "event_id": EVENT,
        "occurred_at": "2026-11-27T07:00:00.123Z",
    }
    serializer = BannerConsentInput(data=body)
    assert serializer.is_valid()
    assert plain_banner_input(body) == dict(serializer.validated_data)
    assert plain_banner_input(body)["occurred_at"].isoformat() == "2026-11-27T07:00:00.123000+00:00"


def test_invalid_bodies_are_left_to_the_serializer():
    for body in BODIES:
        if not BannerConsentInput(data=body).is_valid():
            assert plain_banner_input(body) is None, body
