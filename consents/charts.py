"""Small server-rendered SVG charts for the dashboard (no JavaScript, CSP-friendly)."""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#0b57d0", "#b3261e", "#146c2e", "#8e4ec6", "#b06000", "#00639b", "#5f6368", "#c2185b")


def bar_chart(
    labels: list[str],
    series: dict[str, list[float]],
    *,
    title: str,
    percent: bool = False,
    width: int = 640,
    height: int = 200,
) -> SafeString:
    """Stacked bars: one bar per label, one colour per series, with a legend and a data table."""
    left, bottom, top = 40, 24, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = 100.0 if percent else max(totals + [1])
    slot = plot_w / max(len(labels), 1)
    base = top + plot_h
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height + 20 * len(series)}" '
        f'role="img" aria-label="{escape(title)}" class="kz-chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#888"/>',
        f'<text x="4" y="{top + 8}" font-size="10">{peak:.0f}{"%" if percent else ""}</text>',
        f'<text x="4" y="{top + plot_h}" font-size="10">0</text>',
    ]
    for i, label in enumerate(labels):
        y = top + plot_h
        for colour, values in zip(PALETTE, series.values(), strict=False):
            h = plot_h * values[i] / peak if peak else 0
            y -= h
            parts.append(
                f'<rect x="{left + i * slot + 1:.1f}" y="{y:.1f}" '
                f'width="{max(slot - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(label)}: {values[i]:g}</title></rect>"
            )
        if len(labels) <= 16 or i % max(len(labels) // 8, 1) == 0:
            x = left + i * slot
            parts.append(
                f'<text x="{x:.1f}" y="{height - 8}" font-size="9">{escape(label[-5:])}</text>'
            )
    for n, (name, colour) in enumerate(zip(series, PALETTE, strict=False)):
        y = height + 14 + 20 * n - 10
        parts.append(f'<rect x="{left}" y="{y}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + 16}" y="{y + 9}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every interpolated text is escaped above)
