"""scripts/plot: figures of a sweep folder or of one run folder, as PNG and SVG.

usage: scripts/plot DIR [-o FIGDIR] [--formats png,svg] [--dpi 100] [--title TEXT]
                   [--prefix NAME-] [--small]

DIR is a `fedgrid sweep` folder (has sweep.json) or a `fedgrid run` folder (has rounds.csv).
Writes to FIGDIR (default DIR/figures). A sweep gives:
  accuracy_vs_time   test accuracy against virtual time, one curve per algorithm (or per value
                     of an axis that refines it): mean over seeds and a Student-t 95% band, or
                     every run when a curve has fewer than 3 seeds; one panel per setting of the
                     other axes, in the sweep file's order
  deadlines          per-round deadline T_t from plan.csv (curves without deadlines: their
                     measured round durations; asynchronous curves, which have no rounds,
                     are left out)
  contributors       per-stage contributor heatmap over rounds (layers.csv; asynchronous
                     curves left out)
  heterogeneity      time to the target accuracy and accuracy at the time limit against the
                     heterogeneity level (CV of client speeds; only when an axis varies it)
  staleness          only with asynchronous runs (fedbuff, fedasync): mean staleness of the
                     updates applied, in model versions, against virtual time (time bins,
                     mean over seeds)
  table.md           aggregate.csv as a Markdown table (mean ± 95% CI over seeds)
A run gives accuracy_vs_time (accuracy and loss), participation (client states per round,
round duration against the deadline; asynchronous runs: jobs and time per server update),
contributors (round-based runs) and staleness (asynchronous runs: per update, and a
histogram over jobs).
Colours: the Okabe-Ito colour-blind-safe palette, with a line style and marker per curve.
"""
import argparse
import os
import sys


def save(fig, figdir, name, formats, dpi, small):
    import matplotlib.pyplot as plt
    for ext in formats:
        path = os.path.join(figdir, name + "." + ext)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        if small and ext == "png":
            optimise_png(path)
    plt.close(fig)
    print("wrote %s/%s.{%s}" % (figdir, name, ",".join(formats)))


def optimise_png(path):
    """Lossless: RGB instead of RGBA and maximal zlib compression (no palette reduction, so no
    two colours of the figure are merged)."""
    from PIL import Image  # python3-pil, a dependency of python3-matplotlib
    with Image.open(path) as img:
        rgb = img.convert("RGB")
    rgb.save(path, optimize=True, compress_level=9)


def plot_sweep(sweep, figdir, formats, dpi, title, prefix, small):
    from . import plot, tables
    for name, make in (("accuracy_vs_time", plot.accuracy_vs_time),
                       ("deadlines", plot.deadlines), ("contributors", plot.contributors),
                       ("heterogeneity", plot.heterogeneity), ("staleness", plot.staleness)):
        fig = make(sweep, title=title)
        if fig is not None:
            save(fig, figdir, prefix + name, formats, dpi, small)
    path = os.path.join(figdir, prefix + "table.md")
    with open(path, "w") as f:
        f.write(tables.markdown(sweep))
    print("wrote %s" % path)


def plot_one_run(run, figdir, formats, dpi, title, prefix, small):
    from . import plot_run
    for name, make in (("accuracy_vs_time", plot_run.accuracy_vs_time),
                       ("participation", plot_run.participation),
                       ("contributors", plot_run.contributors),
                       ("staleness", plot_run.staleness)):
        fig = make(run, title=title)
        if fig is not None:
            save(fig, figdir, prefix + name, formats, dpi, small)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="scripts/plot", description=__doc__.split("\n")[0],
                                 epilog=__doc__.split("\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="a sweep folder (sweep.json) or a run folder (rounds.csv)")
    ap.add_argument("-o", dest="figdir", default=None, help="output folder (default DIR/figures)")
    ap.add_argument("--formats", default="png,svg", help="comma-separated (default png,svg)")
    ap.add_argument("--dpi", type=int, default=100)
    ap.add_argument("--title", default="")
    ap.add_argument("--prefix", default="", help="prepended to every output file name")
    ap.add_argument("--small", action="store_true",
                    help="smaller PNGs, losslessly (RGB, maximal compression)")
    a = ap.parse_args(argv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import pandas  # noqa: F401 (the loaders need it)
    except ImportError as e:
        sys.exit("scripts/plot needs matplotlib and pandas (%s): apt-get install -y "
                 "python3-matplotlib python3-pandas" % e)
    from .load import FedgridFormatError, Sweep, load
    try:
        data = load(a.dir)
    except (FileNotFoundError, FedgridFormatError) as e:
        sys.exit("scripts/plot: %s (expected a folder written by fedgrid sweep or fedgrid run)"
                 % e)
    figdir = a.figdir or os.path.join(a.dir, "figures")
    os.makedirs(figdir, exist_ok=True)
    formats = [f for f in a.formats.split(",") if f]
    try:
        if isinstance(data, Sweep):
            plot_sweep(data, figdir, formats, a.dpi, a.title, a.prefix, a.small)
        else:
            plot_one_run(data, figdir, formats, a.dpi, a.title, a.prefix, a.small)
    except (ValueError, FedgridFormatError) as e:
        sys.exit("scripts/plot: %s" % e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
