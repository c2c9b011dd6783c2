#!/usr/bin/env python3
"""End-to-end tests of asynchronous FL (fedbuff, fedasync): usage: e2e_async.py FEDGRID REPO_ROOT
CASE.

FedBuff with equal speeds and M = C = U against synchronous FedAvg, the staleness of every update
against an independent replay of the protocol on a deterministic platform, failing devices,
interrupted runs resumed byte for byte, sweeps of asynchronous runs, the quickstart's accuracy."""
import json
import math
import os
import re
import signal
import tempfile

from e2e_lib import *  # noqa: F401,F403 (FEDGRID, ROOT, CI, run, rows, check, ...)

ASYNC = os.path.join(CI, "async.yaml")


def same_files(a, b):
    fa, fb = result_files(a), result_files(b)
    check(sorted(fa) == sorted(fb), "files %s vs %s" % (sorted(fa), sorted(fb)))
    for n in fa:
        check(fa[n] == fb[n], "%s differs between %s and %s" % (n, a, b))


def speeds(folder):
    """Client host speeds from a run's generated platform.xml."""
    text = open(os.path.join(folder, "platform.xml")).read()
    return {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r'<host id="client-(\d+)" speed="([0-9.e+-]+)f"', text)}


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def case_async_fedavg_equivalence():
    # Equal speeds and links, deterministic stage times, M = C = U = 8: every job of a version
    # ends at the same instant, the buffer takes all 8 updates with staleness 0, and FedBuff is
    # synchronous FedAvg (wait for all): the same times, the same losses to float rounding
    # (FedBuff buffers eta U, FedAvg steps eta times the mean of U). With and without momentum.
    equal = ["--set", "platform.generate.speed={dist: constant, value: 200}",
             "--set", "algorithm.rounds=20"]
    with tempfile.TemporaryDirectory() as tmp:
        for momentum in ("0", "0.9"):
            opt = ["--set", "training.server_optimizer.momentum=" + momentum]
            fb, fa = os.path.join(tmp, "fedbuff" + momentum), os.path.join(tmp, "fedavg" + momentum)
            run(["run", ASYNC, "-o", fb, "--quiet", "--set", "algorithm.buffer=8"] + equal + opt)
            run(["run", ASYNC, "-o", fa, "--quiet", "--set",
                 "algorithm={name: fedavg, rounds: 20}"] + equal + opt)
            a, s = rows(os.path.join(fb, "rounds.csv")), rows(os.path.join(fa, "rounds.csv"))
            check(len(a) == len(s) == 20, "rows %d and %d" % (len(a), len(s)))
            worst = 0.0
            for ra, rs in zip(a, s):
                check(ra["t_end"] == rs["t_end"], "times: %s vs %s" % (ra, rs))
                check(ra["updates"] == "8" and ra["mean_staleness"] == "0" and
                      ra["max_staleness"] == "0", ra)
                for col in ("train_loss", "test_loss"):
                    if ra[col] or rs[col]:
                        worst = max(worst, rel(float(ra[col]), float(rs[col])))
                if rs["test_accuracy"]:
                    check(abs(float(ra["test_accuracy"]) - float(rs["test_accuracy"])) <= 2 / 600,
                          "accuracy %s vs %s" % (ra, rs))
            check(worst <= 1e-5, "momentum %s: losses differ by %g (relative)" % (momentum, worst))
            jobs = rows(os.path.join(fb, "clients.csv"))
            check(len(jobs) == 160 and all(j["staleness"] == "0" for j in jobs), "160 fresh jobs")
            print("momentum %s: fedbuff = fedavg over 20 updates, losses within %.2g" %
                  (momentum, worst))


def predicted_jobs(speed, transfer, L, steps, batch, updates, M):
    """The protocol replayed by hand for C = U (each client restarts as soon as it reports):
    client u's n-th job ends at n d_u with d_u = 2 transfers + steps L batch / speed_u; reports
    of one instant are taken by client id; every M-th one updates the model. Returns
    {(client, n): (t_end, version_down, version_up)} for the reports taken up to the last update."""
    period = {u: 2 * transfer + steps * L * batch / p for u, p in speed.items()}
    horizon = (updates * M) / sum(1 / d for d in period.values()) * 1.5 + max(period.values())
    events = sorted((n * d, u, n) for u, d in period.items() for n in range(1, int(horizon / d) + 2))
    out, version, taken, i = {}, 0, 0, 0
    down = {u: 0 for u in speed}
    while version < updates:
        t = events[i][0]
        group = []
        while i < len(events) and events[i][0] - t < 1e-9:
            group.append(events[i])
            i += 1
        for when, u, n in sorted(group, key=lambda e: e[1]):
            out[(u, n)] = (when, down[u], version)
            taken += 1
            if taken % M == 0:
                version += 1
                if version == updates:
                    break
        for _, u, _ in group:
            down[u] = version
    return out


