"""A summary of how well the standards were kept, as a self-contained HTML page: the user
can keep it, print it to PDF, or send it on. No script, no remote content."""

from __future__ import annotations

import html
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from heard.domain.naming import shown
from heard.domain.statistics import Summary, format_duration, goal_sentence

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 56em;
       color: #1d2733; }
h1 { font-size: 1.4em; } table { border-collapse: collapse; width: 100%; }
th, td { text-align: right; padding: .3em .6em; border-bottom: 1px solid #d8dee6; }
th:first-child, td:first-child { text-align: left; }
.bar { display: inline-block; height: .8em; background: #2e7d32; vertical-align: middle; }
.late { background: #c62828; } .goal { color: #555; font-size: .9em; }
"""


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _time(value: Any) -> str:
    return "–" if value is None else format_duration(value)


def _bar(summary: Summary) -> str:
    total = summary.ack_in_time + summary.ack_late
    if not total:
        return ""
    good = round(100 * summary.ack_in_time / total)
    return (f'<span class="bar" style="width:{good * 1.2:.0f}px"></span>'
            f'<span class="bar late" style="width:{(100 - good) * 1.2:.0f}px"></span>')


def render(groups: list[Summary], since: datetime, until: datetime, zone: tzinfo,
           user: str = "", labels: dict[str, str] | None = None) -> str:
    def e(text: str) -> str:
        """A client's name (a prospect's is what a stranger's mail said) or the user's, as
        text: escaped, one line, no control or direction-changing characters, cut to fit."""
        return html.escape(shown(text, 200))

    title = f"Response standards {since.astimezone(zone):%d %b %Y} – " \
            f"{until.astimezone(zone):%d %b %Y}"
    rows = []
    for g in groups:
        label = "All contacts" if g.key == "all" else (labels or {}).get(g.key, g.key)
        rows.append(
            f"<tr><td>{e(label)}</td><td>{g.count}</td><td>{_share(g.ack_in_time_share)}"
            f" {_bar(g)}</td><td>{_time(g.median_time_to_ack)}</td>"
            f"<td>{_time(g.p90_time_to_ack)}</td><td>{_share(g.answer_in_time_share)}</td>"
            f"<td>{_time(g.median_time_to_answer)}</td><td>{g.breaches}</td>"
            f"<td>{g.promises_kept}/{g.promises_made}</td></tr>"
            f'<tr class="goal"><td colspan="9">{e(goal_sentence(g.ack_goal, "acknowledged"))};'
            f" {e(goal_sentence(g.answer_goal, 'answered'))}</td></tr>")
    body = "\n".join(rows) or '<tr><td colspan="9">No contacts in this period.</td></tr>'
    who = f"<p>{e(user)}</p>" if user else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{e(title)}</title><style>{_STYLE}</style></head>
<body><h1>{e(title)}</h1>{who}
<table><tr><th></th><th>contacts</th><th>acknowledged in time</th><th>median</th>
<th>p90</th><th>answered in time</th><th>median</th><th>breaches</th><th>promises kept</th></tr>
{body}
</table>
<p class="goal">Made by Heard. Times count the way each standard counts them (working hours
or around the clock).</p>
</body></html>
"""


def write_html(path: Path, groups: list[Summary], since: datetime, until: datetime,
               zone: tzinfo, user: str = "", labels: dict[str, str] | None = None) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(groups, since, until, zone, user, labels), encoding="utf-8")
    tmp.replace(path)
