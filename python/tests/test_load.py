"""fedgrid.load_run / load_sweep on real runs: types, units, empty cells, values against the
files read by hand, unknown columns and values, bad files."""
import csv
import math
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import fedgrid
from fedgrid import schema

from conftest import CI


def raw(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_rounds_types_units_and_values(runs):
    run = fedgrid.load_run(runs["deadline"])
    r = run.rounds
    assert not run.asynchronous and run.step == "round" and not run.diverged
    assert not [c for c in schema.columns("rounds.csv", asynchronous=True) if c.name in r
                and c.runs == "async"]
    for c in schema.columns("rounds.csv", asynchronous=False):
        want = {"int": "int64", "float": "float64"}[c.kind]
        assert str(r[c.name].dtype) == want, c.name
        assert r.attrs["units"][c.name] == c.unit
    assert r.attrs["units"]["t_end"] == "s" and r.attrs["units"]["bytes_up"] == "B"
    rows = raw(os.path.join(runs["deadline"], "rounds.csv"))
    assert len(r) == len(rows) == 40
    for (_, x), y in zip(r.iterrows(), rows):  # every cell: the file's text, typed
        for c in schema.columns("rounds.csv", asynchronous=False):
            if y[c.name] == "":
                assert math.isnan(x[c.name]), (c.name, y["round"])
            else:
                assert x[c.name] == pytest.approx(float(y[c.name]), rel=0, abs=0), c.name
    counts = r[["full", "partial", "dropped", "failed", "offline"]].sum(axis=1)
    assert (counts == r["selected"]).all()
    assert np.allclose(r["duration"], r["t_end"] - r["t_start"], atol=1e-6)
    # evaluation.every = 4: rounds 4, 8, ..., 40 evaluated, the others NaN
    assert list(run.evaluations()["round"]) == list(range(4, 41, 4))
    assert r["deadline"].notna().all() and run.complete


def test_timing_only_and_wait_for_all_are_nan(runs):
    r = fedgrid.load_run(runs["timing"]).rounds
    assert r["deadline"].isna().all()  # fedavg waits: no deadline
    assert r["test_accuracy"].isna().all() and r["train_loss"].isna().all()
    assert str(r["test_accuracy"].dtype) == "float64"


def test_clients_categories_and_optional_columns(runs):
    run = fedgrid.load_run(runs["failures"])
    c = run.clients
    assert list(c["status"].cat.categories[:5]) == list(schema.CLIENT_STATUS)
    assert list(c["reason"].cat.categories[:5]) == list(schema.DROP_REASON)
    assert {"failed", "offline"} <= set(c["status"].dropna())  # the scenario has churn
    no_reason = c["status"].isin(["full", "partial", "offline"])
    assert c.loc[no_reason, "reason"].isna().all() and c.loc[~no_reason, "reason"].notna().all()
    per_round = c.groupby("round")["status"].value_counts().unstack()
    for s in schema.CLIENT_STATUS:
        assert (per_round[s].to_numpy() == run.rounds[s].to_numpy()).all(), s
    assert c.loc[c["status"] == "offline", "t_download"].isna().all()
    assert "steps" not in c  # only with local work
    local = fedgrid.load_run(runs["local"]).clients
    assert str(local["steps"].dtype) == "int64" and (local["steps_done"] <= local["steps"]).all()
    av = run.availability
    assert list(av.columns) == ["t", "client", "state"]
    assert set(av["state"]) <= {"off", "on"} and len(av) > 0
    assert fedgrid.load_run(runs["deadline"]).availability is None


def test_other_files(runs):
    run = fedgrid.load_run(runs["deadline"])
    assert run.layers["updated"].dtype == bool and run.layers["name"].dtype == object
    assert run.plan["deadline"].notna().all()
    p = run.partition
    labels = [c for c in p.columns if c.startswith("label_")]
    assert len(labels) == 4 and (p[labels].sum(axis=1) == p["samples"]).all()
    assert p.attrs["units"]["label_0"] == "samples"
    assert run.summary["rounds"] == 40 and run.manifest["seed"] == 7
    assert run.wall["threads"] == 1
    assert fedgrid.load_run(runs["timing"]).plan["deadline"].isna().all()


def expected_milestones(run):
    """final_evaluation_*, *_at_budget and time_to_target computed here from rounds.csv, with the
    budget and target of the manifest's resolved scenario (defaults filled in)."""
    resolved = run.manifest["resolved_scenario"]
    budget = resolved["algorithm"]["time_budget"]  # (a default when the file has none)
    target = resolved.get("evaluation", {}).get("target_accuracy")
    ev = run.evaluations()
    out = {"final_evaluation_round": None, "final_evaluation_time": None,
           "test_accuracy_at_budget": None, "test_loss_at_budget": None, "time_to_target": None}
    if len(ev):
        out["final_evaluation_round"] = int(ev[run.step].iloc[-1])
        out["final_evaluation_time"] = float(ev["t_end"].iloc[-1])
        within = ev[ev["t_end"] <= budget + 1e-9]
        if budget > 0 and len(within):
            out["test_accuracy_at_budget"] = float(within["test_accuracy"].iloc[-1])
            out["test_loss_at_budget"] = float(within["test_loss"].iloc[-1])
        reached = ev[ev["test_accuracy"] >= target] if target is not None else ev.iloc[0:0]
        if len(reached):
            out["time_to_target"] = float(reached["t_end"].iloc[0])
    return out


def test_summary_milestones_against_rounds(runs, binary, tmp_path):
    """summary.json's final_evaluation_*, *_at_budget and time_to_target are rounds.csv's
    numbers (equal floats: both carry 10 digits), for round-based, asynchronous and timing-only
    runs, and for a wait-for-all run whose last round ends after the time budget."""
    late = fedgrid.run(os.path.join(CI, "synthetic-deadline.yaml"),
                       {"algorithm.name": "fedavg", "algorithm.time_budget": 5,
                        "evaluation.target_accuracy": 0.99}, tmp_path / "late", threads=1)
    assert late.rounds["t_end"].iloc[-1] > 5 >= late.rounds["t_end"].iloc[-2]
    for run in [fedgrid.load_run(runs[k]) for k in ("deadline", "async", "timing", "local")] + [
            late]:
        s = run.summary
        want = expected_milestones(run)
        assert {k: s[k] for k in want} == want, (run.path, want)
        ev = run.evaluations()
        if len(ev):
            assert s["final_test_accuracy"] == ev["test_accuracy"].iloc[-1]
    deadline = fedgrid.load_run(runs["deadline"]).summary
    assert deadline["time_to_target"] is not None and deadline["test_accuracy_at_budget"] == \
        deadline["final_test_accuracy"]
    assert late.summary["test_accuracy_at_budget"] != late.summary["final_test_accuracy"]
    assert late.summary["time_to_target"] is None  # 0.99: never reached
    timing = fedgrid.load_run(runs["timing"]).summary
    assert timing["final_evaluation_round"] is None and timing["test_accuracy_at_budget"] is None
    assert fedgrid.load_run(runs["deadline"]).wall_seconds > 0


def test_nan_text_unknown_columns_and_values(runs, tmp_path):
    """`nan` cells (diverged runs) and empty cells both load as NaN; a column or a status this
    version does not know is kept; an integer column with empty cells becomes Int64."""
    d = tmp_path / "run"
    shutil.copytree(runs["deadline"], d)
    rows = (d / "rounds.csv").read_text().splitlines()
    head = rows[0].split(",")
    i_acc, i_lr, i_loss = (head.index(c) for c in ("test_accuracy", "lr", "train_loss"))
    out = [rows[0] + ",queue_length,staleness,wait"]
    for k, line in enumerate(rows[1:]):
        f = line.split(",")
        if k == 3:
            f[i_acc], f[i_lr], f[i_loss] = "nan", "nan", "inf"
        out.append(",".join(f) + ",%s,%d,%s" % ("" if k == 0 else "q%d" % k, k,
                                                "" if k == 1 else "%g" % (k / 4)))
    (d / "rounds.csv").write_text("\n".join(out) + "\n")
    cl = (d / "clients.csv").read_text().splitlines()
    h = cl[0].split(",")
    f = cl[1].split(",")
    f[h.index("status")], f[h.index("batch")] = "waiting", ""
    (d / "clients.csv").write_text("\n".join([cl[0], ",".join(f)] + cl[2:]) + "\n")
    run = fedgrid.load_run(d)
    r = run.rounds
    assert math.isnan(r["test_accuracy"][3]) and math.isnan(r["lr"][3])
    assert r["train_loss"][3] == math.inf and str(r["train_loss"].dtype) == "float64"
    assert r["queue_length"].dtype == object and r["queue_length"][2] == "q2"
    assert str(r["staleness"].dtype) == "int64" and r["staleness"][7] == 7
    assert str(r["wait"].dtype) == "float64" and math.isnan(r["wait"][1]) and r["wait"][2] == 0.5
    assert "queue_length" not in r.attrs["units"]
    c = run.clients
    assert list(c["status"].cat.categories) == list(schema.CLIENT_STATUS) + ["waiting"]
    assert c["status"][0] == "waiting"
    assert str(c["batch"].dtype) == "Int64" and pd.isna(c["batch"][0])


def test_bad_files_name_file_and_column(runs, tmp_path):
    d = tmp_path / "run"
    shutil.copytree(runs["deadline"], d)
    text = (d / "layers.csv").read_text().splitlines()
    text[2] = text[2][:-1] + "yes"  # the last cell: `updated`
    (d / "layers.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(fedgrid.FedgridFormatError, match=r"layers\.csv: column 'updated': "
                       r"expected bool values, found 'yes' on line 3"):
        fedgrid.load_run(d).layers
    text = (d / "rounds.csv").read_text().splitlines()
    text[5] = "2.5" + text[5][text[5].index(","):]  # round 5 -> 2.5
    (d / "rounds.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(fedgrid.FedgridFormatError, match=r"column 'round': expected int values, "
                       r"found '2.5' on line 6"):
        fedgrid.load_run(d).rounds
    with pytest.raises(fedgrid.FedgridFormatError, match="not a FedGrid run folder"):
        fedgrid.load_run(tmp_path)
    with pytest.raises(FileNotFoundError):
        fedgrid.load_run(tmp_path / "nowhere")
    with pytest.raises(fedgrid.FedgridFormatError, match="not a FedGrid sweep folder"):
        fedgrid.load_sweep(d)


def test_sweep_tables(tiny_sweep):
    sw = fedgrid.load_sweep(tiny_sweep)
    idx = sw.index
    assert sw.axes == ["algorithm.name", "platform", "seed"] and sw.seed_axes == ["seed"]
    assert list(idx["platform"].cat.categories) == ["homogeneous", "two-tier"]
    assert idx["platform"].cat.ordered and str(idx["seed"].dtype) == "int64"
    assert str(idx["rounds"].dtype) == "int64" and (idx["status"] == "complete").all()
    agg = sw.aggregate
    assert len(agg) == 4 and str(agg["runs"].dtype) == "int64"
    assert "seed" not in agg and agg.attrs["units"]["time_to_target_mean"] == "s"
    # the long table: every complete run's rounds with its axis columns
    r = sw.rounds
    assert len(r) == 12 * 6 and list(r.columns[:5]) == ["id", "algorithm.name", "platform",
                                                        "seed", "algorithm"]
    assert list(r["platform"].cat.categories) == ["homogeneous", "two-tier"]
    for _, row in idx.iterrows():
        one = sw.run(row["id"]).rounds
        assert row["test_accuracy_at_limit"] == one["test_accuracy"].dropna().iloc[-1]
        mine = r[r["id"] == row["id"]]
        assert (mine["test_accuracy"].fillna(-1).to_numpy() ==
                one["test_accuracy"].fillna(-1).to_numpy()).all()
    g = agg.iloc[0]
    group = idx[(idx["algorithm.name"] == g["algorithm.name"]) & (idx["platform"] ==
                                                                   g["platform"])]
    assert g["final_test_accuracy_mean"] == pytest.approx(group["final_test_accuracy"].mean(),
                                                          rel=1e-8)


def test_sweep_with_missing_run(tiny_sweep, tmp_path, binary):
    """A run deleted from the sweep: --collect lists it `missing` (NaN numbers, Int64 rounds)."""
    import subprocess
    d = tmp_path / "sw"
    shutil.copytree(tiny_sweep, d)
    sw = fedgrid.load_sweep(d)
    victim = sw.index["id"][0]
    shutil.rmtree(d / "runs" / victim)
    spec = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "sim", "sweeps",
                        "tiny.yaml")
    subprocess.run([binary, "sweep", spec, "-o", str(d), "--collect", "--set",
                    "algorithm.rounds=6"], capture_output=True, check=False)
    sw = fedgrid.load_sweep(d)
    row = sw.index[sw.index["id"] == victim].iloc[0]
    assert row["status"] == "missing" and pd.isna(row["rounds"])
    assert str(sw.index["rounds"].dtype) == "Int64"
    assert len(sw.runs()) == 11 and len(sw.rounds) == 11 * 6