def case_async_staleness():
    # scenarios/ci/async.yaml: 8 clients, speeds U(50, 400), equal links (1 MB/s, 1 ms),
    # deterministic stage times, 2 local steps of 4 stages x 16 samples, C = U = 8, M = 4.
    L, steps, batch, M, R = 4, 2, 16, 4, 60
    with tempfile.TemporaryDirectory() as tmp:
        run(["run", ASYNC, "-o", tmp, "--quiet"])
        speed = speeds(tmp)
        params = 20 * 16 + 16 + 16 * 4 + 4
        transfer = 0.001 * 13.01 + params * 4 / (0.97 * 1.0e6)  # LV08: 13.01 x latency, 0.97 x bw
        want = predicted_jobs(speed, transfer, L, steps, batch, R, M)
        jobs = rows(os.path.join(tmp, "clients.csv"))
        check(len(jobs) == len(want), "%d jobs taken, predicted %d" % (len(jobs), len(want)))
        seen = {}
        for j in jobs:
            u = int(j["client"])
            seen[u] = seen.get(u, 0) + 1
            t_end, v_down, v_up = want[(u, seen[u])]
            t0, td, tc, t1 = (float(j[k]) for k in ("t_start", "t_download", "t_compute", "t_done"))
            check(abs(td - t0 - transfer) < 1e-6 and abs(t1 - tc - transfer) < 1e-6,
                  "transfers of %r (expected %.9f s)" % (j, transfer))
            check(abs(tc - td - steps * L * batch / speed[u]) < 1e-6, "compute time of %r" % j)
            check(abs(t1 - t_end) < 1e-6, "job %r ends at %.9f, predicted %.9f" % (j, t1, t_end))
            check((int(j["version_down"]), int(j["version_up"])) == (v_down, v_up) and
                  int(j["staleness"]) == v_up - v_down and j["status"] == "full",
                  "job %r: predicted versions %d -> %d" % (j, v_down, v_up))
        # rounds.csv: one row per update, staleness statistics of the 4 updates it applied.
        ups = rows(os.path.join(tmp, "rounds.csv"))
        check(len(ups) == R, "%d updates" % len(ups))
        by_version = {}
        for j in jobs:
            by_version.setdefault(int(j["version_up"]), []).append(int(j["staleness"]))
        for r in ups:
            st = by_version[int(r["version"]) - 1]
            check(int(r["updates"]) == M == len(st), r)
            check(abs(float(r["mean_staleness"]) - sum(st) / M) < 1e-9 and
                  int(r["max_staleness"]) == max(st), "update %s: staleness %s" % (r, st))
        mean = sum(int(j["staleness"]) for j in jobs) / len(jobs)
        counts = [seen[u] for u in sorted(speed)]
        print("%d jobs, mean staleness %.3f, jobs per client %s (speeds %s)" %
              (len(jobs), mean, counts, [round(speed[u]) for u in sorted(speed)]))
        check(mean > 0.5, "the clients' different speeds give stale updates")
        acc = float(ups[-1]["test_accuracy"])
        check(acc > 0.85, "fedbuff on ci/async.yaml: test accuracy %g" % acc)
        # The same platform as a SimGrid XML file: executions instead of sleeps, same bytes
        # (and jobs still computing when the run ends are stopped cleanly).
        xml = os.path.join(tmp, "xml")
        run(["run", ASYNC, "-o", xml, "--quiet", "--set",
             "platform={file: %s}" % os.path.join(tmp, "platform.xml")])
        for name in ("rounds.csv", "clients.csv"):
            check(open(os.path.join(xml, name)).read() == open(os.path.join(tmp, name)).read(),
                  name + " differs with the platform as an XML file")


def availability_events(path):
    ev = {}
    for r in rows(path):
        ev.setdefault(int(r["client"]), []).append((float(r["t"]), r["state"]))
    return ev


def state_at(events, t):
    state = "on"
    for when, what in events:
        if when > t:
            break
        state = what
    return state


