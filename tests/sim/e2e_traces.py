"""End-to-end tests of device traces (usage: e2e_traces.py FEDGRID REPO_ROOT CASE): a clients CSV
(communication in seconds, and bandwidth + latency) and FedScale's capacity profile + behaviour
trace (CSV exports) each give a run whose per-client phase times in clients.csv are the numbers
the files imply, and whose availability.csv holds exactly the trace's changes up to the end.

Tolerance of every time: 1e-6 s absolute (measured: 7e-9 s with a link latency, 2e-15 s without)."""
import csv
import json
import math
import os
import re
import shutil
import signal
import tempfile

from e2e_lib import CI, ROOT, check, main, rows, run, start_run, stop_at_round

TRACES = os.path.join(ROOT, "platforms", "traces")
TOL = 1e-6


def read_table(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def on_changes(intervals, period, horizon):
    """(date, state) changes of a device on during `intervals` (repeating every `period`; inf:
    once), off otherwise, up to `horizon`; written independently of FedGrid's C++."""
    spans, k = [], 0
    while True:
        shift = k * period if math.isfinite(period) else 0.0
        if shift > horizon:
            break
        spans += [(a + shift, e + shift) for a, e in intervals]
        if not math.isfinite(period):
            break
        k += 1
    merged = []
    for a, e in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((a, e))
    out = []
    if not merged or merged[0][0] > 0:
        out.append((0.0, "off"))
    for i, (a, e) in enumerate(merged):
        if a > 0:
            out.append((a, "on"))
        if math.isfinite(e):
            out.append((e, "off"))
    return [(t, s) for t, s in out if t <= horizon]


def check_availability(folder, expected_by_client):
    """availability.csv against the trace's changes up to the run's end."""
    end = json.load(open(os.path.join(folder, "summary.json")))["virtual_time"]
    want = sorted((round(t, 9), u, s) for u, ch in expected_by_client.items() for t, s in ch
                  if t < end)
    got = sorted((round(float(r["t"]), 9), int(r["client"]), r["state"])
                 for r in rows(os.path.join(folder, "availability.csv")))
    check(got == want, "availability.csv:\n%s\nexpected (trace up to t=%s):\n%s" % (got, end, want))
    return len(got)


def state_at(changes, t):
    """The device's state at date t: the last change at or before t (on before any change)."""
    state = "on"
    for date, s in changes:
        if date <= t + 1e-9:
            state = s
    return state


def check_statuses(folder, changes_by_client):
    """clients.csv statuses against the trace: a device off when its round starts (t = 0
    included) is `offline`, one on then is not; a `failed` one went off during the round."""
    rounds = {int(r["round"]): r for r in rows(os.path.join(folder, "rounds.csv"))}
    counts = {}
    for c in rows(os.path.join(folder, "clients.csv")):
        u, r = int(c["client"]), rounds[int(c["round"])]
        t0, t1 = float(r["t_start"]), float(r["t_end"])
        ch = changes_by_client.get(u, [])
        off_at_start = state_at(ch, t0) == "off"
        check(off_at_start == (c["status"] == "offline"),
              "round %s client %d: %s, but the device is %s at the round's start t=%s"
              % (c["round"], u, c["status"], "off" if off_at_start else "on", t0))
        if c["status"] == "failed":
            check(any(t0 < d <= t1 + 1e-9 and s == "off" for d, s in ch),
                  "round %s client %d failed without going off during the round" % (c["round"], u))
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    return counts


def check_phases(folder, expect):
    """Every full update: download, compute and upload times of clients.csv against
    expect(client) = (download s, compute s, upload s; None: not checked). Returns the largest
    error and the count."""
    rounds = {int(r["round"]): r for r in rows(os.path.join(folder, "rounds.csv"))}
    worst, n = 0.0, 0
    for c in rows(os.path.join(folder, "clients.csv")):
        if c["status"] != "full":
            continue
        t0 = float(rounds[int(c["round"])]["t_start"])
        got = (float(c["t_download"]) - t0, float(c["t_compute"]) - float(c["t_download"]),
               float(c["t_done"]) - float(c["t_compute"]))
        want = expect(int(c["client"]), int(c["batch"]))
        for g, w, what in zip(got, want, ("download", "compute", "upload")):
            if w is None:  # not checked
                continue
            check(abs(g - w) <= TOL, "round %s client %s: %s took %.12g s, the trace implies %.12g s"
                  % (c["round"], c["client"], what, g, w))
            worst = max(worst, abs(g - w))
        n += 1
    return worst, n


def cv(xs):
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs)) / m


