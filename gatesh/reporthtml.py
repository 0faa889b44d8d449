"""The report as one self-contained HTML page: inline CSS and hand-written SVG, no script.

Element ids and classes tests rely on: svg#timeline with g.tl-bucket > rect.tl-allow /
tl-ask / tl-deny; svg#rule-bars with g.rule-row > rect.rule-bar; table#rules with
code.cmd; table#sessions; pre.snippet.  Every text from the log (commands, rule ids,
session keys) goes through visible() and html.escape().
"""

from __future__ import annotations

import time
from html import escape

from .display import visible
from .report import Suggestion, Summary, _iso

__all__ = ["render"]

_COLOURS = {"allow": "#3c9a5f", "ask": "#e0a030", "deny": "#c8403a"}
_ORDER = ("deny", "ask", "allow")   # stacking order, bottom (or left) first
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.totals span{display:inline-block;margin-right:18px;font-weight:600}
.count-allow{color:#3c9a5f}.count-ask{color:#b07800}.count-deny{color:#c8403a}
table{border-collapse:collapse} th,td{padding:3px 10px;text-align:left;vertical-align:top}
th{border-bottom:1px solid #ccc} tr:nth-child(even) td{background:#f6f6f6}
code.cmd{white-space:pre-wrap;word-break:break-all;font-size:12px}
pre.snippet{background:#f4f4f4;padding:8px;border:1px solid #ddd;white-space:pre-wrap}
svg text{font:11px system-ui,sans-serif;fill:#333} .legend span{margin-right:14px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
"""


def _e(text: object) -> str:
    return escape(visible(str(text)), quote=True)


def _label(t: float, bucket: int) -> str:
    return time.strftime("%m-%d %H:%M" if bucket < 86400 else "%Y-%m-%d", time.gmtime(t))


def timeline_svg(s: Summary, width: int = 1100, height: int = 240) -> str:
    """Decisions per bucket, stacked by verdict."""
    left, bottom, top = 40, 30, 10
    n = max(1, len(s.timeline))
    peak = max([sum(row.values()) for _, row in s.timeline] + [1])
    bw = min((width - left - 10) / n, 48.0)
    plot = height - bottom - top
    out = [f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" role="img" aria-label="decisions over time">',
           f'<line x1="{left}" y1="{top + plot}" x2="{width - 10}" y2="{top + plot}" stroke="#999"/>',
           f'<text x="{left - 6}" y="{top + 8}" text-anchor="end">{peak}</text>',
           f'<text x="{left - 6}" y="{top + plot}" text-anchor="end">0</text>']
    step = max(1, -(-90 // max(1, int(bw))))  # a label every 90 px at least
    for i, (t, row) in enumerate(s.timeline):
        x = left + i * bw
        out.append(f'<g class="tl-bucket" data-start="{_iso(t)}">')
        y = float(top + plot)
        for v in _ORDER:
            h = row.get(v, 0) / peak * plot
            if row.get(v, 0):
                y -= h
                out.append(f'<rect class="tl-{v}" x="{x + 1:.1f}" y="{y:.1f}" '
                           f'width="{max(bw - 2, 1):.1f}" height="{h:.1f}" fill="{_COLOURS[v]}">'
                           f'<title>{_label(t, s.bucket)} {v}: {row[v]}</title></rect>')
        out.append("</g>")
        if i % step == 0:
            out.append(f'<text class="tl-tick" x="{x + bw / 2:.1f}" y="{height - 10}" '
                       f'text-anchor="middle">{_label(t, s.bucket)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def rule_bars_svg(s: Summary, width: int = 1100, limit: int = 40) -> str:
    """One horizontal bar per rule (most frequent first), split by verdict."""
    rows = list(s.rules.items())[:limit]
    label_w, row_h = 300, 22
    height = max(1, len(rows)) * row_h + 10
    peak = max([r.total for _, r in rows] + [1])
    scale = (width - label_w - 60) / peak
    out = [f'<svg id="rule-bars" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" role="img" aria-label="decisions per rule">']
    for i, (rid, r) in enumerate(rows):
        y = 5 + i * row_h
        out.append(f'<g class="rule-row" data-rule="{_e(rid)}">')
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_e(rid)}</text>')
        x = float(label_w)
        verdicts = r.verdicts
        for v in _ORDER:
            if verdicts.get(v):
                w = verdicts[v] * scale
                out.append(f'<rect class="rule-bar rule-{v}" x="{x:.1f}" y="{y + 3}" '
                           f'width="{max(w, 1):.1f}" height="{row_h - 6}" fill="{_COLOURS[v]}">'
                           f'<title>{_e(rid)} {v}: {verdicts[v]}</title></rect>')
                x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{r.total}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def _rules_table(s: Summary, per_rule: int = 20) -> str:
    out = ['<table id="rules"><tr><th>rule</th><th>ask</th><th>deny</th><th>allow</th>'
           "<th>commands (count)</th></tr>"]
    for rid, r in s.rules.items():
        v, cmds = r.verdicts, r.commands
        items = "<br>".join(f'<span class="n">{n}&times;</span> <code class="cmd">{_e(c)}</code>'
                            for c, n in cmds[:per_rule])
        if len(cmds) > per_rule:
            items += f"<br>&hellip; {len(cmds) - per_rule} more distinct commands"
        out.append(f'<tr class="rule" data-rule="{_e(rid)}"><td>{_e(rid)}</td><td>{v["ask"]}</td>'
                   f'<td>{v["deny"]}</td><td>{v["allow"]}</td><td>{items}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def _sessions_table(s: Summary) -> str:
    out = ['<table id="sessions"><tr><th>session</th><th>total</th><th>allow</th><th>ask</th>'
           "<th>deny</th><th>first</th><th>last</th></tr>"]
    for key, x in s.sessions.items():
        v = x.verdicts
        out.append(f'<tr><td>{_e(key)}</td><td>{x.total}</td><td>{v["allow"]}</td>'
                   f'<td>{v["ask"]}</td><td>{v["deny"]}</td><td>{_iso(x.first)}</td>'
                   f'<td>{_iso(x.last)}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def _suggestions(sugg: list[Suggestion]) -> str:
    if not sugg:
        return "<p>No rule asked often enough about routine commands to suggest a change.</p>"
    out = ["<p>Suggestions to review; nothing is applied automatically.</p>"]
    for x in sugg:
        out.append(f'<div class="suggestion"><h3>{_e(x.rule)}: asked {x.asked} times</h3><ul>')
        out += [f'<li>{n}&times; <code class="cmd">{_e(c)}</code></li>' for c, n in x.commands]
        out.append(f"</ul><p>To switch it off, in config.toml:</p>"
                   f'<pre class="snippet">{escape(x.config)}</pre>')
        if x.rule_text:
            out.append(f"<p>Or disable it and add this narrower copy as {_e(x.rule_file)}:</p>"
                       f'<pre class="snippet">{escape(x.rule_text)}</pre>')
        out.append("</div>")
    return "\n".join(out)


def render(s: Summary, sugg: list[Suggestion]) -> str:
    """The whole page."""
    v = s.verdicts
    legend = "".join(f'<span><i class="swatch" style="background:{_COLOURS[k]}"></i>{k}</span>'
                     for k in ("allow", "ask", "deny"))
    width = {60: "minute", 300: "5 minutes", 3600: "hour", 86400: "day", 604800: "week"}.get(
        s.bucket, f"{s.bucket // 3600} hours")
    return "\n".join([
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>gatesh report {_iso(s.since)} to {_iso(s.until)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>gatesh report</h1><p>{_iso(s.since)} to {_iso(s.until)}</p>",
        f'<p class="totals" id="totals"><span id="total-decisions">{s.decisions} decisions</span>'
        f'<span class="count-allow">allow {v.get("allow", 0)}</span>'
        f'<span class="count-ask">ask {v.get("ask", 0)}</span>'
        f'<span class="count-deny">deny {v.get("deny", 0)}</span></p>',
        f"<p>outcomes: {_e(', '.join(f'{k} {n}' for k, n in sorted(s.outcomes.items())))}; "
        f"modes: {_e(', '.join(f'{k} {n}' for k, n in sorted(s.modes.items())))}</p>",
        f"<h2>Decisions per {width}</h2>", f'<p class="legend">{legend}</p>', timeline_svg(s),
        "<h2>By rule</h2>", rule_bars_svg(s), _rules_table(s),
        "<h2>By session</h2>", _sessions_table(s),
        "<h2>Suggested user rules</h2>", _suggestions(sugg),
        "</body></html>\n"])
