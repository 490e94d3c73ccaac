"""Figures for the organization dashboard; marketing members see only their own figures."""

from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from consents.charts import bar_chart
from consents.models import CheckTally, ConsentEvent, Membership, Organization
from consents.selectors import MARKETING_KINDS
from consents.tallies import flush as flush_check_tallies

DAYS = 30


def _days(now) -> list:
    return [(now - timedelta(days=DAYS - 1 - i)).date() for i in range(DAYS)]


def dashboard_figures(organization: Organization, role: str) -> dict:
    now = timezone.now()
    days = _days(now)
    labels = [d.isoformat() for d in days]
    since = now - timedelta(days=DAYS)
    events = ConsentEvent.objects.filter(organization=organization, recorded_at__gte=since)
    purposes = organization.purposes.all()
    if role == Membership.Role.MARKETING:
        purposes = purposes.filter(kind__in=MARKETING_KINDS)
    charts = []

    rates = {}
    per_purpose = (
        events.filter(purpose__in=purposes)
        .values("purpose__key")
        .annotate(total=Count("id"), granted=Count("id", filter=Q(granted=True)))
    )
    for row in per_purpose:
        rates[row["purpose__key"]] = round(100 * row["granted"] / row["total"], 1)
    weekly = _weekly_rates(
        ConsentEvent.objects.filter(organization=organization, purpose__in=purposes), now
    )
    for key, values in weekly.items():
        charts.append(
            bar_chart(
                [f"w-{n}" for n in range(len(values) - 1, -1, -1)],
                {key: values},
                title=f"Consent rate for {key} per week (%)",
                percent=True,
                height=120,
            )
        )

    if role != Membership.Role.MARKETING:
        by_source: dict[str, list[float]] = {}
        for row in (
            events.annotate(day=TruncDate("recorded_at"))
            .values("day", "source")
            .annotate(n=Count("id"))
        ):
            series = by_source.setdefault(row["source"], [0] * DAYS)
            if row["day"] in days:
                series[days.index(row["day"])] = row["n"]
        charts.insert(
            0,
            bar_chart(labels, by_source or {"none": [0] * DAYS}, title="Events per day by source"),
        )

    flush_check_tallies()  # this process's own pending counts; others' (consents.tallies)
    tallies = CheckTally.objects.filter(organization=organization, day__gte=days[0])
    checks = {"allowed": [0] * DAYS, "not allowed": [0] * DAYS}
    for tally in tallies:
        if tally.day in days:
            i = days.index(tally.day)
            checks["allowed"][i] += tally.allowed
            checks["not allowed"][i] += tally.answered - tally.allowed
    charts.append(bar_chart(labels, checks, title="Checks answered per day"))

    figures = {"rates": rates, "charts": charts, "checks_total": sum(t.answered for t in tallies)}
    if role != Membership.Role.MARKETING:
        visitors = events.filter(source__in=["banner", "gpc"]).values("subject").distinct().count()
        gpc = events.filter(source="gpc").values("subject").distinct().count()
        figures["gpc_share"] = round(100 * gpc / visitors, 1) if visitors else 0.0
        figures["visitors"] = visitors
    return figures


def _weekly_rates(events, now, weeks: int = 12) -> dict[str, list[float]]:
    start = now - timedelta(weeks=weeks)
    counts: dict[str, list[list[int]]] = {}
    for purpose_key, granted, recorded_at in (
        events.filter(recorded_at__gte=start)
        .values_list("purpose__key", "granted", "recorded_at")
        .iterator(chunk_size=5_000)
    ):
        week = min(weeks - 1, int((recorded_at - start) / timedelta(weeks=1)))
        slots = counts.setdefault(purpose_key, [[0, 0] for _ in range(weeks)])
        slots[week][0] += 1
        slots[week][1] += granted
    return {
        key: [round(100 * g / t, 1) if t else 0.0 for t, g in slots]
        for key, slots in sorted(counts.items())
    }