def case_device_traces():
    with tempfile.TemporaryDirectory() as tmp:
        # 1. Clients CSV with comm_time (seconds, download + upload) and an active column.
        out = os.path.join(tmp, "csv")
        run(["run", os.path.join(CI, "clients-csv.yaml"), "-o", out, "--quiet"])
        summary = json.load(open(os.path.join(out, "summary.json")))
        L, nbytes = summary["stages"], 4 * summary["params"]
        table = {int(r["client"]): r for r in read_table(os.path.join(TRACES, "clients-6.csv"))}
        speed = {u: float(r["speed"]) for u, r in table.items()}
        comm = {u: float(r["comm_time"]) for u, r in table.items()}
        worst, n = check_phases(out, lambda u, b: (comm[u] / 2, b * L / speed[u], comm[u] / 2))
        check(n >= 20, "only %d full updates" % n)
        active = {}
        for u, r in table.items():
            spans = []
            for item in filter(None, r["active"].split(";")):
                a, e = item.split(":")
                spans.append((float(a), float(e)))
            if spans:
                active[u] = on_changes(spans, math.inf, 1e9)
        events = check_availability(out, active)
        check(events >= 4, "only %d availability changes" % events)
        statuses = check_statuses(out, active)
        check({"full", "offline", "failed"} <= set(statuses), statuses)
        het = cv(list(speed.values()))
        check(abs(summary["speed_cv"] - het) <= 1e-9 * het, (summary["speed_cv"], het))
        plan = run(["plan", os.path.join(CI, "clients-csv.yaml")])
        m = re.search(r"CV of client speeds (\S+), CV of communication times (\S+)", plan)
        check(m and abs(float(m.group(1)) - het) < 1e-5 and
              abs(float(m.group(2)) - cv(list(comm.values()))) < 1e-5, plan)
        print("clients csv: %d full updates, largest error %.3g s; %d availability changes"
              % (n, worst, events))

        # 2. The same clients with bandwidth (bytes/s) and latency (s): S bytes take
        # latency + S / bandwidth, whatever SimGrid's factors.
        link = os.path.join(tmp, "link.csv")
        bw = {0: 1e4, 1: 2e4, 2: 5e3, 3: 1e5, 4: 8e3, 5: 3e4}
        lat = {0: 0.01, 1: 0.0, 2: 0.05, 3: 0.001, 4: 0.1, 5: 0.02}
        with open(link, "w") as f:
            f.write("client,speed,bandwidth,latency\n")
            for u in range(6):
                f.write("%d,%r,%r,%r\n" % (u, speed[u], bw[u], lat[u]))
        for model in ([], ["--cfg=network/model:CM02"]):
            out = os.path.join(tmp, "link" + str(len(model)))
            run(["run", os.path.join(CI, "clients-csv.yaml"), "-o", out, "--quiet",
                 "--set", "platform.clients_csv=" + link] + model)
            transfer = {u: lat[u] + nbytes / bw[u] for u in range(6)}
            worst, n = check_phases(out, lambda u, b: (transfer[u], b * L / speed[u], transfer[u]))
            check(n == 30, "%d full updates, expected all 30" % n)
            check(not os.path.exists(os.path.join(out, "availability.csv")), "no trace given")
            print("bandwidth + latency %s: %d full updates, largest error %.3g s"
                  % (model or "LV08", n, worst))

        # 3. FedScale: capacity profile (ms per sample, kbps) and behaviour trace; FedGrid
        # client u = FedScale client u + 1; a sample trains in 3 x ms, a transfer of S bytes
        # takes 8 S / (1000 kbps).
        out = os.path.join(tmp, "fedscale")
        run(["run", os.path.join(CI, "fedscale.yaml"), "-o", out, "--quiet"])
        summary = json.load(open(os.path.join(out, "summary.json")))
        nbytes = 4 * summary["params"]
        cap = {int(r["client_id"]) - 1: r for r in
               read_table(os.path.join(TRACES, "fedscale-capacity-8.csv"))}
        ms = {u: float(cap[u]["computation"]) for u in range(6)}
        kbps = {u: float(cap[u]["communication"]) for u in range(6)}
        xfer = {u: 8 * nbytes / (1000 * kbps[u]) for u in range(6)}
        worst, n = check_phases(out, lambda u, b: (xfer[u], 3 * b * ms[u] / 1000, xfer[u]))
        check(n >= 20, "only %d full updates" % n)
        behaviour = {}
        for r in read_table(os.path.join(TRACES, "fedscale-behaviour-8.csv")):
            u = int(r["client_id"]) - 1
            if u < 6:
                spans, _ = behaviour.get(u, ([], 0))
                behaviour[u] = (spans + [(float(r["active"]), float(r["inactive"]))],
                                float(r["finish_time"]))
        expected = {u: on_changes(s, p, 1e4) for u, (s, p) in behaviour.items()}
        events = check_availability(out, expected)
        check(events >= 6, "only %d availability changes" % events)
        statuses = check_statuses(out, expected)
        check(statuses.get("offline", 0) >= 2, statuses)  # clients 2 and 4 start off
        het = cv([1 / ms[u] for u in range(6)])
        check(abs(summary["speed_cv"] - het) <= 1e-9 * het, (summary["speed_cv"], het))
        print("fedscale: %d full updates, largest error %.3g s; %d availability changes"
              % (n, worst, events))