def case_async_failures():
    # scenarios/ci/failures.yaml (half of 20 devices alternate Exp(6 s) up, Exp(3 s) down) under
    # fedbuff and fedasync: every failed job ends when its device goes off, in the phase it was
    # in; offline draws happen while the device is off; delivered jobs saw no 'off'.
    scen = os.path.join(CI, "failures.yaml")
    variants = {
        "fedbuff": ["--set", "algorithm={name: fedbuff, rounds: 100, concurrency: 10, buffer: 5}",
                    "--set", "training.momentum=0"],
        "fedasync": ["--set", "algorithm={name: fedasync, rounds: 300, concurrency: 10}",
                     "--set", "training.momentum=null"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, sets in variants.items():
            out = os.path.join(tmp, name)
            run(["run", scen, "-o", out, "--quiet"] + sets)
            ev = availability_events(os.path.join(out, "availability.csv"))
            counts = {}
            for j in rows(os.path.join(out, "clients.csv")):
                u, st = int(j["client"]), j["status"]
                counts[st] = counts.get(st, 0) + 1
                mine, t0 = ev.get(u, []), float(j["t_start"])
                if st == "offline":
                    check(state_at(mine, t0) == "off", "offline but on: %s" % j)
                    continue
                check(state_at(mine, t0) == "on", "started while off: %s" % j)
                offs = [t for t, what in mine if what == "off" and t0 < t <= float(j["t_done"])]
                if st == "full":
                    check(not offs, "delivered although its device went off: %s" % j)
                    continue
                check(st == "failed" and offs and float(j["t_done"]) == offs[0], j)
                phase = ("download" if not j["t_download"] else
                         "compute" if not j["t_compute"] else "upload")
                check(j["reason"] == phase, "failed in %s: %s" % (phase, j))
            summary = json.load(open(os.path.join(out, "summary.json")))
            print("%s: %s, test accuracy %s" % (name, counts, summary["final_test_accuracy"]))
            check(counts.get("failed", 0) > 0 and counts.get("offline", 0) > 0, counts)
            check(summary["complete"] and summary["final_test_accuracy"] > 0.8, summary)
        # Every device off for good at t = 2 (a trace), no time budget: the run ends there (no
        # deadlock), every job in flight then failed.
        trace = os.path.join(tmp, "gone.csv")
        open(trace, "w").write("client,off,on\n" + "".join("%d,2.0,\n" % u for u in range(20)))
        out = os.path.join(tmp, "gone")
        err = run(["run", scen, "-o", out, "--set", "availability={model: trace, file: %s}" % trace]
                  + variants["fedbuff"])
        check("every client device is off for good at t=2.000" in err, err[-1000:])
        summary = json.load(open(os.path.join(out, "summary.json")))
        check(summary["complete"] and summary["virtual_time"] == 2, summary)
        last = [j["status"] for j in rows(os.path.join(out, "clients.csv"))
                if float(j["t_done"]) == 2.0]
        # The 10 jobs in flight failed; their slots then drew all 20 idle clients: offline.
        check(last.count("failed") == 10 and last.count("offline") == 20, last)


def stop_at_update(p, update, sig):
    err = []
    for line in p.stderr:
        err.append(line)
        if "update %d/" % update in line:
            p.send_signal(sig)
            break
    err.append(p.stderr.read())
    return p.wait(), "".join(err)


def case_async_resume():
    # No quiescent point: the checkpoint follows a server update and holds the model versions
    # jobs in flight downloaded; --resume replays the timing from t = 0 without the math up to
    # that update. SIGINT (math, fedbuff), SIGKILL after --checkpoint-every (fedasync), SIGTERM
    # with failing devices: the bytes of an uninterrupted run, whatever --threads.
    # The runs are long (thousands of updates at ~7,000 per second) so that the signal, sent
    # when the test reads the progress line of update `at`, lands well before the run's end even
    # when this process is scheduled late on a loaded machine (60 updates took 5 ms after it).
    cases = [
        ("fedbuff", ASYNC, ["--set", "algorithm.rounds=3000"], 25, signal.SIGINT),
        ("fedasync", ASYNC, ["--set", "algorithm.name=fedasync", "--set", "algorithm.buffer=null",
                             "--set", "training.server_optimizer=null", "--set",
                             "algorithm.rounds=3000", "--checkpoint-every", "10"], 75,
         signal.SIGKILL),
        ("failures", os.path.join(CI, "failures.yaml"),
         ["--set", "algorithm={name: fedbuff, rounds: 3000, concurrency: 10, buffer: 5}",
          "--set", "training.momentum=0"], 30, signal.SIGTERM),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, scen, extra, at, sig in cases:
            ref, a = os.path.join(tmp, name + "-ref"), os.path.join(tmp, name)
            run(["run", scen, "-o", ref, "--quiet", "--threads", "1"] + extra)
            code, err = stop_at_update(start_run(["run", scen, "-o", a, "--threads", "3"] + extra),
                                       at, sig)
            check(code in (128 + sig, -sig), "%s: exit %d:\n%s" % (name, code, err[-2000:]))
            check(os.path.exists(os.path.join(a, "checkpoint")), name + ": no checkpoint")
            if name == "fedbuff":  # versions older than the model: at least one more vector
                check(os.path.getsize(os.path.join(a, "checkpoint")) > 2 * 404 * 4 + 404 * 4,
                      "the checkpoint holds older model versions")
                # Another network model times the replay differently: refused, checkpoint kept.
                out = run(["run", "--resume", a, "--quiet", "--cfg=network/model:CM02"], expect=2)
                check("checkpoint: expected update" in out and "replaying the run" in out, out)
            run(["run", "--resume", a, "--quiet", "--threads", "2"])
            same_files(a, ref)
            print("%s: stopped by signal %d near update %d, resumed byte for byte" % (name, sig, at))


def case_async_sweep():
    # fedgrid sweep over fedbuff, fedasync and salf (index.csv, aggregate.csv from the async runs'
    # rounds.csv and summary.json), then scripts/plot when matplotlib is there.
    text = open(ASYNC).read().replace("../../models/", os.path.join(ROOT, "models") + "/")
    algos = {
        "fedbuff": "algorithm: {name: fedbuff, rounds: 1000, time_budget: 10, buffer: 4}",
        "fedasync": "algorithm: {name: fedasync, rounds: 1000, time_budget: 10}",
        "salf": "algorithm: {name: salf, rounds: 20, deadline: 0.5}",
    }
    with tempfile.TemporaryDirectory() as tmp:
        bases = []
        for name, line in algos.items():
            scen = re.sub(r"^algorithm: .*$", line, text, flags=re.M)
            if name != "fedbuff":
                scen = scen.replace("  local_steps: 2\n", "").replace(
                    "  server_optimizer: {lr: 1, momentum: 0}\n", "")
            bases.append(os.path.join(tmp, name + ".yaml"))
            open(bases[-1], "w").write(scen)
        path = os.path.join(tmp, "sweep.yaml")
        open(path, "w").write("name: async-tiny\nbase: [%s]\ntarget_accuracy: 0.8\n"
                              "time_limit: 10\ngrid:\n  seed: [1, 2]\n" % ", ".join(bases))
        out = os.path.join(tmp, "out")
        run(["sweep", path, "-o", out, "-j", "2"])
        index = rows(os.path.join(out, "index.csv"))
        check(len(index) == 6 and all(r["status"] == "complete" for r in index), index)
        for r in index:
            check(float(r["test_accuracy_at_limit"]) > 0.7, r)
            check(float(r["virtual_time"]) <= 10 + 1e-9, r)
        agg = rows(os.path.join(out, "aggregate.csv"))
        check({r["algorithm"] for r in agg} == {"fedbuff", "fedasync", "salf"}, agg)
        print(" ".join("%s %.3f" % (r["algorithm"], float(r["test_accuracy_at_limit_mean"]))
                       for r in agg))
        import subprocess
        p = subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"], capture_output=True)
        if p.returncode == 0:
            figs = os.path.join(out, "figures")
            p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "plot"), out,
                                "-o", figs], capture_output=True, text=True)
            check(p.returncode == 0, "scripts/plot: %s" % (p.stdout + p.stderr)[-2000:])
            check(os.path.exists(os.path.join(figs, "accuracy_vs_time.png")), os.listdir(figs))
            print("scripts/plot: %s" % sorted(os.listdir(figs)))


