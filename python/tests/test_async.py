"""Asynchronous runs (fedbuff, fedasync) and diverged runs in the Python package: loading (types,
units, values against the files), fedgrid.run's exit 3, sweeps with both kinds of runs and
`diverged` statuses, and their figures (staleness; deadlines and contributors leave
asynchronous curves out; single-run plots)."""
import math
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fedgrid  # noqa: E402
from fedgrid import plot, plot_run, schema, style  # noqa: E402
from fedgrid.cli import main as plot_main  # noqa: E402

from conftest import CI  # noqa: E402
from test_load import raw  # noqa: E402

DEADLINE = os.path.join(CI, "synthetic-deadline.yaml")


def test_async_rounds_and_clients_typed_and_consistent(runs):
    run = fedgrid.load_run(runs["async"])
    assert run.asynchronous and run.step == "version" and run.complete and not run.diverged
    assert run.layers is None and run.plan is None
    r, c = run.rounds, run.clients
    for col in schema.columns("rounds.csv", asynchronous=True):
        assert str(r[col.name].dtype) == {"int": "int64", "float": "float64"}[col.kind], col.name
        assert r.attrs["units"][col.name] == col.unit
    assert "round" not in r and r.attrs["units"]["mean_staleness"] == "versions"
    assert list(r["version"]) == [1, 2, 3, 4, 5] and run.summary["rounds"] == 5
    rows = raw(os.path.join(runs["async"], "rounds.csv"))
    for (_, x), y in zip(r.iterrows(), rows):  # every cell: the file's text, typed
        for col in schema.columns("rounds.csv", asynchronous=True):
            if y[col.name] == "":
                assert math.isnan(x[col.name]), (col.name, y["version"])
            else:
                assert x[col.name] == float(y[col.name]), col.name
    assert np.allclose(r["duration"], r["t_end"] - r["t_start"], atol=1e-6)
    assert (r["t_start"].iloc[1:].to_numpy() == r["t_end"].iloc[:-1].to_numpy()).all()
    s = run.summary
    assert (s["concurrency"], s["buffer"]) == (8, 4) and s["jobs"] >= len(c)  # + in flight
    assert (r["updates"] == s["buffer"]).all()
    # clients.csv: one row per job, typed; staleness = version_up - version_down
    assert str(c["job"].dtype) == "int64" and c["job"].is_unique  # rows: in the order jobs end
    assert (c["t_done"].diff().dropna() >= 0).all()
    assert str(c["staleness"].dtype) in ("int64", "Int64")
    assert str(c["t_start"].dtype) == "float64" and "round" not in c
    assert list(c["status"].cat.categories[:5]) == list(schema.CLIENT_STATUS)
    done = c[c["status"] == "full"]
    assert (done["staleness"] == done["version_up"] - done["version_down"]).all()
    assert (done["t_start"] <= done["t_download"]).all()
    assert (done["t_download"] <= done["t_compute"]).all()
    assert (done["t_compute"] <= done["t_done"]).all()
    # each server update's mean and largest staleness are those of the jobs it applied: the
    # updates taken while the model was at the version before it
    for _, u in r.iterrows():
        applied = done[done["version_up"] == u["version"] - 1]
        assert len(applied) == u["updates"], u["version"]
        assert applied["staleness"].mean() == pytest.approx(u["mean_staleness"], abs=1e-9)
        assert applied["staleness"].max() == u["max_staleness"]
    assert r["test_accuracy"].notna().iloc[-1]  # the last update is evaluated


def test_fedasync_with_churn(runs):
    run = fedgrid.load_run(runs["fedasync"])
    r, c = run.rounds, run.clients
    assert run.asynchronous and run.summary["buffer"] == 1 and (r["updates"] == 1).all()
    assert (r["max_staleness"] == r["mean_staleness"]).all()  # one update each
    assert {"full", "failed"} <= set(c["status"].dropna())
    gone = c[c["status"].isin(["failed", "offline"])]
    assert gone["staleness"].isna().all() and gone["version_up"].isna().all()
    assert str(c["version_up"].dtype) == "Int64"  # empty cells: nullable integers
    assert set(c.loc[c["status"] == "failed", "reason"]) <= {"download", "compute", "upload"}
    assert r["failed"].sum() == (c["status"] == "failed").sum()
    assert style.name("fedasync") == "FedAsync (async)" and "server updates" in repr(run)


def test_diverged_run_loads_with_nan(runs):
    run = fedgrid.load_run(runs["diverged"])
    s = run.summary
    assert run.diverged and not run.complete and not run.asynchronous
    assert s["diverged"] is True and s["complete"] is False
    assert s["diverged_in"] in ("train_loss", "parameters", "val_loss", "test_loss")
    assert s["diverged_round"] == s["rounds"] == len(run.rounds) >= 1
    text = open(os.path.join(runs["diverged"], "rounds.csv")).read().splitlines()
    assert "nan" in text[-1].split(",") or "inf" in text[-1]
    last = run.rounds.iloc[-1]
    assert str(run.rounds["train_loss"].dtype) == "float64"
    assert not all(np.isfinite(last[c]) for c in ("train_loss", "val_loss", "test_loss"))
    assert "DIVERGED" in repr(run) and "DIVERGED" in plot_run.describe(run)
    fig = plot_run.accuracy_vs_time(run)  # NaN / inf points are left out, not an error
    plt.close(fig)