def case_generated_comm_time():
    # platform.generate.comm_time: communication in seconds on a generated platform. Constant
    # 0.8 s: every full update downloads in 0.4 s and uploads in 0.4 s, whatever the model size
    # and SimGrid's factors; uniform [0.2, 2]: every client's download + upload inside it.
    with tempfile.TemporaryDirectory() as tmp:
        scen = os.path.join(tmp, "gen.yaml")
        with open(scen, "w") as f:
            f.write("name: gen-comm\nseed: 5\nclients: 8\ndata: {dataset: synthetic, synthetic: "
                    "{train: 800, test: 100, features: 20, classes: 4}}\nmodel: %s\n"
                    "platform:\n  generate:\n    speed: {dist: uniform, min: 100, max: 400}\n"
                    "    comm_time: {dist: constant, value: 0.8}\n"
                    "timing: {stage_time: deterministic, stage_cost: uniform, work_per_sample: 1}\n"
                    "algorithm: {name: fedavg, rounds: 4}\ntraining: {lr: 0.1, batch: 10}\n"
                    % os.path.join(ROOT, "models", "ci-mlp.yaml"))
        out = os.path.join(tmp, "const")
        run(["run", scen, "-o", out, "--quiet"])
        summary = json.load(open(os.path.join(out, "summary.json")))
        L = summary["stages"]
        speeds = {}
        for host in re.finditer(r'<host id="client-(\d+)" speed="([^"f]+)f"',
                                open(os.path.join(out, "platform.xml")).read()):
            speeds[int(host.group(1))] = float(host.group(2))
        check(len(speeds) == 8, speeds)
        worst, n = check_phases(out, lambda u, b: (0.4, b * L / speeds[u], 0.4))
        check(n == 32, "%d full updates, expected all 32" % n)
        # With a bigger model the same seconds: the link follows the model's size.
        big = os.path.join(tmp, "big")
        run(["run", scen, "-o", big, "--quiet", "--set", "model=" +
             os.path.join(ROOT, "models", "mlp.yaml"), "--set", "data.synthetic.features=784",
             "--set", "data.synthetic.classes=10"])
        worst_big, n_big = check_phases(big, lambda u, b: (0.4, None, 0.4))
        check(n_big == 32, "%d full updates, expected all 32" % n_big)
        uni = os.path.join(tmp, "uniform")
        run(["run", scen, "-o", uni, "--quiet", "--set",
             "platform.generate.comm_time={dist: uniform, min: 0.2, max: 2.0}"])
        times = set()
        rounds = {int(r["round"]): r for r in rows(os.path.join(uni, "rounds.csv"))}
        for c in rows(os.path.join(uni, "clients.csv")):
            t0 = float(rounds[int(c["round"])]["t_start"])
            down = float(c["t_download"]) - t0
            up = float(c["t_done"]) - float(c["t_compute"])
            check(abs(down - up) <= TOL and 0.2 - TOL <= down + up <= 2.0 + TOL, c)
            times.add(round(down + up, 6))
        check(len(times) == 8, "expected 8 different communication times, found %s" % times)
        # Bad input: both forms, and `fedgrid platform` (its links need the model's size).
        err = run(["run", scen, "-o", os.path.join(tmp, "bad"), "--quiet", "--set",
                   "platform.generate.latency={dist: constant, value: 0.01}"], expect=2)
        check("platform.generate.latency" in err and "either comm_time" in err, err)
        err = run(["platform", scen, "-o", os.path.join(tmp, "p.xml")], expect=2)
        check("platform.generate.comm_time" in err and "fedgrid run" in err, err)
        print("generated comm_time: %d + %d full updates, largest error %.3g / %.3g s; uniform: %d "
              "distinct times" % (n, n_big, worst, worst_big, len(times)))


