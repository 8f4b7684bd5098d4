#!/usr/bin/env python3
"""Draws the side-by-side chart of BENCHMARKS.md from a peers CSV.

Usage: python3 scripts/peers_chart.py docs/peers.csv docs/peers.svg

The CSV is what `../shared/peers/run --csv FILE` writes. One panel per
workload: a bar per framework, as long as its figure relative to the best
in that panel, labelled with the figure itself. Acteur (the `project` rows)
is drawn in its own colour. Standard library only, so that anyone can
regenerate the chart.
"""

import csv
import sys
from xml.sax.saxutils import escape

# The actor libraries, in the order they are drawn; the no-framework
# baselines are in BENCHMARKS.md's tables, not in the chart.
FRAMEWORKS = [
    ("project", "Acteur (this crate)"),
    ("actix", "actix"),
    ("ractor", "ractor"),
    ("kameo", "kameo"),
    ("kameo-unbounded", "kameo (unbounded)"),
    ("xtra", "xtra"),
    ("acteur", "acteur 0.12"),
]

# (case, CSV column, title, unit, higher is better)
PANELS = [
    ("tell_one", "throughput_per_s", "tell_one: fire-and-forget to one actor", "msg/s", True),
    ("ask_one", "throughput_per_s", "ask_one: sequential request/response", "req/s", True),
    ("tell_many_ids", "throughput_per_s", "tell_many_ids: round robin over 10,000 actors", "msg/s", True),
    ("spawn_many", "throughput_per_s", "spawn_many: 100,000 activations", "activations/s", True),
    ("ask_concurrent", "throughput_per_s", "ask_concurrent: 64 clients, 64 actors", "req/s", True),
    ("ping_pong", "throughput_per_s", "ping_pong: actor A -> B -> A", "round trips/s", True),
    ("idle_memory", "heap_growth_b_per_actor", "idle_memory: heap per idle actor, 1,000,000 alive", "bytes (lower is better)", False),
]

WIDTH = 760
LABEL_WIDTH = 150
BAR_WIDTH = 440
ROW = 18
PANEL_GAP = 16
TITLE = 22


def figure(text):
    """A figure as the tables print it: 1.23 M, 456.7 k, 789."""
    value = float(text)
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e4:
        return f"{value / 1e3:.0f} k"
    return f"{value:.0f}"


def read(path):
    rows = {}
    with open(path, newline="") as file:
        for row in csv.DictReader(file):
            if row.get("status") == "ok":
                rows[(row["framework"], row["case"])] = row
    return rows


def panel(rows, case, column, title, unit, higher_is_better, top):
    values = []
    for key, name in FRAMEWORKS:
        row = rows.get((key, case))
        text = row.get(column, "") if row else ""
        values.append((key, name, float(text) if text else None))
    measured = [value for _, _, value in values if value is not None]
    if not measured:
        return "", top
    longest = max(measured)
    parts = [
        f'<text x="8" y="{top + 15}" class="title">{escape(title)}'
        f' <tspan class="unit">({escape(unit)})</tspan></text>'
    ]
    y = top + TITLE
    best = max(measured) if higher_is_better else min(measured)
    for key, name, value in values:
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" class="name">{escape(name)}</text>')
        if value is None:
            parts.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + 13}" class="na">not measured</text>')
        else:
            length = max(1.0, BAR_WIDTH * value / longest)
            colour = "#d9480f" if key == "project" else "#868e96"
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{length:.1f}" height="{ROW - 5}" fill="{colour}"/>'
            )
            mark = " (best)" if value == best else ""
            parts.append(
                f'<text x="{LABEL_WIDTH + length + 5:.1f}" y="{y + 13}" class="value">{figure(value)}{mark}</text>'
            )
        y += ROW
    return "\n".join(parts), y + PANEL_GAP


def write_svg(path, parts, height, extra_style=""):
    """Writes the panels `parts` as one SVG document `height` pixels high,
    in the style both charts share, plus `extra_style` (CSS rules)."""
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">
<style>
  text {{ font-family: sans-serif; font-size: 12px; fill: #212529; }}
  .title {{ font-weight: bold; font-size: 13px; }}
  .unit {{ font-weight: normal; fill: #495057; }}
  .name {{ text-anchor: end; }}
  {extra_style}
</style>
<rect width="100%" height="100%" fill="white"/>
{chr(10).join(parts)}
</svg>
"""
    with open(path, "w") as file:
        file.write(svg)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rows = read(sys.argv[1])
    parts, top = [], 8
    for case, column, title, unit, higher in PANELS:
        drawn, top = panel(rows, case, column, title, unit, higher, top)
        parts.append(drawn)
    write_svg(sys.argv[2], parts, top, ".na { fill: #868e96; font-style: italic; }")

if __name__ == "__main__":
    main()
