#!/usr/bin/env python3
"""End-to-end tests of what goes beyond the paper (docs/stage-time-laws.md,
docs/inclusion-probability.md, docs/replanning.md): usage: e2e_beyond.py FEDGRID REPO_ROOT CASE.

Stage-time laws: the simulator's finished-stage frequencies against the probabilities the
planner and layers.csv use, for every law. Speed changes: a step in the devices' speed (SimGrid
speed profile) against the stage counts it implies. Re-planning: plan.csv's plans, batches that
follow the estimated speeds, and a stopped run resumed byte for byte."""
import math
import os
import signal
import tempfile

from e2e_lib import *  # noqa: F401,F403 (FEDGRID, ROOT, CI, run, rows, check, ...)

STATS = os.path.join(CI, "salf-stats.yaml")
LAWS = [
    ("exponential", []),
    ("deterministic", []),
    ("shifted_exponential", ["timing.shift=0.5"]),
    ("gamma", ["timing.shape=3"]),
    ("gamma", ["timing.shape=0.6"]),
    ("lognormal", ["timing.sigma=1"]),
    ("weibull", ["timing.shape=0.7"]),
    ("pareto", ["timing.alpha=1.5"]),
    ("empirical", ["timing.samples=stage-times-example.csv"]),
]


def case_stage_laws():
    # salf-stats: 5 clients, b_u = P_u, free links, deadline 4: every client's budget is 4 mean
    # stage times, so P(K >= k) is the same for all of them and layers.csv's expected_p (the
    # probability code of the planner and of the inclusion rule) is P(S_k > 4)^5. 1,000 rounds =
    # 5,000 client-rounds per law; every cell within 4 standard errors (binomial).
    U, L, R = 5, 6, 1000 // SLOW
    for law, sets in LAWS:
        with tempfile.TemporaryDirectory() as tmp:
            args = ["run", STATS, "-o", tmp, "--quiet", "--set", "algorithm.rounds=%d" % R,
                    "--set", "timing.stage_time=" + law]
            for s in sets:
                args += ["--set", s]
            run(args)
            cs = rows(os.path.join(tmp, "clients.csv"))
            ls = rows(os.path.join(tmp, "layers.csv"))
            check(len(cs) == U * R, "clients.csv rows")
            late = [c for c in cs if c["reason"] in ("upload", "download")]
            check(not late, "%s: free links, yet %d transfers were late" % (law, len(late)))
            n = len(cs)
            worst = 0.0
            for k in range(1, L + 1):
                s = L - k  # stage s needs the last k stages
                p_none = float(next(l for l in ls if int(l["stage"]) == s)["expected_p"])
                want = 1.0 - p_none ** (1.0 / U)  # P(S_k <= 4) of one client
                got = sum(1 for c in cs if int(c["stages_done"]) >= k) / n
                se = math.sqrt(max(want * (1 - want), 1.0 / n) / n)
                z = abs(got - want) / se
                worst = max(worst, z)
                check(z < 4, "%s %s: P(K >= %d) simulated %.4f, model %.4f (z = %.1f)" %
                      (law, sets, k, got, want, z))
            print("%-20s %-28s worst |z| over K >= 1..6: %.2f" % (law, " ".join(sets), worst))