def case_trace_fingerprints():
    # --resume refuses a run whose clients CSV, FedScale capacity or behaviour trace changed.
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("clients-6.csv", "fedscale-capacity-8.csv", "fedscale-behaviour-8.csv"):
            shutil.copy(os.path.join(TRACES, name), os.path.join(tmp, name))
        runs = (("clients_csv: clients-6.csv", "", [("clients-6.csv", "clients csv")]),
                ("fedscale: {capacity: fedscale-capacity-8.csv}",
                 "availability: {model: fedscale, file: fedscale-behaviour-8.csv}\n",
                 [("fedscale-capacity-8.csv", "FedScale capacity"),
                  ("fedscale-behaviour-8.csv", "FedScale behaviour trace")]))
        for i, (platform, availability, files) in enumerate(runs):
            scen = os.path.join(tmp, "scen%d.yaml" % i)
            open(scen, "w").write(
                "seed: 3\nclients: 6\ndata: {dataset: synthetic, synthetic: {train: 600, "
                "test: 100, features: 20, classes: 4}}\nmodel: %s\nplatform: {%s}\n%s"
                "timing: {stage_time: deterministic}\nalgorithm: {name: fedavg, rounds: 5000}\n"
                "training: {lr: 0.1, batch: 10}\nevaluation: {every: 100}\n"
                % (os.path.join(ROOT, "models", "ci-mlp.yaml"), platform, availability))
            d = os.path.join(tmp, "run%d" % i)
            code, err = stop_at_round(start_run(["run", scen, "-o", d, "--threads", "1"]), 20,
                                      signal.SIGINT)
            check(code == 130, "exit %d:\n%s" % (code, err[-1000:]))
            for name, what in files:
                f = os.path.join(tmp, name)
                before = open(f, "rb").read()
                open(f, "ab").write(b"# a comment\n")
                out = run(["run", "--resume", d], expect=2)
                check("the %s file %s" % (what, f) in out, out)
                open(f, "wb").write(before)
        print("trace_fingerprints: a changed clients CSV, FedScale capacity or behaviour trace "
              "is refused at --resume")


main(globals())
