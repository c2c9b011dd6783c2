"""A sweep's aggregate.csv as Markdown (mean ± 95% CI over seeds), pivoted by its setting axis,
with ADEL-FL's paired differences to the other algorithms (same seeds)."""
import math

import numpy as np

from .plot import Layout, accuracy_at
from .style import mean_ci, name


def pm(g, col, digits):
    m, ci = g[col + "_mean"], g[col + "_ci95"]
    if m != m:
        return "-"
    return ("%.*f" % (digits, m)) + (" ± %.*f" % (digits, ci) if ci == ci else "")


def _groups(layout):
    agg = layout.sweep.aggregate
    return [g for _, g in agg.iterrows()]


def pivot_lines(layout):
    """With one setting axis (e.g. the platform): that axis down, curves across."""
    if len(layout.panel_axes) != 1:
        return []
    axis = layout.panel_axes[0]
    agg = [g for g in _groups(layout) if g["runs"] > 0]
    lines_of = [k for k in layout.lines() if any(layout.line_of(g) == k for g in agg)]
    keys = list(dict.fromkeys(g[axis] for g in agg))
    out = []
    for col, what, digits in (("test_accuracy_at_limit", "test accuracy at the time limit", 4),
                              ("time_to_target", "time to %s test accuracy [s] (k/n seeds "
                               "reached it)" % layout.target, 1)):
        out += ["", "%s (mean ± 95%% CI over seeds):" % what.capitalize(), "",
                "| %s | CV speeds | " % axis + " | ".join(name(a) for a in lines_of) + " |",
                "|---|---|" + "---|" * len(lines_of)]
        for k in keys:
            gs = {layout.line_of(g): g for g in agg if g[axis] == k}
            cv = next(iter(gs.values()))["heterogeneity_mean"]
            cells = []
            for a in lines_of:
                g = gs.get(a)
                cell = pm(g, col, digits) if g is not None else "-"
                if g is not None and col == "time_to_target":
                    cell += " (%d/%d)" % (g["reached"], g["runs"])
                cells.append(cell)
            out.append("| %s | %s | %s |" % (k, "%.2f" % cv if cv == cv else "-",
                                              " | ".join(cells)))
    return out


def paired_lines(layout):
    """ADEL-FL minus each other curve, seed by seed (same seed = same platform draw and data
    split), in test accuracy at 25/50/75/100% of the time limit."""
    out = []
    for key, lines in layout.panels():
        if "adel-fl" not in lines:
            continue
        first = lines["adel-fl"][0]
        limit = first["time_limit"] if first["time_limit"] == first["time_limit"] else \
            first["virtual_time"]
        times = np.array([limit * f for f in (0.25, 0.5, 0.75, 1.0)])
        seed = layout.sweep.seed_axes[0] if layout.sweep.seed_axes else "id"
        acc = {k: {r[seed]: accuracy_at(layout.run(r), times) for r in rs}
               for k, rs in lines.items()}
        for k in [x for x in layout.lines() if x in lines and x != "adel-fl"]:
            cells = []
            for i, t in enumerate(times):
                d = [acc["adel-fl"][s][i] - acc[k][s][i] for s in acc[k] if s in acc["adel-fl"]]
                d = [x for x in d if not math.isnan(x)]
                m, ci = mean_ci(d)
                cells.append("t=%g: %+.4f ± %.4f (%d/%d)" % (t, m, ci, sum(x > 0 for x in d),
                                                             len(d)) if d else "t=%g: -" % t)
            title = layout.title(key)
            out.append("- %sADEL-FL minus %s: %s" % (title + ": " if title else "", name(k),
                                                     "; ".join(cells)))
    head = ["", "Paired differences in test accuracy, ADEL-FL minus the others, same seeds (mean "
            "± 95% CI; (k/n): seeds where ADEL-FL is ahead):"]
    return head + out if out else []


def markdown(sweep):
    """The whole table.md text of a loaded sweep."""
    layout = Layout(sweep)
    axes = [a for a in sweep.axes if a not in sweep.seed_axes]
    head = axes + ["algorithm", "runs", "test acc. at limit", "final test acc.",
                   "time to %s [s] (reached)" % layout.target, "rounds", "virtual time [s]",
                   "CV speeds", "wall per run [s]"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in _groups(layout):
        cells = [str(g[a]) for a in axes] + [
            name(str(g["algorithm"])), str(g["runs"]),
            pm(g, "test_accuracy_at_limit", 4), pm(g, "final_test_accuracy", 4),
            "%s (%d/%d)" % (pm(g, "time_to_target", 1), g["reached"], g["runs"]),
            pm(g, "rounds", 1), pm(g, "virtual_time", 1), pm(g, "heterogeneity", 3),
            pm(g, "wall_seconds", 1)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += pivot_lines(layout)
    lines += paired_lines(layout)
    return "\n".join(lines) + "\n"
