"""The report as HTML (charts inline as PNG data) and as PDF (reportlab, same sections and charts)."""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lfr_audit.adapters.report_charts import charts

Section = tuple[str, list[tuple[str, str]]]


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def sections(report: dict[str, Any]) -> list[Section]:
    window, threshold, watchlist = report["window"], report["threshold"], report["watchlist"]
    alerts, rate, timing = report["alerts"], report["false_alert_rate"], report["time_to_decision_seconds"]
    purpose = report.get("purpose") or {}
    location = report.get("location") or {}
    result: list[Section] = [
        ("Deployment", [
            ("Deployment", report["deployment_id"]), ("Status", report["status"]),
            ("Purpose", f"{purpose.get('aim', '—')}: {purpose.get('description', '')}"),
            ("Location", f"{location.get('name', '—')} {', '.join(location.get('zones') or [])}"),
        ]),
        ("Window", [
            ("Authorised", f"{_text(window['authorised_start'])} to {_text(window['authorised_end'])}"),
            ("Started", _text(window["started_at"])), ("Ended", _text(window["ended_at"])),
            ("End reason", _text(window["end_reason"])),
        ]),
        ("Threshold", [
            ("Threshold", _text(threshold["value"])), ("Default", _text(threshold["default"])),
            ("Justification", _text(threshold["justification"])),
        ]),
        ("Watchlist", [
            ("Size", _text(watchlist["size"])), ("By category", _text(watchlist["by_category"])),
            ("By image source", _text(watchlist["by_image_source"])),
            ("By age band (at the window's start)", _text(watchlist["by_age_band"])),
            ("With a disability", _text(watchlist["with_disability"])),
            ("Declared composition", _text(watchlist["declared"])),
        ]),
        ("Cameras and faces", [
            ("Cameras", f"{report['cameras']['count']} ({', '.join(report['cameras']['ids'])})"),
            ("Camera outages", _text(report["cameras"]["outages"])),
            ("Faces processed", f"{report['faces_processed']:,}"),
        ]),
        ("Alerts and adjudication", [
            ("Alerts", _text(alerts["total"])), ("Adjudication", _text(alerts["by_status"])),
            ("Engagement outcomes", _text(alerts["outcomes"])),
            ("True alerts", _text(alerts["true_alerts"])),
            ("False alerts", _text(alerts["false_alerts"])),
            ("Undetermined", _text(alerts["undetermined"])),
            ("Suppressed repeats", _text(alerts["suppressed"])),
            ("False alert rate", f"{_text(rate['per_1000'])} per 1,000 faces (direction: at most 1)"),
            ("Within the direction", _text(rate["within_direction"])),
            ("Time to decision (s)", f"median {_text(timing['median'])}, p95 {_text(timing['p95'])}, "
                                     f"max {_text(timing['max'])} over {timing['count']} decisions"),
        ]),
        ("Halts", _numbered("Halt", report["halts"])),
        ("Deletions and holds", [("Deletions", _text(report["deletions"])),
                                 ("Holds", _text(report["holds"]))]),
        ("Community impact", _numbered("Assessment", report["community_impact"])),
        ("Ledger", [("Entries folded", _text(report["ledger"]["entries"])),
                    ("Ledger size when generated", _text(report["ledger"]["tree_size"])),
                    ("Generated", report["generated_at"])]),
    ]  # fmt: skip
    if not report["public"]:
        result.insert(
            3, ("Authorisation", [(k, _text(v)) for k, v in (report["authorisation"] or {}).items()])
        )
        result.append(("Post-deployment review", [("Review", _text(report["post_deployment_review"]))]))
        if report.get("warnings"):
            result.append(("Warnings", [(str(n), w) for n, w in enumerate(report["warnings"], 1)]))
    return result


def _numbered(label: str, items: list[Any]) -> list[tuple[str, str]]:
    return [(f"{label} {n}", _text(item)) for n, item in enumerate(items, 1)] or [(f"{label}s", "none")]


def _title(report: dict[str, Any]) -> str:
    kind = "Public transparency report" if report["public"] else "Post-deployment report"
    return f"{kind}: deployment {report['deployment_id']}"


def render_html(report: dict[str, Any]) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(_title(report))}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}th{text-align:left;",
        "vertical-align:top;padding-right:1rem}td{padding:.15rem 0}h2{margin-top:1.5rem}</style>",
        "</head><body>",
        f"<h1>{html.escape(_title(report))}</h1>",
    ]
    for title, rows in sections(report):
        parts.append(f"<h2>{html.escape(title)}</h2><table>")
        parts += [f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows]
        parts.append("</table>")
    parts.append("<h2>Charts</h2>")
    for caption, png in charts(report):
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts)


def render_pdf(report: dict[str, Any]) -> bytes:
    styles = getSampleStyleSheet()
    cell = styles["BodyText"]
    buffer = io.BytesIO()
    margins = {"leftMargin": 18 * mm, "rightMargin": 18 * mm, "topMargin": 16 * mm, "bottomMargin": 16 * mm}
    document = SimpleDocTemplate(buffer, pagesize=A4, title=_title(report), author="LFR audit", **margins)
    story: list[Any] = [Paragraph(html.escape(_title(report)), styles["Title"])]
    for title, rows in sections(report):
        story.append(Paragraph(html.escape(title), styles["Heading2"]))
        table = Table([[Paragraph(html.escape(k), cell), Paragraph(html.escape(v), cell)] for k, v in rows],
                      colWidths=[55 * mm, 119 * mm])  # fmt: skip
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))  # fmt: skip
        story.append(table)
    story.append(Paragraph("Charts", styles["Heading2"]))
    for caption, png in charts(report):
        story += [Image(io.BytesIO(png), width=150 * mm, height=150 * mm * _aspect(png)),
                  Paragraph(html.escape(caption), styles["Italic"]), Spacer(1, 4 * mm)]  # fmt: skip
    document.build(story)
    return buffer.getvalue()


def _aspect(png: bytes) -> float:
    """Height/width from the PNG header (IHDR), so charts keep their shape."""
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    return height / width if width else 0.5
