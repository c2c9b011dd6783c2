"""Figures of a sweep (accuracy against virtual time, deadlines, contributor heatmaps, accuracy
against heterogeneity, staleness of asynchronous runs) and of one run (fedgrid.plot_run),
colour-blind-safe, from loaded data.
    fig = fedgrid.plot.accuracy_vs_time(fedgrid.load_sweep("results/het"))"""
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np

from . import style
from .load import Sweep, load
from .style import mean_ci, name, order_key, wrap


class Layout:
    """A sweep's complete runs arranged for figures: the curves (algorithms, or the values of
    an axis that refines the algorithm, e.g. fedavg with 1, 5, 20 local steps) and the panels
    (the other non-seed axes, in the sweep file's order)."""

    def __init__(self, sweep):
        self.sweep = sweep
        idx = sweep.index
        self.index = idx[idx["status"] == "complete"].copy()
        if self.index.empty:
            raise ValueError("%s: no complete run in index.csv" % sweep.path)
        self.index["algorithm"] = self.index["algorithm"].astype(str)
        axes = [a for a in sweep.axes if a not in sweep.seed_axes]
        self.line_axis = next((a for a in axes if self._relation(a) == "refines"), None)
        self.panel_axes = [a for a in axes if self._relation(a) is None]
        self.target = sweep.target_accuracy

    def _relation(self, axis):
        pairs = set(zip(self.index[axis].astype(str), self.index["algorithm"]))
        values, algos = {p[0] for p in pairs}, {p[1] for p in pairs}
        if len(pairs) == len(values) == len(algos):
            return "names"  # e.g. one base scenario per algorithm: says nothing more
        if len(pairs) == len(values) > len(algos):
            return "refines"
        return None

    def line_of(self, row):
        return str(row[self.line_axis]) if self.line_axis else row["algorithm"]

    def lines(self):
        """Curve keys in order (the line axis' sweep order, or the paper's algorithm order)."""
        keys = {self.line_of(r) for _, r in self.index.iterrows()}
        if self.line_axis:
            return [str(c) for c in self.index[self.line_axis].cat.categories if str(c) in keys]
        return sorted(keys, key=order_key)

    def panels(self):
        """[(panel key, {line: [index rows]})], panels in the sweep file's order."""
        out = {}
        for _, r in self.index.iterrows():
            key = tuple(r[a] for a in self.panel_axes)
            out.setdefault(key, {}).setdefault(self.line_of(r), []).append(r)

        def rank(key):
            return tuple(list(self.index[a].cat.categories).index(v)
                         for a, v in zip(self.panel_axes, key))
        return sorted(out.items(), key=lambda kv: rank(kv[0]))

    def title(self, key):
        return ", ".join("%s=%s" % (a, v) for a, v in zip(self.panel_axes, key))

    def run(self, row):
        return self.sweep.run(row["id"])

    def asynchronous(self, rows):
        """True when every run of a curve is asynchronous (fedbuff, fedasync: no rounds, no
        plan.csv or layers.csv)."""
        return all(self.run(r).asynchronous for r in rows)

    def time_limit(self):
        tl = self.index["time_limit"].where(self.index["time_limit"].notna(),
                                            self.index["virtual_time"])
        return float(tl.max())


def accuracy_at(run, grid):
    """Test accuracy at each time of `grid`: the last evaluation of a round ended by then."""
    ev = run.evaluations()
    t, a = ev["t_end"].to_numpy(), ev["test_accuracy"].to_numpy()
    i = np.searchsorted(t, np.asarray(grid) + 1e-9, side="right") - 1
    return np.where(i >= 0, a[np.clip(i, 0, None)] if len(a) else np.nan, np.nan)