def case_async_quickstart():
    # The quickstart (Fashion-MNIST, 20 clients, 200 s of virtual time) with fedbuff (C = 20,
    # M = 10) and fedasync (C = 20, alpha 0.6) reaches >= 0.75 within its time budget. Server
    # momentum 0.9 with stale updates diverges (docs/asynchronous.md): fedbuff runs without it.
    qs = os.path.join(ROOT, "scenarios", "quickstart.yaml")
    budget = 200 if SLOW == 1 else 40
    bar = 0.75 if SLOW == 1 else 0.6
    base = ["--set", "algorithm.rounds=100000", "--set", "algorithm.time_budget=%d" % budget]
    with tempfile.TemporaryDirectory() as tmp:
        for name, sets in (("fedbuff", ["--set", "training.momentum=0",
                                        "--set", "evaluation.every=20"]),
                           ("fedasync", ["--set", "training.momentum=null",
                                         "--set", "evaluation.every=200"])):
            out = os.path.join(tmp, name)
            run(["run", qs, "-o", out, "--quiet", "--set", "algorithm.name=" + name] + base + sets)
            s = json.load(open(os.path.join(out, "summary.json")))
            print("%s: %d updates of %d jobs in %g s, final test accuracy %.4f" %
                  (name, s["rounds"], s["jobs"], s["virtual_time"], s["final_test_accuracy"]))
            check(s["final_test_accuracy"] >= bar, "%s: %s" % (name, s))


main(globals())
