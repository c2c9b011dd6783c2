"""Colour-blind-safe styles shared by every FedGrid figure: the Okabe-Ito palette, and a line
style and marker per curve so that curves differ in more than colour (and in grey scale)."""
import textwrap

import numpy as np

OKABE_ITO = {"vermillion": "#D55E00", "blue": "#0072B2", "green": "#009E73", "black": "#000000",
             "orange": "#E69F00", "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442"}
# Curves take these in order; yellow (too light on white for lines) gives way to a mid grey;
# past 8 curves, colours repeat with other line styles.
PALETTE = [OKABE_ITO[c] for c in ("vermillion", "blue", "green", "black", "orange", "purple",
                                  "sky")] + ["#999999"]
LINESTYLES = ["-", "--", "-.", ":"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]

NAMES = {"adel-fl": "ADEL-FL", "salf": "SALF", "fedavg-deadline": "FedAvg (deadline, drop)",
         "fedavg": "Wait-Stragglers (FedAvg, wait all)", "fedprox": "FedProx",
         "fednova": "FedNova", "fedbuff": "FedBuff (async)", "fedasync": "FedAsync (async)"}
ORDER = ["adel-fl", "salf", "fedavg-deadline", "fedavg", "fedprox", "fednova", "fedbuff",
         "fedasync"]
# The paper's algorithms, and the asynchronous ones, keep one style in every figure: (palette
# index, line style, marker).
FIXED = {"adel-fl": (0, "-", "o"), "salf": (1, "--", "s"), "fedavg-deadline": (2, "-.", "^"),
         "fedavg": (3, ":", "D"), "fedbuff": (4, "-", "v"), "fedasync": (5, "--", "P")}
ASYNC = ("fedbuff", "fedasync")  # algorithms without rounds (no plan.csv, layers.csv)

# Client states (clients.csv status) in participation plots: colour and hatch.
STATUS_STYLE = {"full": (OKABE_ITO["green"], ""), "partial": (OKABE_ITO["sky"], "//"),
                "dropped": (OKABE_ITO["vermillion"], "xx"), "failed": (OKABE_ITO["black"], ".."),
                "offline": ("#999999", "\\\\")}


def name(key):
    return NAMES.get(key, key)


def order_key(key):
    return (ORDER.index(key) if key in ORDER else len(ORDER), str(key))


def styles(keys):
    """{key: dict(color, linestyle, marker)} in the order of `keys`, a distinct (colour, line
    style) pair per key: the paper's algorithms their fixed style, other keys the next unused
    colours (line styles cycling at another period, so pairs stay distinct up to 32 curves)."""
    out, used = {}, set()
    for k in keys:
        if k in FIXED:
            c, ls, m = FIXED[k]
            out[k] = dict(color=PALETTE[c], linestyle=ls, marker=m)
            used.add(c)
    free = [i for i in range(len(PALETTE)) if i not in used] or list(range(len(PALETTE)))
    i = 0
    for k in keys:
        if k in out:
            continue
        c = free[i % len(free)]
        ls = LINESTYLES[(i + i // len(free) + 1) % len(LINESTYLES)]
        out[k] = dict(color=PALETTE[c], linestyle=ls, marker=MARKERS[(i + 4) % len(MARKERS)])
        i += 1
    return {k: out[k] for k in keys}


def wrap(text, width_inches, fontsize=9):
    """Wraps a title to the width it gets (about 0.55 em per character)."""
    chars = max(20, int(width_inches * 72 / (fontsize * 0.55)))
    return "\n".join(textwrap.wrap(text, chars)) if text else text


# Student t quantiles t_{0.975, df}, df = 1..30 (beyond: 1.96 + 2.4/df is within 0.3%).
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t975(df):
    return T975[df - 1] if df <= 30 else 1.96 + 2.4 / df


def mean_ci(values):
    """Mean and Student-t 95% half-width over the finite values (NaN / 0 where undefined)."""
    v = np.asarray([x for x in values if x == x], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) < 2:
        return float(v.mean()), 0.0
    return float(v.mean()), t975(len(v) - 1) * float(v.std(ddof=1)) / np.sqrt(len(v))


MIN_SEEDS_FOR_BAND = 3  # fewer: every run drawn, no band (a 2-seed t-band is 12.7 sd wide)


def marks(y, i, per_curve=5):
    """markevery indices: `per_curve` markers over the finite points of y, shifted by curve i
    so that curves' markers do not sit on each other."""
    finite = np.flatnonzero(~np.isnan(np.asarray(y, dtype=float)))
    if len(finite) == 0:
        return None
    pos = (np.arange(per_curve) + 0.3 + 0.13 * (i % 5)) / per_curve * len(finite)
    return sorted(set(int(finite[min(int(p), len(finite) - 1)]) for p in pos))
