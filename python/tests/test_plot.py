"""Figures: colour-blind-safe distinct styles, panels in sweep order, fewer than 3 seeds drawn
as individual runs, single-run plots, scripts/plot's command line, lossless --small."""
import os
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

import fedgrid  # noqa: E402
from fedgrid import plot, plot_run, style  # noqa: E402

from conftest import ROOT  # noqa: E402

PLOT = os.path.join(ROOT, "scripts", "plot")


def curves(ax):
    return [l for l in ax.get_lines() if l.get_gid()]


def test_styles_distinct_and_colour_blind_safe():
    keys = ["adel-fl", "salf", "fedavg-deadline", "fedavg"] + ["v%d" % i for i in range(12)]
    st = style.styles(keys)
    assert list(st) == keys
    pairs = {(s["color"], s["linestyle"]) for s in st.values()}
    assert len(pairs) == len(keys)
    assert {s["color"] for s in st.values()} <= set(style.PALETTE)
    assert style.OKABE_ITO["yellow"] not in style.PALETTE
    # the first 8 curves all get different colours; the paper's algorithms keep theirs
    assert len({st[k]["color"] for k in keys[:8]}) == 8
    assert style.styles(["x", "salf"])["salf"] == st["salf"]


def test_panels_in_sweep_order_and_few_seeds_drawn_individually(few_sweep):
    sw = fedgrid.load_sweep(few_sweep)
    fig = plot.accuracy_vs_time(sw)
    axs = [a for a in fig.axes if a.axison]
    assert [a.get_title().split("\n")[0] for a in axs] == [
        "platform=wide", "platform=homogeneous", "platform=two-tier"]
    for ax in axs:
        lines = curves(ax)
        assert len(lines) == 4  # 2 algorithms x 2 seeds, each run its own line
        assert not [c for c in ax.collections if isinstance(c, PolyCollection)]  # no band
        by_alg = {}
        for l in lines:
            by_alg.setdefault((l.get_color(), l.get_linestyle()), []).append(l)
        assert len(by_alg) == 2
        assert "SALF: 2 runs, each shown" in ax.get_title()
    legend = fig.legends[0]
    assert "fewer than 3 seeds" in legend.get_title().get_text()
    assert [t.get_text() for t in legend.get_texts()] == [
        "SALF (2 seeds)", "FedAvg (deadline, drop) (2 seeds)"]
    plt.close(fig)


def test_three_seeds_give_mean_and_band(tiny_sweep):
    sw = fedgrid.load_sweep(tiny_sweep)
    fig = plot.accuracy_vs_time(sw)
    axs = [a for a in fig.axes if a.axison]
    assert [a.get_title() for a in axs] == ["platform=homogeneous", "platform=two-tier"]
    ax = axs[0]
    lines = curves(ax)
    assert len(lines) == 2 and len([c for c in ax.collections
                                    if isinstance(c, PolyCollection)]) == 2
    # the mean curve at the last grid point is the mean over the 3 seeds' last accuracies
    idx = sw.index[(sw.index["platform"] == "homogeneous") &
                   (sw.index["algorithm"] == "salf")]
    want = idx["test_accuracy_at_limit"].mean()
    assert "runs" not in ax.get_title()  # nothing to note: 3 seeds each
    salf = [l for l in lines if l.get_gid() == "salf"][0]
    assert salf.get_ydata()[-1] == pytest.approx(want, abs=1e-12)
    plt.close(fig)


def test_sweep_figures_and_table(tiny_sweep):
    sw = fedgrid.load_sweep(tiny_sweep)
    for make in (plot.deadlines, plot.contributors, plot.heterogeneity):
        fig = make(sw)
        assert fig is not None, make.__name__
        plt.close(fig)
    from fedgrid import tables
    md = tables.markdown(sw).splitlines()
    assert len([l for l in md if l.startswith("| salf |") or
                l.startswith("| fedavg-deadline |")]) == 4


def test_single_run_figures(runs):
    run = fedgrid.load_run(runs["failures"])
    fig = plot_run.participation(run)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"full", "failed", "offline"} <= set(labels)
    hatches = {c.get_hatch() for c in ax.collections}
    assert len(hatches) == len(labels)  # each state its own hatch, not only its colour
    plt.close(fig)
    fig = plot_run.accuracy_vs_time(fedgrid.load_run(runs["timing"]))
    assert "no evaluation" in " ".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def script(*args):
    return subprocess.run(["/usr/bin/python3", PLOT] + list(args), capture_output=True,
                          text=True, timeout=300)


def test_scripts_plot_on_a_run_and_on_nonsense(runs, tmp_path):
    p = script(runs["local"], "-o", str(tmp_path / "figs"), "--formats", "png")
    assert p.returncode == 0, p.stderr
    for name in ("accuracy_vs_time", "participation", "contributors"):
        assert os.path.getsize(tmp_path / "figs" / (name + ".png")) > 5000
    p = script(str(tmp_path))
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "not a FedGrid run folder" in p.stderr


def test_small_png_is_lossless(runs, tmp_path):
    from PIL import Image
    fig = plot_run.participation(fedgrid.load_run(runs["failures"]))
    path = str(tmp_path / "p.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    before = np.asarray(Image.open(path).convert("RGB"))
    from fedgrid.cli import optimise_png
    optimise_png(path)
    after = np.asarray(Image.open(path))
    assert after.shape == before.shape and (after == before).all()
