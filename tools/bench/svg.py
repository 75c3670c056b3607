"""The benchmark suite's plot, as a hand-written SVG: toolgate against each peer, and the scaling lines."""

import math
from xml.sax.saxutils import escape

HIGHER_IS_BETTER = ("/s", "GB/s")


def advantage(row):
    """How many times better toolgate is than the peer (>1: toolgate ahead), or None."""
    t, p = row.get("toolgate"), row.get("peer_value")
    if not t or not p:
        return None
    return t / p if row.get("unit") in HIGHER_IS_BETTER else p / t


def _text(x, y, s, size=12, anchor="start", weight="normal", fill="#222"):
    return ('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
            % (x, y, size, anchor, weight, fill, escape(s)))


def render(result):
    rows = [r for r in result["rows"] if advantage(r)]
    width = 980
    label_w = 500
    bar_x0 = label_w + 10
    bar_w = width - bar_x0 - 30
    lo, hi = math.log10(0.001), math.log10(10000)
    def xpos(v):
        return bar_x0 + (min(max(math.log10(v), lo), hi) - lo) / (hi - lo) * bar_w
    row_h = 22
    top = 70
    h1 = top + row_h * len(rows) + 40
    scaling = result.get("scaling") or {}
    h2 = 330 if scaling else 0
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (width, h1 + h2),
           '<rect width="100%" height="100%" fill="white"/>']
    m = result["machine"]
    out.append(_text(10, 22, "toolgate vs its peers, one run (%s, %s): how many times better toolgate is" % (
        result["mode"], result["date_utc"]), 15, weight="bold"))
    out.append(_text(10, 42, "%d CPUs, load average %s before / %s after. Log scale; right of 1× = toolgate ahead. "
                     "Times: peer / toolgate; rates: toolgate / peer." % (
                         m["cpus"], m["load_average_before"], m["load_average_after"]), 11, fill="#555"))
    for tick in (0.001, 0.01, 0.1, 1, 10, 100, 1000, 10000):
        x = xpos(tick)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%s"/>' % (
            x, top - 8, x, h1 - 30, "#333" if tick == 1 else "#ddd", 1.5 if tick == 1 else 1))
        out.append(_text(x, h1 - 14, "%g×" % tick, 11, "middle", fill="#555"))
    for i, r in enumerate(rows):
        y = top + i * row_h
        a = advantage(r)
        label = "%s — vs %s" % (r["figure"], r["peer"])
        if len(label) > 84:
            label = label[:83] + "…"
        out.append(_text(label_w, y + 12, label, 11, "end"))
        x1, x0 = xpos(a), xpos(1)
        color = "#3a9d5d" if a >= 1 else "#d9822b"
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' % (min(x0, x1), y + 2, abs(x1 - x0),
                                                                                    row_h - 6, color))
        # The figure sits on the far side of the 1× line from the bar, so it never covers a label.
        out.append(_text(x0 + (-4 if a >= 1 else 4), y + 12, ("{:,.0f}×".format(a) if a >= 1000 else "%.3g×" % a), 10, "end" if a >= 1 else "start"))
    if scaling:
        out.extend(_scaling(scaling, h1, width))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _scaling(scaling, y0, width):
    sizes = sorted(int(k) for k in scaling)
    series = [("toolgate", "#3a9d5d"), ("cedar", "#4a6fd1"), ("python", "#d9822b")]
    vals = [scaling[str(n)][s] for n in sizes for s, _ in series if scaling[str(n)].get(s)]
    if not vals:
        return []
    ylo = math.floor(math.log10(min(vals)))
    yhi = math.ceil(math.log10(max(vals)))
    if yhi == ylo:
        yhi += 1
    x0, x1 = 90, width - 200
    top, bottom = y0 + 40, y0 + 290
    xlo, xhi = math.log10(sizes[0]), math.log10(sizes[-1]) if len(sizes) > 1 else math.log10(sizes[0]) + 1
    def px(n):
        return x0 + (math.log10(n) - xlo) / (xhi - xlo) * (x1 - x0)
    def py(v):
        return bottom - (math.log10(v) - ylo) / (yhi - ylo) * (bottom - top)
    out = [_text(10, y0 + 18, "Scaling: decision p50 (µs, log) vs number of grants (log); rules = grants / 10", 14,
                 weight="bold")]
    for e in range(ylo, yhi + 1):
        y = py(10 ** e)
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (x0, y, x1, y))
        out.append(_text(x0 - 6, y + 4, "%g" % 10 ** e, 11, "end", fill="#555"))
    for n in sizes:
        out.append(_text(px(n), bottom + 16, "{:,}".format(n), 11, "middle", fill="#555"))
    for i, (name, color) in enumerate(series):
        pts = [(px(n), py(scaling[str(n)][name])) for n in sizes if scaling[str(n)].get(name)]
        if not pts:
            continue
        out.append('<polyline fill="none" stroke="%s" stroke-width="2.5" points="%s"/>' % (
            color, " ".join("%.1f,%.1f" % p for p in pts)))
        for x, y in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>' % (x, y, color))
        label = {"toolgate": "toolgate (DecideText)", "cedar": "Cedar (wasm, Node)",
                 "python": "Python hook checks"}[name]
        out.append('<rect x="%d" y="%d" width="14" height="4" fill="%s"/>' % (x1 + 20, top + 10 + i * 22, color))
        out.append(_text(x1 + 40, top + 16 + i * 22, label, 12))
    return out
