#!/usr/bin/env python3
"""Draws the scaling chart of BENCHMARKS.md from the scaling bench's CSV.

Usage: python3 scripts/scaling_chart.py docs/scaling.csv docs/scaling.svg

The CSV is what `ACTEUR_SCALING_CSV=FILE cargo bench --bench scaling`
writes. One panel per figure (tell_many_ids and spawn_many throughput,
spawn_many bytes per idle actor): a bar per size, as long as its figure
relative to the largest in the panel, labelled with the figure and, for
throughput, its ratio to the smallest size. A dashed line marks 0.7x the
smallest size's throughput, the issue's floor. Standard library only.
"""

import csv
import sys
from xml.sax.saxutils import escape

# The layout and number format of the peers chart, so both look alike.
from peers_chart import BAR_WIDTH, LABEL_WIDTH, PANEL_GAP, ROW, TITLE, WIDTH
from peers_chart import figure as peers_figure
from peers_chart import write_svg

# (workload, CSV column, title, unit, draw the 0.7x floor)
PANELS = [
    ("tell_many_ids", "rate_per_s", "tell_many_ids: round robin over N actors", "msg/s", True),
    ("spawn_many", "rate_per_s", "spawn_many: N activations", "activations/s", True),
    ("spawn_many", "bytes_per_actor", "spawn_many: heap per idle actor, N alive", "bytes", False),
]

def size(value):
    """An actor count: 1,000,000."""
    return f"{int(value):,} actors"


def panel(rows, workload, column, title, unit, floor, top):
    values = [
        (float(row["size"]), float(row[column]))
        for row in rows
        if row["workload"] == workload and row.get(column)
    ]
    if not values:
        return "", top
    values.sort()
    longest = max(value for _, value in values)
    smallest = values[0][1]
    parts = [
        f'<text x="8" y="{top + 15}" class="title">{escape(title)}'
        f' <tspan class="unit">({escape(unit)})</tspan></text>'
    ]
    y = top + TITLE
    for count, value in values:
        length = max(1.0, BAR_WIDTH * value / longest)
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" class="name">{size(count)}</text>')
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{length:.1f}" height="{ROW - 5}" fill="#d9480f"/>'
        )
        label = peers_figure(value)
        if floor:
            label += f" ({value / smallest:.2f}x)"
        parts.append(f'<text x="{LABEL_WIDTH + length + 5:.1f}" y="{y + 13}" class="value">{label}</text>')
        y += ROW
    if floor:
        x = LABEL_WIDTH + BAR_WIDTH * 0.7 * smallest / longest
        parts.append(
            f'<line x1="{x:.1f}" y1="{top + TITLE}" x2="{x:.1f}" y2="{y}" class="floor"/>'
            f'<text x="{x + 3:.1f}" y="{y + 11}" class="note">0.7x the smallest</text>'
        )
        y += 12
    return "\n".join(parts), y + PANEL_GAP


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], newline="") as file:
        rows = list(csv.DictReader(file))
    parts, top = [], 8
    for workload, column, title, unit, floor in PANELS:
        drawn, top = panel(rows, workload, column, title, unit, floor, top)
        parts.append(drawn)
    write_svg(
        sys.argv[2],
        parts,
        top,
        ".note { font-size: 10px; fill: #495057; } .floor { stroke: #212529; stroke-dasharray: 4 3; }",
    )

if __name__ == "__main__":
    main()
