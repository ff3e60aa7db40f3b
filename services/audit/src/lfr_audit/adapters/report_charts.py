"""Charts for the post-deployment report (matplotlib, Agg canvas, no pyplot state: thread-safe)."""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_BLUE, _RED, _GREY, _GREEN = "#1f5fa8", "#c0392b", "#8c8c8c", "#2e8b57"


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def outcomes_chart(report: dict[str, Any]) -> bytes:
    alerts = report["alerts"]
    labels = ["true", "false", "undetermined", "suppressed"]
    values = [alerts["true_alerts"], alerts["false_alerts"], alerts["undetermined"], alerts["suppressed"]]
    figure = Figure(figsize=(5.5, 2.8))
    axes = figure.add_subplot()
    axes.bar(labels, values, color=[_GREEN, _RED, _GREY, _BLUE])
    axes.set_title(f"Alerts ({alerts['total']}) by outcome")
    axes.set_ylabel("alerts")
    for index, value in enumerate(values):
        axes.annotate(str(value), (index, value), ha="center", va="bottom")
    return _png(figure)


def false_alert_rate_chart(report: dict[str, Any]) -> bytes:
    rate = report["false_alert_rate"]
    measured = rate["per_1000"] or 0.0
    figure = Figure(figsize=(5.5, 2.2))
    axes = figure.add_subplot()
    colour = _GREEN if rate["within_direction"] in (True, None) else _RED
    axes.barh(["this deployment", "direction"], [measured, 1.0], color=[colour, _GREY])
    axes.axvline(1.0, color=_RED, linestyle="--", linewidth=1)
    axes.set_xlabel("false alerts per 1,000 faces processed")
    axes.set_title(f"False alert rate ({rate['faces_processed']:,} faces processed)")
    return _png(figure)


def community_impact_chart(report: dict[str, Any]) -> bytes | None:
    assessments = report["community_impact"]
    if not assessments:
        return None
    figure = Figure(figsize=(5.5, 2.6))
    axes = figure.add_subplot()
    positions = list(range(len(assessments)))
    for scale, colour in (("experienced", _BLUE), ("evidenced", _GREEN), ("potential", _RED)):
        axes.plot(positions, [a["scores"][scale] for a in assessments], marker="o", color=colour, label=scale)
    axes.set_xticks(positions, [str(a["assessed_at"])[:16].replace("T", " ") for a in assessments],
                    fontsize=7, rotation=15)  # fmt: skip
    axes.set_ylim(0.5, 6.5)
    axes.set_ylabel("tension (1 imminent .. 6 normal)", fontsize=7)
    axes.set_title("Community impact assessments")
    axes.legend(fontsize=7, loc="lower left")
    return _png(figure)


def charts(report: dict[str, Any]) -> list[tuple[str, bytes]]:
    made = [
        ("Alerts by outcome", outcomes_chart(report)),
        ("False alert rate against the 1 in 1,000 direction", false_alert_rate_chart(report)),
    ]
    cia = community_impact_chart(report)
    if cia is not None:
        made.append(("Community tension", cia))
    return made