def draw_curves(ax, layout, lines, grid, sty, lo_t=0.0):
    """Mean and 95% band per curve (>= 3 seeds) or every run (fewer); returns (min, max) of
    what is shown and {curve: (runs that evaluated, runs)}. Lines carry their curve as gid."""
    keep = grid >= lo_t
    shown, counts = [], {}
    for i, key in enumerate(k for k in sty if k in lines):
        curves = np.array([accuracy_at(layout.run(r), grid) for r in lines[key]])
        n_all = len(curves)
        curves = curves[~np.isnan(curves).all(axis=1)]  # runs that never evaluated: noted
        n = counts[key] = (len(curves), n_all)
        n = n[0]
        s = sty[key]
        kw = dict(marker=s["marker"], markersize=4, color=s["color"], linestyle=s["linestyle"],
                  gid=key)
        if n < style.MIN_SEEDS_FOR_BAND:
            for j, c in enumerate(curves):
                ax.plot(grid[keep], c[keep], linewidth=1.1, markevery=style.marks(c[keep], i),
                        **kw)
                shown += list(c[keep][~np.isnan(c[keep])])
            continue
        # The mean starts once every seed has evaluated (no mean over a changing subset).
        stats = [mean_ci(curves[:, j]) if not np.isnan(curves[:, j]).any() else
                 (np.nan, np.nan) for j in range(len(grid))]
        m = np.array([x[0] for x in stats])[keep]
        ci = np.array([x[1] for x in stats])[keep]
        ax.plot(grid[keep], m, linewidth=1.6, markevery=style.marks(m, i), **kw)
        ax.fill_between(grid[keep], m - ci, m + ci, color=s["color"], linewidth=0,
                        alpha=0.15 if len(lines) <= 4 else 0.07)
        shown += list(m[~np.isnan(m)])
    if layout.target:
        ax.axhline(layout.target, color="0.3", linewidth=0.7, linestyle=(0, (1, 3)))
    ax.set_xlabel("virtual time [s]")
    ax.grid(alpha=0.3)
    return ((min(shown), max(shown)) if shown else (0.0, 1.0)), counts


BAND_NOTE = "bands: Student-t 95% CI of the mean over seeds"
FEW_NOTE = "fewer than 3 seeds: every run shown, no band"


def panel_notes(counts):
    """What a panel's title adds about curves with runs that never evaluated or few seeds."""
    out = []
    for key, (n, n_all) in counts.items():
        if n == n_all and n >= style.MIN_SEEDS_FOR_BAND:
            continue
        text = "%s: %d of %d runs evaluated" % (name(key), n, n_all) if n < n_all else \
            "%s: %d run%s" % (name(key), n, "s" if n != 1 else "")
        if 0 < n < style.MIN_SEEDS_FOR_BAND:
            text += ", each shown"
        out.append(text)
    return out


def curve_handles(sty, counts):
    """Legend entries: one per curve (its style, name and number of seeds)."""
    from matplotlib.lines import Line2D
    out = []
    for key, s in sty.items():
        seeds = sorted({c[key][1] for c in counts if key in c})
        if not seeds:
            continue
        out.append(Line2D([], [], color=s["color"], linestyle=s["linestyle"],
                          marker=s["marker"], markersize=4, label="%s (%s seed%s)" % (
                              name(key), "/".join(map(str, seeds)),
                              "s" if seeds != [1] else "")))
    return out


