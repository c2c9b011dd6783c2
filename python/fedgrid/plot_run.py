"""Figures of one run folder: accuracy and loss against virtual time, per-round participation
(client states, round duration against the deadline; asynchronous runs: jobs and time per server
update), per-stage contributors (round-based runs) and staleness (asynchronous runs)."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from . import style
from .load import Run, load
from .style import OKABE_ITO, wrap

SERIES = [  # rounds.csv column, label, colour, line style, marker
    ("test_accuracy", "test", OKABE_ITO["blue"], "-", "o"),
    ("val_accuracy", "validation", OKABE_ITO["vermillion"], "--", "s"),
]
LOSSES = [
    ("train_loss", "train (contributing batches)", OKABE_ITO["green"], "-.", "^"),
    ("test_loss", "test", OKABE_ITO["blue"], "-", "o"),
    ("val_loss", "validation", OKABE_ITO["vermillion"], "--", "s"),
]


def _run(run):
    return run if isinstance(run, Run) else load(run)


def describe(run):
    """One line about the run from summary.json (and a warning if it is not complete)."""
    s = run.summary or {}
    text = "%s: %s, %s %s, %.4g s virtual" % (
        run.name, style.name(s.get("algorithm", "?")), s.get("rounds", len(run.rounds)),
        "server updates" if run.asynchronous else "rounds",
        float(s.get("virtual_time") or run.rounds["t_end"].max()))
    if s.get("final_test_accuracy") is not None:
        text += ", final test accuracy %.4f" % s["final_test_accuracy"]
    if run.diverged:
        text += " (DIVERGED after %s %s: %s not finite)" % (
            "update" if run.asynchronous else "round", s.get("diverged_round", "?"),
            s.get("diverged_in", "?"))
    elif not run.complete:
        text += " (INCOMPLETE: no summary.json or stopped)"
    return text


def _series(ax, r, specs, x="t_end"):
    drawn = 0
    for col, label, color, ls, mk in specs:
        if col not in r or not np.isfinite(r[col]).any():
            continue
        d = r[np.isfinite(r[col])]  # NaN: not evaluated; NaN/inf of a diverged run: not drawn
        ax.plot(d[x], d[col], color=color, linestyle=ls, marker=mk, markersize=3,
                markevery=max(1, len(d) // 12), label=label, linewidth=1.4)
        drawn += 1
    return drawn


def accuracy_vs_time(run, title=""):
    """Test (and validation) accuracy and the losses against virtual time."""
    run = _run(run)
    r = run.rounds
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    if _series(a1, r, SERIES) == 0:
        a1.text(0.5, 0.5, "no evaluation in rounds.csv\n(timing-only run?)", ha="center",
                va="center", transform=a1.transAxes, fontsize=9, color="0.3")
    a1.set_ylim(0, 1)
    a1.set_ylabel("accuracy")
    a1.set_title("accuracy (evaluated rounds)", fontsize=9)
    if _series(a2, r, LOSSES) == 0:
        a2.text(0.5, 0.5, "no loss recorded", ha="center", va="center",
                transform=a2.transAxes, fontsize=9, color="0.3")
    a2.set_ylabel("cross-entropy [nats]")
    a2.set_title("loss", fontsize=9)
    for ax in (a1, a2):
        ax.set_xlabel("virtual time [s]")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
    fig.suptitle(wrap(title or describe(run), 10, 9), fontsize=9)
    return fig


def participation(run, title=""):
    """Clients per round by state (stacked, with hatches) and round duration against deadline;
    for an asynchronous run, jobs per server update and the time between updates."""
    run = _run(run)
    if run.asynchronous:
        return async_participation(run, title)
    r = run.rounds
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 5.6), sharex=True, layout="constrained")
    x = r["round"].to_numpy()
    bottom = np.zeros(len(r))
    for status, (color, hatch) in style.STATUS_STYLE.items():
        if status not in r or not r[status].any():
            continue
        v = r[status].to_numpy(dtype=float)
        a1.fill_between(x, bottom, bottom + v, step="mid", facecolor=color, hatch=hatch,
                        edgecolor="white", linewidth=0, alpha=0.85, label=status)
        bottom = bottom + v
    a1.set_ylabel("clients")
    a1.set_ylim(0, max(1, float(r["selected"].max())) * 1.05)
    a1.set_title("clients per round by state (clients.csv status)", fontsize=9)
    a1.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    a2.plot(x, r["duration"], color=OKABE_ITO["blue"], linestyle="-", marker="o", markersize=3,
            markevery=max(1, len(r) // 15), label="round duration", linewidth=1.3)
    if r["deadline"].notna().any():
        a2.plot(x, r["deadline"], color=OKABE_ITO["vermillion"], linestyle="--",
                label="deadline T_t", linewidth=1.3)
    a2.set_xlabel("round")
    a2.set_ylabel("virtual time [s]")
    a2.set_ylim(bottom=0)
    a2.set_title("round duration", fontsize=9)
    a2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    fig.suptitle(wrap(title or describe(run), 8, 9), fontsize=9)
    return fig


def heatmap(ax, fig, run, title, colorbar=True, vmax=None):
    """Contributors per stage and round (layers.csv) as an image (with its colour bar); returns
    the image."""
    ls = run.layers
    rounds, stages = int(ls["round"].max()), int(ls["stage"].max()) + 1
    z = np.full((stages, rounds), np.nan)
    z[ls["stage"].to_numpy(), ls["round"].to_numpy() - 1] = ls["contributors"].to_numpy()
    clients = vmax or int(run.rounds["selected"].max())
    im = ax.imshow(z, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=clients,
                   extent=(0.5, rounds + 0.5, -0.5, stages - 0.5), interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("round")
    ax.set_ylabel("stage (0 = input side)")
    for axis in (ax.xaxis, ax.yaxis):  # rounds and stages are whole numbers
        axis.set_major_locator(MaxNLocator(integer=True))
    if colorbar:
        fig.colorbar(im, ax=ax, label="contributing clients")
    return im


def contributors(run, title=""):
    run = _run(run)
    if run.layers is None or run.layers.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
    heatmap(ax, fig, run, wrap(title or describe(run), 5.5, 8))
    return fig


JOBS = [  # rounds.csv column of asynchronous runs, label, colour, line style
    ("started", "started", OKABE_ITO["green"], "-"),
    ("failed", "failed (device went off)", OKABE_ITO["black"], ":"),
    ("offline", "offline when drawn", "#999999", "--"),
]


def async_participation(run, title=""):
    """Jobs started, failed and found offline per server update, and the virtual time between
    server updates (rounds.csv of an asynchronous run, against its version)."""
    r = run.rounds
    x = r["version"].to_numpy()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 5.6), sharex=True, layout="constrained")
    for col, label, color, ls in JOBS:
        if col in r and (col == "started" or r[col].any()):
            a1.step(x, r[col].to_numpy(dtype=float), where="mid", color=color, linestyle=ls,
                    label=label, linewidth=1.3)
    a1.set_ylabel("jobs")
    a1.set_ylim(bottom=0)
    a1.set_title("client jobs since the previous server update (rounds.csv)", fontsize=9)
    a1.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    a2.plot(x, r["duration"], color=OKABE_ITO["blue"], linestyle="-", marker="o", markersize=3,
            markevery=max(1, len(r) // 15), label="time between updates", linewidth=1.3)
    a2.set_xlabel("server update (model version)")
    a2.set_ylabel("virtual time [s]")
    a2.set_ylim(bottom=0)
    a2.set_title("time between server updates", fontsize=9)
    a2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(wrap(title or describe(run), 8, 9), fontsize=9)
    return fig


def staleness(run, title=""):
    """Staleness of an asynchronous run: mean and largest staleness of the updates applied
    against virtual time (rounds.csv), and the staleness of every delivered job (clients.csv)
    as a histogram. None for a round-based run."""
    run = _run(run)
    if not run.asynchronous:
        return None
    r = run.rounds
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    a1.plot(r["t_end"], r["mean_staleness"], color=OKABE_ITO["blue"], linestyle="-",
            marker="o", markersize=3, markevery=max(1, len(r) // 12), linewidth=1.4,
            label="mean of the updates applied")
    a1.plot(r["t_end"], r["max_staleness"], color=OKABE_ITO["vermillion"], linestyle="--",
            linewidth=1.1, label="largest")
    a1.set_xlabel("virtual time [s]")
    a1.set_ylabel("staleness [versions]")
    a1.set_ylim(bottom=0)
    a1.set_title("staleness per server update", fontsize=9)
    a1.legend(fontsize=8, loc="best")
    c = run.clients
    tau = c["staleness"].dropna().to_numpy(dtype=float) if c is not None and \
        "staleness" in c else np.array([])
    if len(tau):
        top = int(tau.max())
        a2.hist(tau, bins=np.arange(-0.5, top + 1.5), color=OKABE_ITO["sky"],
                edgecolor=OKABE_ITO["blue"], hatch="//")
        a2.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        a2.text(0.5, 0.5, "no delivered job", ha="center", va="center", transform=a2.transAxes,
                fontsize=9, color="0.3")
    a2.set_xlabel("staleness [versions]")
    a2.set_ylabel("delivered jobs")
    a2.set_title("staleness of the delivered jobs (clients.csv)", fontsize=9)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    fig.suptitle(wrap(title or describe(run), 10, 9), fontsize=9)
    return fig
