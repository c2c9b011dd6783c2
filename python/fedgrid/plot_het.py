"""The heterogeneity figure of a sweep: time to the target accuracy and accuracy at the time
limit against the realised CV of client speeds, along the axis that varies the platform."""
import warnings

import matplotlib.pyplot as plt
import numpy as np

from . import style
from .load import Sweep, load
from .plot import Layout, legend_below
from .style import name, wrap


def heterogeneity(sweep, title=""):
    """Time to the target accuracy and accuracy at the time limit against the heterogeneity
    level (CV of client speeds, mean over seeds) along the axis that varies it; one row per
    setting of the other axes. None when no axis varies the heterogeneity."""
    layout = Layout(load(sweep) if not isinstance(sweep, Sweep) else sweep)
    agg = layout.sweep.aggregate
    agg = agg[agg["runs"] > 0].copy()
    het = [a for a in layout.panel_axes if agg.groupby(a, observed=True)[
        "heterogeneity_mean"].mean().nunique() > 1]
    if not het or agg["heterogeneity_mean"].nunique() < 2:
        return None
    het_axis, others = het[0], [a for a in layout.panel_axes if a != het[0]]
    agg["line"] = agg[layout.line_axis].astype(str) if layout.line_axis else \
        agg["algorithm"].astype(str)
    sty = style.styles(layout.lines())
    groups = list(agg.groupby(others, observed=True, sort=True)) if others else [((), agg)]
    fig, axs = plt.subplots(len(groups), 2, figsize=(10, 3.7 * len(groups)), squeeze=False,
                            layout="constrained")
    for (a1, a2), (key, g) in zip(axs, groups):
        draw_heterogeneity(a1, a2, g, het_axis, sty, layout.target)
        key = key if isinstance(key, tuple) else (key,)
        if others:
            a1.set_title(wrap(", ".join("%s=%s" % kv for kv in zip(others, key)) + ": " +
                              a1.get_title(), 4.8), fontsize=9)
    if title:
        fig.suptitle(wrap(title, 10, 10), fontsize=10)
    legend_below(fig, axs[0][1], ncol=min(4, len(sty)), note="error bars: Student-t 95% CI "
                 "over seeds; x: target not reached by every seed (k/n reached it)")
    return fig


def draw_heterogeneity(a1, a2, groups, het_axis, sty, target):
    top = float(groups["virtual_time_mean"].max())
    for k, key in enumerate(x for x in sty if x in set(groups["line"])):
        gs = groups[groups["line"] == key].sort_values("heterogeneity_mean")
        s = sty[key]
        x = gs["heterogeneity_mean"].to_numpy()
        full = (gs["reached"] == gs["runs"]).to_numpy()
        y = np.where(full, gs["time_to_target_mean"], np.nan)
        e = np.where(full, gs["time_to_target_ci95"].fillna(0), 0)
        kw = dict(color=s["color"], linestyle=s["linestyle"], marker=s["marker"], capsize=3,
                  markersize=5, label=name(key))
        with warnings.catch_warnings():  # NaN (target missed) leaves a gap in the line
            warnings.simplefilter("ignore", UserWarning)
            a1.errorbar(x, y, yerr=e, **kw)
        for xi, (_, g), f in zip(x, gs.iterrows(), full):
            if not f:  # one height per curve so that the marks do not overlap
                y_mark = top * (1.0 - 0.08 * k)
                a1.plot([xi], [y_mark], marker="x", color=s["color"], linestyle="none")
                a1.annotate("%d/%d" % (g["reached"], g["runs"]), (xi, y_mark), fontsize=7,
                            color=s["color"], textcoords="offset points", xytext=(4, -3))
        a2.errorbar(x, gs["test_accuracy_at_limit_mean"],
                    yerr=gs["test_accuracy_at_limit_ci95"].fillna(0), **kw)
    a1.set_ylim(0, top * 1.08)
    a1.set_ylabel(wrap("time to %.0f%% test accuracy [s]" % (100 * (target or 0)), 3.0))
    a1.set_title("time to target", fontsize=9, pad=4)
    a2.set_ylim(0, 1)
    a2.set_ylabel("test accuracy at the time limit")
    a2.set_title("accuracy at equal virtual time", fontsize=9, pad=4)
    labels = groups.groupby(het_axis, observed=True)["heterogeneity_mean"].mean().sort_values()
    for ax in (a1, a2):
        ax.set_xlabel("heterogeneity: CV of client speeds (mean over seeds)")
        ax.grid(alpha=0.3)
        top_axis = ax.secondary_xaxis("top")  # the axis' labels at their CV, on top
        top_axis.set_xticks(list(labels.to_numpy()), [str(v) for v in labels.index])
        top_axis.tick_params(labelsize=7, labelrotation=50, colors="0.35")
        for t in top_axis.get_xticklabels():
            t.set_horizontalalignment("left")