def case_speed_change():
    # salf-stats (budget = 4 mean stage times) with every device at half speed from t = 2000 s:
    # P(K >= k) is 1 - Q(k, 4) before and 1 - Q(k, 2) after (the stages take twice as long);
    # 2,500 client-rounds each, every k within 4 standard errors. The constant-speed shortcut
    # (sleeps) must be off: only executions honour speed profiles.
    U, L, R = 5, 6, 1000 // SLOW
    half = 4.0 * (R // 2)
    with tempfile.TemporaryDirectory() as tmp:
        run(["run", STATS, "-o", tmp, "--quiet", "--set", "algorithm.rounds=%d" % R,
             "--set", "speed_change={model: step, factor: 0.5, at: %g}" % half])
        cs = rows(os.path.join(tmp, "clients.csv"))
        for part, x in (("before", 4.0), ("after", 2.0)):
            sel = [c for c in cs if (int(c["round"]) <= R // 2) == (part == "before")]
            n = len(sel)
            for k in range(1, L + 1):
                want = 1.0 - q_upper(k, x)
                got = sum(1 for c in sel if int(c["stages_done"]) >= k) / n
                z = abs(got - want) / math.sqrt(max(want * (1 - want), 1.0 / n) / n)
                check(z < 4, "%s the change: P(K >= %d) %.4f, model %.4f (z = %.1f)" %
                      (part, k, got, want, z))
            print("%s the change: mean stages %.3f" %
                  (part, sum(int(c["stages_done"]) for c in sel) / n))


REPLAN = os.path.join(CI, "replanning.yaml")


def case_replanning():
    with tempfile.TemporaryDirectory() as tmp:
        full = os.path.join(tmp, "full")
        run(["run", REPLAN, "-o", full, "--quiet"])
        plan = rows(os.path.join(full, "plan.csv"))
        by = {}
        for p in plan:
            by.setdefault(int(p["round"]), []).append(p)
        check(sorted(by) == list(range(1, 51)), "plan.csv rounds")
        for r, ps in by.items():
            check(int(ps[0]["plan"]) == (r - 1) // 10, "round %d used plan %s" % (r, ps[0]["plan"]))
        total = sum(float(ps[0]["deadline"]) for ps in by.values())
        check(abs(total - 200.0) < 1e-6, "deadlines sum to %.9f, not the budget 200" % total)
        # The prior gives everyone the same batch; the estimates spread them with the speeds.
        check(len({int(p["batch"]) for p in by[1]}) == 1, "round 1: one prior batch for all")
        check(len({int(p["batch"]) for p in by[11]}) > 10, "round 11: batches per client")
        # Clients slowed at t = 100 s get smaller batches in the last plan than before the change,
        # relative to the others (speed_change draws half of them).
        b21 = {int(p["client"]): int(p["batch"]) for p in by[21]}
        b50 = {int(p["client"]): int(p["batch"]) for p in by[50]}
        ratio = sorted(b50[u] / b21[u] for u in b21)
        check(ratio[0] < 0.6 * ratio[-1], "last plan's batches do not follow the slowdown: %s" %
              ratio)
        print("batch(round 50) / batch(round 21) per client: %s" % " ".join("%.2f" % x
                                                                          for x in ratio))
        # Stopped after round 23 and resumed: the same plans, the same bytes.
        part = os.path.join(tmp, "part")
        p = start_run(["run", REPLAN, "-o", part])
        code, err = stop_at_round(p, 23, signal.SIGINT)
        check(code == 128 + signal.SIGINT, "stopped run exit %d\n%s" % (code, err[-2000:]))
        run(["run", "--resume", part, "--quiet"])
        a, b = result_files(full), result_files(part)
        check(sorted(a) == sorted(b), "files differ: %s vs %s" % (sorted(a), sorted(b)))
        for name in a:
            check(a[name] == b[name], "%s differs after --resume" % name)
        print("resumed after round 23: %d files byte-identical" % len(a))


def case_resume_inputs():
    # --resume refuses a run whose stage-time samples (timing.samples) or speed trace
    # (speed_change.file) changed since it stopped: both are in the checkpoint's input
    # fingerprints (timing only: the protocol is what matters here).
    with tempfile.TemporaryDirectory() as tmp:
        samples = os.path.join(tmp, "stage-times.csv")
        trace = os.path.join(tmp, "speeds.csv")
        open(samples, "w").write("time\n0.8\n1.1\n0.9\n1.4\n0.7\n")
        open(trace, "w").write("client,t,factor\n0,10,0.5\n3,20,2\n")
        d = os.path.join(tmp, "run")
        code, err = stop_at_round(start_run([
            "run", STATS, "-o", d, "--threads", "1", "--set", "algorithm.rounds=5000",
            "--set", "timing={stage_time: empirical, samples: %s, timing_only: true}" % samples,
            "--set", "speed_change={model: trace, file: %s}" % trace]), 30, signal.SIGINT)
        check(code == 128 + signal.SIGINT, "stopped run exit %d\n%s" % (code, err[-2000:]))
        for f, what in ((samples, "stage times"), (trace, "speed trace")):
            before = open(f, "rb").read()
            open(f, "wb").write(before.replace(b"0.", b"0.0", 1) if f == samples
                                else before.replace(b"0.5", b"0.6"))
            out = run(["run", "--resume", d, "--quiet"], expect=2)
            check(f in out and ("the %s file" % what in out or "changed" in out), out)
            open(f, "wb").write(before)
            print("changed %s: refused" % what)


main(globals())