def test_run_exit_3(binary, tmp_path, monkeypatch):
    sets = {"training.lr": 1e6, "algorithm.rounds": 8}  # NaN after round 4
    with pytest.warns(fedgrid.DivergedWarning, match="diverged"):
        run = fedgrid.run(DEADLINE, sets, tmp_path / "w", threads=1)
    assert isinstance(run, fedgrid.Run) and run.diverged and not run.complete
    with pytest.raises(fedgrid.FedgridDivergedError) as e:
        fedgrid.run(DEADLINE, sets, tmp_path / "r", threads=1, on_diverged="raise")
    assert e.value.returncode == 3 and e.value.run.diverged
    assert isinstance(e.value, fedgrid.FedgridError) and "smaller learning rate" in e.value.message
    monkeypatch.chdir(tmp_path)  # no out=: the folder fedgrid names in its message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = fedgrid.run(DEADLINE, sets, threads=1, on_diverged="return")
    assert os.path.realpath(run.path) == os.path.realpath(
        tmp_path / "results" / "ci-synthetic-deadline") and run.diverged
    with pytest.raises(ValueError, match="on_diverged"):
        fedgrid.run(DEADLINE, sets, on_diverged="ignore")


def test_mixed_sweep_loads(mixed_sweep):
    sw = fedgrid.load_sweep(mixed_sweep)
    idx = sw.index
    assert "diverged" in list(idx["status"].cat.categories)
    div = idx[idx["status"] == "diverged"]
    assert len(div) == 4 and set(div["training.lr"]) == {"huge"}
    assert div["rounds"].notna().all() and div["final_test_accuracy"].isna().all()
    ok = idx[idx["status"] == "complete"]
    assert set(ok["algorithm"]) == {"fedavg-deadline", "fedbuff"} and len(ok) == 4
    r = sw.rounds
    assert str(r["round"].dtype) == "Int64" and str(r["version"].dtype) == "Int64"
    asy = r["algorithm"] == "fedbuff"
    assert r.loc[asy, "round"].isna().all() and r.loc[asy, "version"].notna().all()
    assert r.loc[~asy, "version"].isna().all() and r.loc[~asy, "round"].notna().all()
    assert r.attrs["units"]["mean_staleness"] == "versions" and r.attrs["units"]["lr"] == ""
    assert [run.asynchronous for _, run in sw.runs()].count(True) == 2
    assert len(sw.runs("diverged")) == 4 and all(run.diverged for _, run in sw.runs("diverged"))


def test_mixed_sweep_figures(mixed_sweep, tmp_path):
    sw = fedgrid.load_sweep(mixed_sweep)
    fig = plot.accuracy_vs_time(sw)
    gids = {l.get_gid() for ax in fig.axes for l in ax.get_lines() if l.get_gid()}
    assert gids == {"fedavg-deadline", "fedbuff"}  # x = t_end for both
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "FedBuff (async) (2 seeds)" in texts
    plt.close(fig)
    fig = plot.deadlines(sw)
    ax = fig.axes[0]
    assert [l.get_label() for l in ax.get_lines()] == ["FedAvg (deadline, drop)"]
    assert "FedBuff (async)" in ax.get_title() and "left out" in ax.get_title()
    plt.close(fig)
    fig = plot.contributors(sw)
    assert [a for a in fig.axes if a.images] and len([a for a in fig.axes if a.images]) == 1
    plt.close(fig)
    fig = plot.staleness(sw)
    ax = fig.axes[0]
    lines = [l for l in ax.get_lines() if l.get_gid()]
    assert {l.get_gid() for l in lines} == {"fedbuff"} and len(lines) == 2  # 2 seeds, each
    assert lines[0].get_color() == style.styles(["fedbuff"])["fedbuff"]["color"]
    # the bins' values are the updates-weighted mean staleness of each run
    run = sw.run(sw.index[(sw.index["algorithm"] == "fedbuff")]["id"].iloc[0])
    r = run.rounds
    y = np.asarray(lines[0].get_ydata(), float)
    whole = (r["mean_staleness"] * r["updates"]).sum() / r["updates"].sum()
    assert np.nanmin(y) <= whole + 1e-9 and np.nanmax(y) >= whole - 1e-9
    assert ax.get_ylabel() == "mean staleness [versions]"
    plt.close(fig)
    assert plot.staleness(fedgrid.load_sweep(mixed_sweep)) is not None
    assert plot_main([mixed_sweep, "-o", str(tmp_path / "f"), "--formats", "png"]) == 0
    made = sorted(os.listdir(tmp_path / "f"))
    for name in ("accuracy_vs_time", "deadlines", "contributors", "staleness"):
        assert name + ".png" in made and os.path.getsize(tmp_path / "f" / (name + ".png")) > 5000


def test_no_staleness_figure_without_async_runs(tiny_sweep):
    assert plot.staleness(fedgrid.load_sweep(tiny_sweep)) is None


def test_async_single_run_figures(runs, tmp_path):
    run = fedgrid.load_run(runs["fedasync"])
    fig = plot_run.participation(run)
    assert fig.axes[1].get_xlabel() == "server update (model version)"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "started" in labels and "failed (device went off)" in labels
    plt.close(fig)
    fig = plot_run.staleness(run)
    assert fig.axes[0].get_ylabel() == "staleness [versions]"
    assert sum(p.get_height() for p in fig.axes[1].patches) == run.clients["staleness"].count()
    plt.close(fig)
    assert plot_run.contributors(run) is None
    assert plot_run.staleness(fedgrid.load_run(runs["deadline"])) is None
    assert plot_main([runs["async"], "-o", str(tmp_path / "r"), "--formats", "png"]) == 0
    assert sorted(os.listdir(tmp_path / "r")) == ["accuracy_vs_time.png", "participation.png",
                                                  "staleness.png"]


def test_async_tensorboard_steps_are_versions(runs):
    from test_tensorboard import Recorder
    run = fedgrid.load_run(runs["async"])
    w = Recorder()
    fedgrid.to_tensorboard(run, writer=w)
    st = [c for c in w.calls if c[0] == "async/mean_staleness"]
    assert [c[2] for c in st] == list(run.rounds["version"])