def legend_below(fig, ax, ncol=None, note="", handles=None):
    """The figure's legend under its axes, outside the data (savefig with bbox_inches='tight'
    keeps it), with `note` as its title."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=ncol or min(len(handles), 3), fontsize=8, frameon=False,
                   title=note or None, title_fontsize=8)


def accuracy_vs_time(sweep, title=""):
    """Test accuracy against virtual time, one curve per algorithm (or variant), one panel per
    setting of the other axes; a single setting gets the whole run and a zoom on its end."""
    layout = Layout(load(sweep) if not isinstance(sweep, Sweep) else sweep)
    panels = layout.panels()
    tmax = layout.time_limit()
    grid = np.linspace(0, tmax, 401)
    sty = style.styles(layout.lines())
    if len(panels) == 1:
        lines = panels[0][1]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
        _, counts = draw_curves(a1, layout, lines, grid, sty)
        (lo, hi), _ = draw_curves(a2, layout, lines, grid, sty, lo_t=0.4 * tmax)
        a2.set_ylim(max(0, lo - 0.3 * (hi - lo)), min(1.0, hi + 0.15 * (hi - lo)) + 1e-3)
        a2.set_xlim(0.4 * tmax, tmax)
        a2.set_title("zoom: t >= %.0f s" % (0.4 * tmax), fontsize=9)
        head = title or layout.title(panels[0][0]) or "test accuracy"
        a1.set_title(wrap("; ".join([head] + panel_notes(counts)), 4.8), fontsize=9)
        a1.set_ylabel("test accuracy")
        a1.set_ylim(0, 1)
        all_counts = [counts]
    else:
        nc = min(len(panels), 3)
        nr = math.ceil(len(panels) / nc)
        fig, axs = plt.subplots(nr, nc, figsize=(4.3 * nc, 3.3 * nr), squeeze=False,
                                sharey=True, layout="constrained")
        all_counts = []
        for ax, (key, lines) in zip(axs.flat, panels):
            counts = draw_curves(ax, layout, lines, grid, sty)[1]
            all_counts.append(counts)
            ax.set_title("\n".join([wrap(layout.title(key), 4.0)] + [
                wrap(n, 4.0, 8) for n in panel_notes(counts)]), fontsize=8.5)
        for ax in axs.flat[len(panels):]:
            ax.axis("off")
        for row in axs:
            row[0].set_ylabel("test accuracy")
        axs[0][0].set_ylim(0, 1)
        if title:
            fig.suptitle(wrap(title, 4.3 * nc, 10), fontsize=10)
    few = any(0 < n < style.MIN_SEEDS_FOR_BAND for c in all_counts for n, _ in c.values())
    notes = [BAND_NOTE] + ([FEW_NOTE] if few else [])
    if layout.target:
        notes.append("dotted line: target %.2f" % layout.target)
    legend_below(fig, None, ncol=min(4, len(sty)), note="; ".join(notes),
                 handles=curve_handles(sty, all_counts))
    return fig


def first_panel(layout):
    return layout.panels()[0]


def deadlines(sweep, title=""):
    """Per-round deadline T_t from plan.csv (mean over seeds) of the first setting; curves
    without deadlines (wait-for-all) show their measured round durations; asynchronous curves
    (no rounds) are left out, and None is returned when no other curve is left."""
    layout = Layout(load(sweep) if not isinstance(sweep, Sweep) else sweep)
    key, lines = first_panel(layout)
    sty = style.styles(layout.lines())
    left_out = [k for k in sty if k in lines and layout.asynchronous(lines[k])]
    keys = [k for k in sty if k in lines and k not in left_out]
    if not keys:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    for i, k in enumerate(keys):
        per_seed, measured = [], False
        for r in lines[k]:
            run = layout.run(r)
            d = run.plan.groupby("round")["deadline"].first() if run.plan is not None else None
            if d is None or d.isna().all():
                measured = True
                d = run.rounds.set_index("round")["duration"]
            per_seed.append(d.to_numpy())
        n = min(len(s) for s in per_seed)
        with warnings.catch_warnings():  # a round no seed has: NaN, no warning
            warnings.simplefilter("ignore", RuntimeWarning)
            m = np.nanmean([s[:n] for s in per_seed], axis=0)
        s = sty[k]
        ax.plot(np.arange(1, n + 1), m, color=s["color"], linestyle=s["linestyle"],
                marker=s["marker"], markevery=style.marks(m, i), markersize=4,
                linewidth=1.6, label=name(k) + (" (measured round time)" if measured else ""))
    ax.set_xlabel("round")
    ax.set_ylabel("deadline T_t [s] (mean over seeds)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    note = ("asynchronous, no rounds (left out): " + ", ".join(name(k) for k in left_out)
            if left_out else "")
    ax.set_title("\n".join(wrap(x, 6.0) for x in (title, layout.title(key), note) if x),
                 fontsize=9)
    legend_below(fig, ax, ncol=2)
    return fig


def contributors(sweep, title=""):
    """Per-stage contributor heatmaps (layers.csv) of the first seed of the first setting and,
    if another one, of the most heterogeneous setting; one column per curve with deadlines
    (asynchronous curves have no layers.csv: left out). None when no curve has deadlines."""
    from .plot_run import heatmap
    layout = Layout(load(sweep) if not isinstance(sweep, Sweep) else sweep)
    panels = layout.panels()
    chosen = [panels[0]]
    het = max(panels, key=lambda p: np.nanmean([r["heterogeneity"] for rs in p[1].values()
                                                for r in rs]))
    if het[0] != chosen[0][0]:
        chosen.append(het)
    shown = [k for k in layout.lines() if k in chosen[0][1] and not all(
        layout.run(r).asynchronous or layout.run(r).plan is None or
        layout.run(r).layers is None or layout.run(r).plan["deadline"].isna().all()
        for r in chosen[0][1][k][:1])]
    if not shown:
        return None
    fig, axs = plt.subplots(len(chosen), len(shown), figsize=(3.5 * len(shown) + 0.8,
                                                               2.9 * len(chosen)),
                            squeeze=False, layout="constrained")
    vmax = int(max(layout.run(sorted(lines[k], key=lambda r: r["id"])[0]).rounds[
        "selected"].max() for _, lines in chosen for k in shown if k in lines))
    im = None
    for row, (key, lines) in zip(axs, chosen):
        for ax, k in zip(row, shown):
            if k not in lines:
                ax.axis("off")
                continue
            r = sorted(lines[k], key=lambda r: r["id"])[0]
            im = heatmap(ax, fig, layout.run(r), wrap("%s: %s" % (name(k), r["id"]), 3.6, 8),
                         colorbar=False, vmax=vmax)
    fig.colorbar(im, ax=axs, label="contributing clients", shrink=0.9)
    if title:
        fig.suptitle(wrap(title, 3.9 * len(shown), 9), fontsize=9)
    return fig


def staleness_bins(run, edges):
    """Mean staleness of the updates a run applied in each time bin [edges[i], edges[i+1]):
    rounds.csv mean_staleness weighted by updates, over the server updates whose t_end falls in
    the bin (the last bin also takes t_end = edges[-1]); NaN where none."""
    r = run.rounds
    t, w = r["t_end"].to_numpy(float), r["updates"].to_numpy(float)
    s = r["mean_staleness"].to_numpy(float)
    ok = np.isfinite(s) & (w > 0)
    b = np.clip(np.searchsorted(edges, t[ok], side="right") - 1, 0, len(edges) - 2)
    num = np.bincount(b, weights=(w * s)[ok], minlength=len(edges) - 1)
    den = np.bincount(b, weights=w[ok], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def staleness(sweep, title=""):
    """Mean staleness (model versions) of the updates applied against virtual time, for the
    asynchronous curves (fedbuff, fedasync): per run, the updates-weighted mean of rounds.csv
    mean_staleness in time bins; per curve, the mean over the seeds with an update in the bin
    (and a Student-t 95% band with >= 3 seeds); one panel per setting. None when the sweep has no complete asynchronous run."""
    from matplotlib.lines import Line2D
    layout = Layout(load(sweep) if not isinstance(sweep, Sweep) else sweep)
    panels = [(key, {k: rs for k, rs in lines.items() if layout.asynchronous(rs)})
              for key, lines in layout.panels()]
    panels = [p for p in panels if p[1]]
    if not panels:
        return None
    runs = [layout.run(r) for _, lines in panels for rs in lines.values() for r in rs]
    tmax = max(float(run.rounds["t_end"].max()) for run in runs)
    fewest = min(len(run.rounds) for run in runs)
    nbins = int(np.clip(fewest // 3, 4, 40))
    edges = np.linspace(0.0, tmax, nbins + 1)
    mid = (edges[:-1] + edges[1:]) / 2
    sty = style.styles(layout.lines())
    nc = min(len(panels), 3)
    nr = math.ceil(len(panels) / nc)
    fig, axs = plt.subplots(nr, nc, figsize=(max(5.2, 4.3 * nc), 3.3 * nr), squeeze=False,
                            sharey=True, layout="constrained")
    drawn, band = {}, False
    for ax, (key, lines) in zip(axs.flat, panels):
        for i, k in enumerate(x for x in sty if x in lines):
            per_seed = np.array([staleness_bins(layout.run(r), edges) for r in lines[k]])
            s = sty[k]
            kw = dict(color=s["color"], linestyle=s["linestyle"], marker=s["marker"],
                      markersize=4, gid=k)
            if len(per_seed) < style.MIN_SEEDS_FOR_BAND:
                for c in per_seed:
                    ax.plot(mid, c, linewidth=1.1, markevery=style.marks(c, i), **kw)
            else:
                stats = [mean_ci(per_seed[:, j]) for j in range(nbins)]
                m = np.array([x[0] for x in stats])
                ci = np.array([x[1] for x in stats])
                ax.plot(mid, m, linewidth=1.6, markevery=style.marks(m, i), **kw)
                ax.fill_between(mid, m - ci, m + ci, color=s["color"], linewidth=0, alpha=0.15)
                band = True
            drawn.setdefault(k, set()).add(len(per_seed))
        ax.set_title(wrap(layout.title(key) or "asynchronous runs", 4.0), fontsize=8.5)
        ax.set_xlabel("virtual time [s]")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in axs.flat[len(panels):]:
        ax.axis("off")
    for row in axs:
        row[0].set_ylabel("mean staleness [versions]")
    if title:
        fig.suptitle(wrap(title, 4.3 * nc, 10), fontsize=10)
    handles = [Line2D([], [], color=sty[k]["color"], linestyle=sty[k]["linestyle"],
                      marker=sty[k]["marker"], markersize=4, label="%s (%s seed%s)" % (
                          name(k), "/".join(map(str, sorted(drawn[k]))),
                          "s" if drawn[k] != {1} else "")) for k in sty if k in drawn]
    notes = ["staleness of the updates applied in bins of %.3g s (weighted by updates)" %
             (tmax / nbins)]
    if band:
        notes.append(BAND_NOTE)
    if any(min(n) < style.MIN_SEEDS_FOR_BAND for n in drawn.values()):
        notes.append(FEW_NOTE)
    note = "; ".join(notes)
    legend_below(fig, None, ncol=min(4, len(handles)), note=note, handles=handles)
    return fig


from .plot_het import heterogeneity  # noqa: E402,F401 (uses Layout and legend_below above)
