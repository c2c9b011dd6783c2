#!/usr/bin/env python3
"""End-to-end tests of the fedgrid binary: usage: e2e.py FEDGRID REPO_ROOT CASE.

Each case runs real simulations in their own processes (SimGrid allows one engine per process)
and fails on SimGrid's "Deadlock detected", a non-zero exit or a wrong result."""
import csv
import gzip
import struct
import glob
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from e2e_lib import *  # noqa: F401,F403 (FEDGRID, ROOT, CI, run, rows, check, ...)


def case_cli_help():
    for cmd in (["--help"], ["run", "--help"], ["validate", "--help"], ["plan", "--help"],
                ["platform", "--help"]):
        out = run(cmd)
        check("usage" in out, "no usage text for %s" % cmd)
    with tempfile.TemporaryDirectory() as tmp:  # SimGrid options pass through to the engine
        run(["run", os.path.join(CI, "synthetic-deadline.yaml"), "-o", tmp, "--quiet",
             "--cfg=network/model:CM02", "--log=root.thres:critical"])
        check(os.path.exists(os.path.join(tmp, "summary.json")), "run with --cfg did not finish")
    out = run(["run", os.path.join(CI, "synthetic-deadline.yaml"), "--bogus"], expect=2)
    check("unknown option '--bogus'" in out, out)
    out = run(["frobnicate"], expect=2)
    check("unknown command" in out, out)
    run([], expect=2)


def check_bad_files(pattern, command, lines=(0, 2), writes_nothing=False):
    """Every file matching `pattern` must make `command(path, out_dir)` exit 2 with a message
    holding each of its '# expect:' lines (FILE = its path), printed in `lines` (min, max) lines,
    and leave no summary.json in out_dir (nor out_dir at all when `writes_nothing`)."""
    files = sorted(glob.glob(pattern))
    check(len(files) >= 10, "expected at least 10 bad files in %s, found %d" % (pattern,
                                                                               len(files)))
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            expects = [l.split(":", 1)[1].strip() for l in open(path) if l.startswith("# expect:")]
            check(expects, "%s has no '# expect:' line" % path)
            out_dir = os.path.join(tmp, os.path.basename(path))
            out = run(command(path, out_dir), expect=2)
            for e in expects:
                check(e.replace("FILE", path) in out, "%s: message lacks %r:\n%s" % (path, e, out))
            check(lines[0] <= out.count("\n") <= lines[1],
                  "%s: expected one message, got:\n%s" % (path, out))
            check(not os.path.exists(os.path.join(out_dir, "summary.json")),
                  "%s: a failed run left summary.json" % path)
            check(not (writes_nothing and os.path.exists(out_dir)), "%s: wrote files" % path)


def case_bad_inputs():
    check_bad_files(os.path.join(ROOT, "tests", "sim", "bad", "*.yaml"),
                    lambda path, out: ["run", path, "-o", out, "--quiet"])


def case_deadline_rounds():
    with tempfile.TemporaryDirectory() as tmp:
        run(["run", os.path.join(CI, "synthetic-deadline.yaml"), "-o", tmp, "--quiet"])
        for name in ("rounds.csv", "clients.csv", "layers.csv", "plan.csv", "partition.csv",
                     "platform.xml", "summary.json", "manifest.json"):
            check(os.path.exists(os.path.join(tmp, name)), "missing " + name)
        summary = json.load(open(os.path.join(tmp, "summary.json")))
        check(summary["complete"] is True and summary["rounds"] == 40, summary)
        rs = rows(os.path.join(tmp, "rounds.csv"))
        check(len(rs) == 40, "rounds.csv has %d rows" % len(rs))
        for r in rs:
            d = float(r["t_end"]) - float(r["t_start"])
            check(abs(d - 0.5) < 1e-9, "round %s lasted %r, deadline 0.5" % (r["round"], d))
            check(int(r["full"]) + int(r["partial"]) + int(r["dropped"]) == 10, r)
            check(int(r["partial"]) == 0, "fedavg-deadline must not count partial updates")
        cs = rows(os.path.join(tmp, "clients.csv"))
        check(len(cs) == 400, "clients.csv has %d rows" % len(cs))
        full = [c for c in cs if c["status"] == "full"]
        dropped = [c for c in cs if c["status"] == "dropped"]
        check(full and dropped, "expected both full and dropped clients")
        for c in full:
            check(float(c["t_done"]) <= float(rs[int(c["round"]) - 1]["t_end"]) + 1e-9, c)
        ls = rows(os.path.join(tmp, "layers.csv"))
        check(len(ls) == 40 * 4, "layers.csv rows")
        for l in ls:  # every stage gets exactly the full clients of its round
            check(int(l["contributors"]) == int(rs[int(l["round"]) - 1]["full"]), l)


def case_determinism():
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        scen = os.path.join(CI, "synthetic-deadline.yaml")
        run(["run", scen, "-o", a, "--quiet"])
        run(["run", scen, "-o", b, "--quiet"])
        names = sorted(n for n in os.listdir(a) if n != "wall.json")
        check(names == sorted(n for n in os.listdir(b) if n != "wall.json"), "file lists differ")
        for n in names:
            if n == "manifest.json":  # names the output folder in the command line
                continue
            check(open(os.path.join(a, n), "rb").read() == open(os.path.join(b, n), "rb").read(),
                  "%s differs between two runs with the same seed" % n)
        c = os.path.join(tmp, "c")
        run(["run", scen, "-o", c, "--quiet", "--seed", "8"])
        check(open(os.path.join(a, "clients.csv")).read() !=
              open(os.path.join(c, "clients.csv")).read(), "another seed gave the same run")


def erlang_cdf(k, rate, x):
    # P(Erlang(k, rate) <= x) = 1 - e^{-rate x} sum_{j<k} (rate x)^j / j!
    y = rate * x
    term, s = 1.0, 1.0
    for j in range(1, k):
        term *= y / j
        s += term
    return 1.0 - math.exp(-y) * s


def expected_max_erlang(k, rates):
    # E[max] = integral_0^inf (1 - prod_u F_u(x)) dx, trapezoid on a fine grid.
    hi = 60.0 * k / min(rates)
    n = 200000
    h = hi / n
    total = 0.0
    for i in range(n + 1):
        x = i * h
        prod = 1.0
        for r in rates:
            prod *= erlang_cdf(k, r, x)
        w = 0.5 if i in (0, n) else 1.0
        total += w * (1.0 - prod)
    return total * h


def case_fedavg_round_time():
    with tempfile.TemporaryDirectory() as tmp:
        run(["run", os.path.join(CI, "fedavg-timing.yaml"), "-o", tmp, "--quiet"])
        xml = open(os.path.join(tmp, "platform.xml")).read()
        speeds = [float(s) for s in re.findall(r'<host id="client-\d+" speed="([^"f]+)f?"', xml)]
        check(len(speeds) == 20, "expected 20 client speeds in platform.xml, found %d" % len(speeds))
        batch, stages = 20, 6
        rates = [s / batch for s in speeds]  # stage time ~ Exp(mean batch / speed)
        expected = expected_max_erlang(stages, rates)
        rs = rows(os.path.join(tmp, "rounds.csv"))
        durations = [float(r["duration"]) for r in rs]
        mean = sum(durations) / len(durations)
        rel = abs(mean - expected) / expected
        print("fedavg mean round %.5f, expected E[max Erlang] %.5f, rel. error %.4f" %
              (mean, expected, rel))
        # 3000 rounds: the standard error of the mean is about 0.4%; 2% is the bound.
        check(rel < 0.02, "mean round time %.5f vs expected %.5f" % (mean, expected))
        for r in rs:
            check(int(r["full"]) == 20, "wait-for-all round without 20 full updates: %s" % r)


def case_learning():
    with tempfile.TemporaryDirectory() as tmp:
        run(["run", os.path.join(CI, "synthetic-deadline.yaml"), "-o", tmp, "--quiet",
             "--set", "algorithm.rounds=80", "--set", "algorithm.time_budget=40"])
        rs = rows(os.path.join(tmp, "rounds.csv"))
        first, last = float(rs[0]["test_accuracy"]), float(rs[-1]["test_accuracy"])
        print("test accuracy: round 1 %.3f, round %d %.3f" % (first, len(rs), last))
        check(last > 0.8, "synthetic 4-class task should exceed 80%% accuracy, got %.3f" % last)
        check(float(rs[-1]["train_loss"]) < float(rs[0]["train_loss"]), "loss did not decrease")


def case_platform_command():
    with tempfile.TemporaryDirectory() as tmp:
        scen = os.path.join(CI, "synthetic-deadline.yaml")
        a, b = os.path.join(tmp, "a.xml"), os.path.join(tmp, "b.xml")
        run(["platform", scen, "-o", a])
        run(["platform", scen, "-o", b])
        check(open(a).read() == open(b).read(), "platform generation is not byte-stable")
        check(open(a).read().count('<host id="client-') == 10, "expected 10 client hosts")
        run(["platform", scen, "-o", b, "--seed", "99"])
        check(open(a).read() != open(b).read(), "another seed gave the same platform")


def case_salf_stats():
    with tempfile.TemporaryDirectory() as tmp:
        run(["run", os.path.join(CI, "salf-stats.yaml"), "-o", tmp, "--quiet"])
        plan = rows(os.path.join(tmp, "plan.csv"))
        check(sorted({int(p["batch"]) for p in plan}) == [50, 200],
              "paper batch rule should give b_u = P_u (50 or 200)")
        U, L, x, R = 5, 6, 4.0, 4000
        cs = rows(os.path.join(tmp, "clients.csv"))
        check(len(cs) == U * R, "clients.csv rows")
        n = len(cs)
        late = [c for c in cs if c["reason"] in ("upload", "download")]
        check(not late, "free links, yet %d transfers missed the deadline" % len(late))
        counts = [0] * (L + 1)
        for c in cs:
            counts[int(c["stages_done"])] += 1
        # P(min(Poisson(x), L) = k); with 20,000 draws the standard error is <= 0.0035, so the
        # tolerance of 0.015 is more than 4 standard errors.
        for k in range(L + 1):
            pmf = math.exp(-x) * x ** k / math.factorial(k)
            want = pmf if k < L else 1.0 - q_upper(L, x)  # P(Poisson(x) >= L) = 1 - Q(L, x)
            got = counts[k] / n
            print("K=%d: frequency %.4f, min(Poisson(4), 6) %.4f" % (k, got, want))
            check(abs(got - want) < 0.015, "K=%d frequency %.4f vs %.4f" % (k, got, want))
        ls = rows(os.path.join(tmp, "layers.csv"))
        for s in range(L):
            stage = [l for l in ls if int(l["stage"]) == s]
            empty = sum(1 for l in stage if int(l["contributors"]) == 0) / len(stage)
            want = q_upper(L - s, x) ** U
            expected_col = float(stage[0]["expected_p"])
            print("stage %d: no contributor %.4f, Q(%d, 4)^5 = %.4f (layers.csv %.4f)" %
                  (s, empty, L - s, want, expected_col))
            check(abs(expected_col - want) < 1e-3, "expected_p column %.5f vs %.5f" %
                  (expected_col, want))
            # 4,000 rounds: standard error <= 0.008; tolerance 0.03.
            check(abs(empty - want) < 0.03, "stage %d: %.4f vs %.4f" % (s, empty, want))


def case_mnist_salf():
    with tempfile.TemporaryDirectory() as tmp:
        run(["run", os.path.join(CI, "mnist-mlp.yaml"), "-o", tmp, "--quiet"])
        rs = rows(os.path.join(tmp, "rounds.csv"))
        last = float(rs[-1]["test_accuracy"])
        print("MNIST SALF test accuracy after 30 rounds: %.3f" % last)
        check(last > 0.6, "MNIST MLP should pass 60%% in 30 SALF rounds, got %.3f" % last)
        check(sum(int(r["partial"]) for r in rs) > 0, "SALF run without any partial update")
        ls = rows(os.path.join(tmp, "layers.csv"))
        for r in range(1, 31):
            counts = [int(l["contributors"]) for l in ls if int(l["round"]) == r]
            check(counts == sorted(counts), "round %d: contributors must grow towards the output "
                  "stage: %s" % (r, counts))
        cs = rows(os.path.join(tmp, "clients.csv"))
        sizes = [784 * 32, 32, 32 * 16, 16, 16 * 10, 10]  # the MLP's stages, input first
        for c in cs:  # an upload carries exactly its finished stages (float32), from the output
            k = int(c["stages_done"])
            if c["status"] == "partial":
                check(0 < k < 6, c)
            if c["status"] in ("partial", "full"):
                check(int(c["bytes_up"]) == 4 * sum(sizes[6 - k:]), c)
        part = rows(os.path.join(tmp, "partition.csv"))
        check(len(part) == 10 and all(int(p["samples"]) >= 50 for p in part), "partition.csv")


def case_adel_plan():
    with tempfile.TemporaryDirectory() as tmp:
        out = run(["plan", os.path.join(CI, "adel-reference-plan.yaml"), "-o", tmp])
        m = re.search(r"m = ([0-9.]+), objective ([0-9.]+)", out)
        check(m, "plan output lacks m and objective:\n" + out[:2000])
        m_star, f = float(m.group(1)), float(m.group(2))
        print("m* = %.6f, objective = %.7f" % (m_star, f))
        check(abs(m_star - 0.6495) < 1e-3, "m* %.6f, reference 0.6495" % m_star)
        check(abs(f - 689.2687) / 689.2687 < 1e-5, "objective %.7f, reference 689.2687" % f)
        plan = rows(os.path.join(tmp, "plan.csv"))
        T = [float(p["deadline"]) for p in plan if p["client"] == "0"]
        check(len(T) == 50 and abs(sum(T) - 200) < 1e-6, "50 deadlines summing to 200")
        check(all(a >= b - 1e-12 for a, b in zip(T, T[1:])), "deadlines must not increase")
        ref = {1: 4.674, 2: 4.573, 3: 4.499, 5: 4.391, 10: 4.219, 13: 4.146, 26: 3.933,
               38: 3.801, 50: 3.699}
        for t, want in ref.items():
            check(abs(T[t - 1] - want) < 0.02, "T_%d = %.4f, reference %.3f" % (t, T[t - 1], want))
        # The uniform-deadline objective (m = 1) next to the optimum, and the batches from the
        # CSV's P_u and B_u (spec 4.6's reference batches, not the platform's).
        u = re.search(r"uniform deadlines, m = 1: ([0-9.]+)", out)
        check(u and abs(float(u.group(1)) - 706.986) < 1e-3, "uniform objective: %s" % out[:400])
        b = [int(p["batch"]) for p in plan if p["round"] == "1"]
        check(b == [939, 2874, 2292, 3849, 3322, 1248, 1346, 3547, 4753, 4094, 1550, 2417, 3013,
                    3676, 1673, 2536, 2552, 59, 3723, 3783], "batches from inputs_csv: %s" % b)
        run(["plan", os.path.join(CI, "adel-reference-plan.yaml"), "--set",
             "algorithm.time_budget=150"], expect=2)


def idx_images(n, rows=28, cols=28, magic=0x803):
    return struct.pack(">IIII", magic, n, rows, cols) + bytes((i * 31) % 256 for i in range(n * rows * cols))


def idx_labels(n, magic=0x801, bad=None):
    return struct.pack(">II", magic, n) + bytes(bad if (bad is not None and i == n - 1) else i % 10
                                                for i in range(n))


def case_corrupt_data():
    """Each corrupt data folder must give exit code 2 and a message naming the file."""
    good = {"train-images-idx3-ubyte": idx_images(60), "train-labels-idx1-ubyte": idx_labels(60),
            "t10k-images-idx3-ubyte": idx_images(20), "t10k-labels-idx1-ubyte": idx_labels(20)}
    cases = {
        "bad-image-magic": ("train-images-idx3-ubyte", idx_images(60, magic=0x804), "0x00000803"),
        "bad-label-magic": ("train-labels-idx1-ubyte", idx_labels(60, magic=0x802), "0x00000801"),
        "truncated-images": ("train-images-idx3-ubyte", idx_images(60)[:-100], "train-images"),
        "truncated-labels": ("t10k-labels-idx1-ubyte", idx_labels(20)[:-3], "t10k-labels"),
        "label-out-of-range": ("train-labels-idx1-ubyte", idx_labels(60, bad=12), "12"),
        "count-mismatch": ("train-labels-idx1-ubyte", idx_labels(59), "train-labels"),
        "zero-images": ("t10k-images-idx3-ubyte", idx_images(0), "t10k-images"),
        "truncated-gzip": ("train-images-idx3-ubyte.gz", gzip.compress(idx_images(60))[:300],
                           "train-images-idx3-ubyte.gz"),
        "bad-gzip-crc": ("t10k-labels-idx1-ubyte.gz",
                         gzip.compress(idx_labels(20))[:-8] + b"\0\0\0\0\0\0\0\0",
                         "t10k-labels-idx1-ubyte.gz"),
        "missing-file": ("t10k-labels-idx1-ubyte", None, "t10k-labels-idx1-ubyte"),
        "size-mismatch": ("t10k-images-idx3-ubyte", idx_images(20, 14, 14), "t10k-images"),
        "trailing-data": ("train-images-idx3-ubyte", idx_images(60) + b"xx", "train-images"),
    }
    base = os.path.join(ROOT, "tests", "sim", "bad", "no-budget.yaml")
    check(len(cases) >= 10, "at least 10 corrupt data cases")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (fname, content, expect) in cases.items():
            d = os.path.join(tmp, name)
            os.makedirs(d)
            files = dict(good)
            files.pop(fname.replace(".gz", ""), None)
            if content is not None:
                files[fname] = content
            for f, b in files.items():
                open(os.path.join(d, f), "wb").write(b)
            out = run(["run", base, "-o", os.path.join(tmp, name + "-out"), "--quiet",
                       "--set", "algorithm.time_budget=3", "--set", "data.dataset=mnist",
                       "--set", "data.path=" + d, "--set", "data.synthetic=null",
                       "--set", "model=../../../models/mlp.yaml", "--set", "clients=2"],
                      expect=2)
            check(expect in out, "%s: message lacks %r:\n%s" % (name, expect, out))
            check(os.path.join(d, "") [:-1] in out or fname.split(".")[0] in out,
                  "%s: message does not name the file:\n%s" % (name, out))
        # A gzip bomb: a valid image file followed by 20 GB of zeros in 20 MB of deflate data.
        # Only one byte past what the header announces is inflated (it was all of it: ~15 s of
        # CPU), so the run is refused in a fraction of a second of CPU time.
        import zlib
        d = os.path.join(tmp, "bomb")
        os.makedirs(d)
        for f, b in good.items():
            open(os.path.join(d, f), "wb").write(b)
        os.remove(os.path.join(d, "train-images-idx3-ubyte"))
        def segment(data):
            c = zlib.compressobj(1, zlib.DEFLATED, -15)
            return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, independent
        zeros = segment(bytes(1 << 20))
        with open(os.path.join(d, "train-images-idx3-ubyte.gz"), "wb") as f:
            f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + segment(idx_images(60)))
            for _ in range(20000):
                f.write(zeros)
            f.write(b"\x03\x00" + bytes(8))  # final empty block, a (wrong) trailer
        t0 = os.times()
        out = run(["run", base, "-o", os.path.join(tmp, "bomb-out"), "--quiet",
                   "--set", "algorithm.time_budget=3", "--set", "data.dataset=mnist",
                   "--set", "data.path=" + d, "--set", "data.synthetic=null",
                   "--set", "model=../../../models/mlp.yaml", "--set", "clients=2"], expect=2)
        t1 = os.times()
        cpu = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
        print("gzip bomb (20 GB of zeros): refused after %.2f s of CPU" % cpu)
        check("trailing data" in out and "train-images" in out, out)
        check(cpu < 3.0, "the bomb was inflated: %.1f s of CPU" % cpu)


SWEEPS = os.path.join(ROOT, "tests", "sim", "sweeps")
T975 = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305}  # Student t quantiles, p = 0.975


def dry_run(sweep, out, *extra):
    lines = run(["sweep", sweep, "-o", out, "--dry-run"] + list(extra)).strip().split("\n")
    runs = [shlex.split(l) for l in lines[:-1]]
    return {r[0]: r for r in runs}, [r[0] for r in runs], lines[-1]


def case_sweep_expand():
    out = run(["sweep", "--help"])
    check("usage: fedgrid sweep" in out and "zip:" in out, "sweep --help lacks the schema")
    with tempfile.TemporaryDirectory() as tmp:
        runs, ids, last = dry_run(os.path.join(SWEEPS, "expand.yaml"), tmp)
        check(len(ids) == 2 * 3 * 2 * 2 and last.startswith("24 runs (0 complete, 24 to run)"),
              "expected 24 runs, got %d: %s" % (len(ids), last))
        # Order: scenario, grid keys (file order), zip groups, seed last; the last axis fastest.
        want = ["%s_%s_%s_seed%d" % (b, lr, net, seed)
                for b in ("synthetic-deadline", "fedavg-timing")
                for lr in ("slow", "mid", "fast") for net in ("lan", "wan") for seed in (4, 5)]
        check(ids == want, "run ids/order:\n%s\nexpected\n%s" % (ids, want))
        check(not os.listdir(tmp), "--dry-run wrote files")
        r = runs["fedavg-timing_mid_wan_seed5"]
        check(r[1] == "pending" and r[2] == os.path.join(ROOT, "scenarios/ci/fedavg-timing.yaml"),
              r)
        sets = [r[i + 1] for i in range(3, len(r)) if r[i] == "--set"]
        check(sets == ["algorithm.rounds=5", "algorithm.time_budget=5", "training.lr=0.1",
                       "platform.generate.latency={dist: constant, value: 0.01}",
                       "platform.generate.bandwidth={dist: constant, value: 1.0e7}", "seed=5"],
              "overrides of one run: %s" % sets)
        runs, ids, last = dry_run(os.path.join(SWEEPS, "tiny.yaml"), tmp, "--set",
                                  "algorithm.rounds=3")
        check(len(ids) == 12 and runs[ids[0]][-1] == "algorithm.rounds=3", "command-line --set "
              "must come last: %s" % runs[ids[0]])
        out = run(["sweep", os.path.join(SWEEPS, "tiny.yaml"), "-j", "0"], expect=2)
        check("-j expects an integer" in out, out)
        out = run(["sweep", os.path.join(SWEEPS, "tiny.yaml"), "--emit", "pbs"], expect=2)
        check("--emit expects slurm or parallel" in out, out)


def case_sweep_bad_files():
    check_bad_files(os.path.join(ROOT, "tests", "sim", "bad-sweeps", "*.yaml"),
                    lambda path, out: ["sweep", path, "-o", out], lines=(1, 1),
                    writes_nothing=True)


def mtimes(folder):
    return {d: os.stat(os.path.join(folder, "runs", d, "summary.json")).st_mtime_ns
            for d in os.listdir(os.path.join(folder, "runs"))
            if os.path.exists(os.path.join(folder, "runs", d, "summary.json"))}


def case_sweep_resume():
    sweep = os.path.join(SWEEPS, "tiny.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        out = run(["sweep", sweep, "-o", tmp, "-j", "2"])
        check("12 runs: 12 complete" in out, out)
        before = mtimes(tmp)
        check(len(before) == 12, "12 run folders with summary.json expected")
        out = run(["sweep", sweep, "-o", tmp, "-j", "2"])  # nothing to do
        check("done in" not in out and "12 runs: 12 complete" in out, out)
        check(mtimes(tmp) == before, "a complete run was run again")
        # An interrupted run (no summary.json) runs again; the others are skipped.
        victim = "salf_two-tier_seed2"
        os.remove(os.path.join(tmp, "runs", victim, "summary.json"))
        _, _, last = dry_run(sweep, tmp)
        check(last.startswith("12 runs (11 complete, 1 to run)"), last)
        out = run(["sweep", sweep, "-o", tmp, "-j", "2"])
        after = mtimes(tmp)
        check(out.count("done in") == 1 and victim in out, out)
        check(after[victim] != before[victim] and
              all(after[k] == before[k] for k in before if k != victim), "resume re-ran others")
        # Another resolved scenario (here: a command-line override) makes every run stale.
        runs, ids, last = dry_run(sweep, tmp, "--set", "algorithm.rounds=5")
        check(last.startswith("12 runs (0 complete, 12 to run)"), last)
        out = run(["sweep", sweep, "-o", tmp, "--collect", "--set", "algorithm.rounds=5"],
                  expect=1)
        check("12 stale" in out, out)
        # A run that fails is reported, listed as failed, and the sweep exits 1.
        out = run(["sweep", sweep, "-o", tmp, "-j", "2", "--set", "algorithm.time_budget=0.01"],
                  expect=1)
        check("FAILED (exit 2)" in out and "12 failed" in out, out[-2000:])
        check(all(r["status"] == "failed" for r in rows(os.path.join(tmp, "index.csv"))),
              "index.csv should list the failed runs")
        check("deadline" in open(os.path.join(tmp, "logs", victim + ".log")).read(),
              "the failed run's log should hold its error")


def mean_ci(xs):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return m, T975[len(xs) - 1] * sd / math.sqrt(len(xs))


def case_sweep_tables():
    sweep = os.path.join(SWEEPS, "tiny.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        run(["sweep", sweep, "-o", tmp, "-j", "2", "--quiet"])
        index = rows(os.path.join(tmp, "index.csv"))
        check(len(index) == 12, "index.csv rows: %d" % len(index))
        check(list(index[0].keys())[:5] == ["id", "algorithm.name", "platform", "seed",
                                            "algorithm"], list(index[0].keys()))
        for r in index:
            d = os.path.join(tmp, "runs", r["id"])
            summ = json.load(open(os.path.join(d, "summary.json")))
            wall = json.load(open(os.path.join(d, "wall.json")))
            rs = rows(os.path.join(d, "rounds.csv"))
            hit = [float(x["t_end"]) for x in rs if float(x["test_accuracy"]) >= 0.9]
            check(r["status"] == "complete" and r["algorithm"] == r["algorithm.name"] ==
                  summ["algorithm"], r)
            check(r["id"] == "%s_%s_seed%s" % (r["algorithm.name"], r["platform"], r["seed"]), r)
            check(int(r["rounds"]) == summ["rounds"] == 20 and float(r["virtual_time"]) == 10, r)
            check(abs(float(r["final_test_accuracy"]) - summ["final_test_accuracy"]) < 1e-9, r)
            check(abs(float(r["test_accuracy_at_limit"]) - float(rs[-1]["test_accuracy"])) < 1e-9,
                  r)
            check(abs(float(r["time_to_target"]) - hit[0]) < 1e-9 if hit else
                  r["time_to_target"] == "", "time_to_target %s, rounds.csv %s" % (r, hit[:1]))
            check(abs(float(r["wall_seconds"]) - wall["wall_seconds"]) < 1e-6, r)
            check(abs(float(r["heterogeneity"]) - summ["speed_cv"]) < 1e-9, r)
            # two-tier f = 0.2, k = 10: std = sqrt(f (1 - f)) (v - v / k) = 0.36 v, mean = 0.82 v
            want_cv = 0.0 if r["platform"] == "homogeneous" else 0.36 / 0.82
            check(abs(float(r["heterogeneity"]) - want_cv) < 1e-6, "CV %s" % r["heterogeneity"])
        agg = rows(os.path.join(tmp, "aggregate.csv"))
        check(len(agg) == 4, "aggregate.csv rows: %d" % len(agg))
        for g in agg:
            group = [r for r in index if r["algorithm.name"] == g["algorithm.name"] and
                     r["platform"] == g["platform"]]
            check(len(group) == 3 and g["runs"] == g["planned"] == "3" and "seed" not in g, g)
            for col in ("final_test_accuracy", "wall_seconds", "time_to_target"):
                xs = [float(r[col]) for r in group if r[col] != ""]
                m, ci = mean_ci(xs)
                print("%s %s %s: mean %.6f ci95 %.6f" % (g["algorithm.name"], g["platform"], col,
                                                         m, ci))
                check(abs(float(g[col + "_mean"]) - m) < 1e-7 * max(1, abs(m)), (col, g))
                check(abs(float(g[col + "_ci95"]) - ci) < 1e-6 * max(1e-3, ci), (col, g))
            check(g["reached"] == str(sum(r["time_to_target"] != "" for r in group)), g)
        meta = json.load(open(os.path.join(tmp, "sweep.json")))
        check([a["kind"] for a in meta["axes"]] == ["grid", "zip", "seed"], meta)
        # --collect rebuilds the same tables from the folders alone.
        before = open(os.path.join(tmp, "index.csv")).read()
        os.remove(os.path.join(tmp, "index.csv"))
        run(["sweep", sweep, "-o", tmp, "--collect"])
        check(open(os.path.join(tmp, "index.csv")).read() == before, "--collect differs")
        # --emit parallel: one command per run not yet complete.
        shutil.rmtree(os.path.join(tmp, "runs", index[0]["id"]))
        run(["sweep", sweep, "-o", tmp, "--emit", "parallel"])
        jobs = open(os.path.join(tmp, "jobs.txt")).read().strip().split("\n")
        check(len(jobs) == 1 and index[0]["id"] in jobs[0] and " run " in jobs[0], jobs)
        p = subprocess.run(["bash", "-c", jobs[0]], capture_output=True, text=True)
        check(p.returncode == 0, p.stderr)
        run(["sweep", sweep, "-o", tmp, "--collect"])
        check(open(os.path.join(tmp, "index.csv")).read().split("\n")[1].split(",")[:6] ==
              before.split("\n")[1].split(",")[:6], "re-run from jobs.txt not collected")


def case_cnn2_fmnist():
    import time
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        run(["run", os.path.join(CI, "cnn2-fmnist.yaml"), "-o", tmp, "--quiet"])
        wall = time.time() - t0
        rs = rows(os.path.join(tmp, "rounds.csv"))
        last = float(rs[-1]["test_accuracy"])
        print("CNN2 / Fashion-MNIST, fedavg, %d rounds: test accuracy %.4f, %.1f s wall" %
              (len(rs), last, wall))
        check(len(rs) == 300, "expected 300 rounds, found %d" % len(rs))
        check(last >= 0.80, "CNN2 should reach 80%% on Fashion-MNIST, got %.4f" % last)
        cs = rows(os.path.join(tmp, "clients.csv"))
        check(all(c["status"] == "full" and int(c["stages_done"]) == 8 for c in cs),
              "fedavg: every client must finish the 8 stages of CNN2")
        check(all(int(c["bytes_up"]) == 4 * 6422 for c in cs), "uploads carry 6,422 floats")


def write_cifar(folder, per_batch, test, seed=11):
    """Small CIFAR-10 binary files: class c has its own random mean image; samples add noise."""
    import random
    rng = random.Random(seed)
    means = [[rng.randrange(40, 216) for _ in range(3072)] for _ in range(10)]

    def batch(path, n, start):
        out = bytearray()
        for i in range(n):
            c = (start + i) % 10
            out.append(c)
            out += bytes(max(0, min(255, m + rng.randrange(-60, 61))) for m in means[c])
        open(path, "wb").write(bytes(out))

    for b in range(5):
        batch(os.path.join(folder, "data_batch_%d.bin" % (b + 1)), per_batch, b * per_batch)
    batch(os.path.join(folder, "test_batch.bin"), test, 0)


def case_cifar_small():
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "cifar")
        os.makedirs(data)
        scen = os.path.join(ROOT, "tests", "sim", "cifar-small.yaml")
        out = run(["run", scen, "-o", os.path.join(tmp, "x"), "--set", "data.path=" + data],
                  expect=2)  # the folder has no files yet: the message says where to put them
        check("data_batch_1.bin" in out and "cifar-10-binary.tar.gz" in out, out)
        write_cifar(data, 200, 300)
        res = os.path.join(tmp, "run")
        run(["run", scen, "-o", res, "--quiet", "--set", "data.path=" + data])
        rs = rows(os.path.join(res, "rounds.csv"))
        accs = [float(r["test_accuracy"]) for r in rs if r["test_accuracy"]]
        print("CIFAR-format CNN2, SALF: test accuracy %s" % " ".join("%.3f" % a for a in accs))
        check(accs[-1] > 0.3, "should learn well above chance (0.1), got %.3f" % accs[-1])
        check(sum(int(r["partial"]) for r in rs) > 0, "SALF run without partial updates")
        part = rows(os.path.join(res, "partition.csv"))
        check(sum(int(p["samples"]) for p in part) == 1000, "5 x 200 training samples in 5 shards")


def case_cnn2_paper_scenarios():
    # Two rounds of each paper CNN2 scenario; SALF with the real math, the others timing-only
    # (their math is the same CNN2 gradient, and 20 clients x ~1,250 samples cost seconds each).
    with tempfile.TemporaryDirectory() as tmp:
        for algo in ("adel-fl", "salf", "fedavg-deadline", "fedavg"):
            scen = os.path.join(ROOT, "scenarios", "paper", "cnn2-%s.yaml" % algo)
            res = os.path.join(tmp, algo)
            run(["run", scen, "-o", res, "--quiet", "--set", "algorithm.rounds=2", "--set",
                 "timing.timing_only=%s" % ("false" if algo == "salf" else "true")])
            summary = json.load(open(os.path.join(res, "summary.json")))
            check(summary["complete"] is True and summary["rounds"] == 2, summary)
            ls = rows(os.path.join(res, "layers.csv"))
            check(len(ls) == 2 * 8, "%s: CNN2 has 8 stages per round" % algo)


def case_sweep_plot():
    """scripts/plot on the tiny sweep and on one of its runs (exit 77 = skipped when Debian's
    matplotlib or pandas is missing)."""
    py = "/usr/bin/python3"
    if subprocess.run([py, "-c", "import matplotlib, pandas"],
                      capture_output=True).returncode != 0:
        print("python3-matplotlib or python3-pandas is not installed: skipped")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        run(["sweep", os.path.join(SWEEPS, "tiny.yaml"), "-o", tmp, "-j", "2", "--quiet"])
        figs = os.path.join(tmp, "figs")
        p = subprocess.run([py, os.path.join(ROOT, "scripts", "plot"), tmp, "-o", figs],
                           capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, p.stdout + p.stderr)
        for name in ("accuracy_vs_time", "deadlines", "contributors", "heterogeneity"):
            for ext in ("png", "svg"):
                f = os.path.join(figs, name + "." + ext)
                check(os.path.getsize(f) > 1000, "missing or empty " + f)
        table = open(os.path.join(figs, "table.md")).read().split("\n")
        body = [l for l in table if l.startswith("| fedavg-deadline") or l.startswith("| salf")]
        check(len(body) == 4, "table.md should list the 4 groups:\n" + "\n".join(table))
        one = os.path.join(tmp, "runs", "salf_two-tier_seed1")
        p = subprocess.run([py, os.path.join(ROOT, "scripts", "plot"), one, "-o", figs + "1",
                            "--formats", "png"], capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, p.stdout + p.stderr)
        for name in ("accuracy_vs_time", "participation", "contributors"):
            f = os.path.join(figs + "1", name + ".png")
            check(os.path.getsize(f) > 1000, "single run: missing or empty " + f)


def case_threads():
    # The math threads (gradients, evaluation chunks) change no result byte: 1, 2 and 3 threads
    # on two real-math scenarios; manifest.json and wall.json record the thread count.
    with tempfile.TemporaryDirectory() as tmp:
        for scen in ("synthetic-deadline.yaml", "mnist-mlp.yaml"):
            base = None
            for t in (1, 2, 3):
                out = os.path.join(tmp, "%s-%d" % (scen, t))
                run(["run", os.path.join(CI, scen), "-o", out, "--quiet", "--threads", str(t)])
                manifest = json.load(open(os.path.join(out, "manifest.json")))
                wall = json.load(open(os.path.join(out, "wall.json")))
                check(manifest["threads"] == t and wall["threads"] == t, (manifest, wall))
                check(wall["gradients"] > 0 and wall["gradient_cpu_seconds"] > 0, wall)
                split = wall["gradient_seconds"] + wall["evaluation_seconds"] + \
                    wall["simulation_seconds"]
                check(abs(split - wall["wall_seconds"]) < 1e-6, "wall.json split: %s" % wall)
                files = result_files(out)
                if base is None:
                    base = files
                    continue
                check(sorted(files) == sorted(base), "file lists differ: %s" % sorted(files))
                for n in base:
                    check(files[n] == base[n], "%s: %s differs between 1 and %d threads" %
                          (scen, n, t))
            print("%s: %d result files identical with 1, 2 and 3 threads" % (scen, len(base)))
    out = run(["run", os.path.join(CI, "synthetic-deadline.yaml"), "--threads", "0"], expect=2)
    check("--threads expects an integer" in out, out)


def case_selection():
    # algorithm.clients_per_round: K of U clients per round (seeded, uniform without
    # replacement); only they appear in clients.csv and plan.csv; with a generated platform the
    # simulator instantiates K host slots (no platform.xml). The run is deterministic, also
    # with guard-less 12 KiB slot stacks (the mode used beyond ~30k slots).
    U, K, R = 10, 4, 200
    scen = os.path.join(CI, "synthetic-deadline.yaml")
    sets = ["--set", "algorithm.clients_per_round=%d" % K, "--set", "algorithm.rounds=%d" % R,
            "--set", "algorithm.time_budget=%g" % (0.5 * R)]
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        run(["run", scen, "-o", a, "--quiet", "--threads", "1"] + sets)
        run(["run", scen, "-o", b, "--quiet", "--threads", "2", "--cfg=contexts/guard-size:0"] +
            sets)
        fa, fb = result_files(a), result_files(b)
        check(sorted(fa) == sorted(fb), "file lists differ")
        for n in fa:
            check(fa[n] == fb[n], "%s differs between two runs of the same seed" % n)
        check("platform.xml" not in fa, "host slots: no platform.xml expected")
        summary = json.load(open(os.path.join(a, "summary.json")))
        check(summary["clients_per_round"] == K and summary["platform"] == "host-slots", summary)
        rs, cs = rows(os.path.join(a, "rounds.csv")), rows(os.path.join(a, "clients.csv"))
        plan = rows(os.path.join(a, "plan.csv"))
        check(len(rs) == R and len(cs) == R * K and len(plan) == R * K,
              "rows: rounds %d clients %d plan %d" % (len(rs), len(cs), len(plan)))
        picked = [0] * U
        subsets = set()
        for r in rs:
            ids = [int(c["client"]) for c in cs if c["round"] == r["round"]]
            planned = [int(p["client"]) for p in plan if p["round"] == r["round"]]
            check(ids == sorted(set(ids)) and len(ids) == K and ids == planned,
                  "round %s: clients %s, plan %s" % (r["round"], ids, planned))
            check(int(r["selected"]) == K and
                  int(r["full"]) + int(r["partial"]) + int(r["dropped"]) == K, r)
            for u in ids:
                picked[u] += 1
            subsets.add(tuple(ids))
        # P(picked) = K/U: mean 80 per client, sd sqrt(R p (1-p)) = 6.9; 5 sd = 35.
        print("selections per client over %d rounds: %s (expected %d)" % (R, picked, R * K // U))
        check(all(abs(p - R * K / U) < 35 for p in picked), "selection frequencies %s" % picked)
        check(len(subsets) > R // 2, "only %d distinct selections" % len(subsets))
        full = sum(int(r["full"]) for r in rs)
        check(full > 0 and float(rs[-1]["test_accuracy"]) > 0.5, "the sampled run did not learn")


def availability_events(path):
    """availability.csv as {client: [(t, state), ...]} with t kept as the written string."""
    ev = {}
    for r in rows(path):
        ev.setdefault(int(r["client"]), []).append((r["t"], r["state"]))
    return ev


def state_at(events, t):
    """'on' or 'off' of one client at time t (events in time order; on before the first)."""
    state = "on"
    for when, what in events:
        if float(when) > t:
            break
        state = what
    return state


def check_availability_run(out, failing_expected=None):
    """Invariants tying clients.csv to the host state changes SimGrid applied."""
    ev = availability_events(os.path.join(out, "availability.csv"))
    rs = {r["round"]: r for r in rows(os.path.join(out, "rounds.csv"))}
    counts = {}
    for c in rows(os.path.join(out, "clients.csv")):
        u, st = int(c["client"]), c["status"]
        counts[st] = counts.get(st, 0) + 1
        t_start = float(rs[c["round"]]["t_start"])
        mine = ev.get(u, [])
        if st == "offline":
            check(state_at(mine, t_start) == "off", "offline but on at round start: %s" % c)
        else:
            check(state_at(mine, t_start) == "on", "%s but off at round start: %s" % (st, c))
        if st == "failed":
            # It failed exactly when its device went off, during the round.
            check((c["t_done"], "off") in mine, "failed without an 'off' at t_done: %s" % c)
            check(c["reason"] in ("download", "compute", "upload"), c)
            check(float(c["t_done"]) >= t_start, c)
    for r in rs.values():
        n = sum(int(r[k]) for k in ("full", "partial", "dropped", "failed", "offline"))
        check(n == int(r["selected"]), "round %s: statuses do not add up: %s" % (r["round"], r))
    if failing_expected is not None:
        check(len(ev) == failing_expected,
              "%d clients changed state, expected %d" % (len(ev), failing_expected))
    return ev, counts


def case_availability():
    # Device failures through SimGrid host state profiles (scenarios/ci/failures.yaml: half of
    # the 20 clients alternate Exp(mean 6 s) up and Exp(mean 3 s) down periods).
    scen = os.path.join(CI, "failures.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        # 1. Statistics of the random model over a long timing-only run (2000 rounds, 1200 s):
        #    about 10 x 1200 / 9 = 1330 cycles; the sample means have a standard error of
        #    1/sqrt(1330) = 2.7%: tolerance 12% (4.4 SE) on the means, 0.04 on the off share.
        out = os.path.join(tmp, "stats")
        run(["run", scen, "-o", out, "--quiet", "--set", "algorithm.rounds=2000",
             "--set", "timing.timing_only=true"])
        ev, counts = check_availability_run(out, failing_expected=10)
        horizon = float(json.load(open(os.path.join(out, "summary.json")))["virtual_time"])
        ups, downs, off_time = [], [], 0.0
        for u, events in ev.items():
            last, state = 0.0, "on"
            for when, what in events:
                check(what != state, "client %d: two '%s' in a row" % (u, what))
                (ups if state == "on" else downs).append(float(when) - last)
                last, state = float(when), what
            if state == "off":  # still off at the end
                off_time += horizon - last
        off_time += sum(downs)
        share = off_time / (10 * horizon)
        mu, md = sum(ups) / len(ups), sum(downs) / len(downs)
        print("up %.3f s (6), down %.3f s (3) over %d/%d periods; off share %.4f (1/3); %s" %
              (mu, md, len(ups), len(downs), share, counts))
        check(abs(mu - 6) < 0.72 and abs(md - 3) < 0.36, "mean up %g, down %g" % (mu, md))
        check(abs(share - 1 / 3) < 0.04, "off share %g" % share)
        # Offline client-rounds: the failing half is off a third of the time -> 1/6 of all.
        off_rounds = counts.get("offline", 0) / (20 * 2000)
        check(abs(off_rounds - 1 / 6) < 0.03, "offline share of client-rounds %g" % off_rounds)
        check(counts.get("failed", 0) > 100, counts)
        # 2. Every algorithm completes with failures in clients.csv (fedavg with a timeout).
        variants = {
            "salf": [],
            "fedavg-deadline": ["--set", "algorithm.name=fedavg-deadline"],
            "adel-fl": ["--set", "algorithm.name=adel-fl", "--set", "algorithm.deadline=null",
                        "--set", "algorithm.time_budget=24", "--set", "algorithm.min_deadline=0.3",
                        "--set", "training.batch_rule=first_round", "--set", "training.batch=null"],
            "fedavg": ["--set", "algorithm.name=fedavg", "--set", "algorithm.deadline=null",
                       "--set", "algorithm.round_timeout=0.8"],
        }
        for name, sets in variants.items():
            out = os.path.join(tmp, name)
            run(["run", scen, "-o", out, "--quiet"] + sets)
            summary = json.load(open(os.path.join(out, "summary.json")))
            check(summary["complete"] and summary["rounds"] == 40, summary)
            _, counts = check_availability_run(out)
            print("%s: %s, test accuracy %s" % (name, counts, summary["final_test_accuracy"]))
            check(counts.get("failed", 0) > 0 and counts.get("offline", 0) > 0, counts)
            check(summary["final_test_accuracy"] > 0.8, "%s did not learn: %s" % (name, summary))
            if name == "fedavg":
                rs = rows(os.path.join(out, "rounds.csv"))
                check(all(float(r["duration"]) <= 0.8 + 1e-9 for r in rs), "round over timeout")
                check(counts.get("dropped", 0) > 0, "no client hit the timeout: %s" % counts)
                cs = rows(os.path.join(out, "clients.csv"))
                check({c["reason"] for c in cs if c["status"] == "dropped"} == {"timeout"}, cs[:3])
        # 3. A trace, hand-checked: client 3 off at 0.61 (in round 2, [0.6, 1.2)) and back at
        #    2.0 (in round 4, [1.8, 2.4)); client 7 off from 0.3 for good.
        trace = os.path.join(tmp, "trace.csv")
        open(trace, "w").write("client,off,on\n3,0.61,2.0\n7,0.3,\n")
        out = os.path.join(tmp, "trace")
        run(["run", scen, "-o", out, "--quiet", "--set", "availability={model: trace, file: %s}"
             % trace])
        ev, _ = check_availability_run(out, failing_expected=2)
        check(ev == {3: [("0.61", "off"), ("2", "on")], 7: [("0.3", "off")]}, ev)
        st = {(int(c["round"]), int(c["client"])): c for c in
              rows(os.path.join(out, "clients.csv"))}
        check(st[(2, 3)]["status"] == "failed" and st[(2, 3)]["t_done"] == "0.61", st[(2, 3)])
        check(st[(3, 3)]["status"] == "offline" and st[(4, 3)]["status"] == "offline", st[(3, 3)])
        check(st[(5, 3)]["status"] in ("full", "partial", "dropped"), "client 3 did not rejoin")
        check(all(st[(r, 7)]["status"] == "offline" for r in range(2, 41)), "client 7 came back")
        check(st[(1, 7)]["status"] == "failed" or float(st[(1, 7)]["t_done"]) <= 0.3, st[(1, 7)])
        # 4. With the XML platform the run wrote, the same profiles give the same results.
        xml = os.path.join(tmp, "xml")
        run(["run", scen, "-o", xml, "--quiet", "--set", "availability={model: trace, file: %s}"
             % trace, "--set", "platform={file: %s}" % os.path.join(out, "platform.xml")])
        for n in ("clients.csv", "availability.csv", "rounds.csv"):
            check(open(os.path.join(xml, n)).read() == open(os.path.join(out, n)).read(),
                  "%s differs between the generated and the XML platform" % n)


def case_interrupt_resume():
    # SIGINT stops cleanly (finished rounds complete, summary.json incomplete, a checkpoint);
    # SIGKILL loses the rounds after the last --checkpoint-every; `run --resume` then gives the
    # bytes of an uninterrupted run. Failures included (availability profiles are replayed).
    scen = os.path.join(CI, "failures.yaml")
    R = 2000 // SLOW
    common = ["--set", "algorithm.rounds=%d" % R, "--threads", "1"]
    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(tmp, "ref")
        run(["run", scen, "-o", ref, "--quiet"] + common)
        want = result_files(ref)
        check("checkpoint" not in want, "a complete run keeps no checkpoint")
        ref_rounds = open(os.path.join(ref, "rounds.csv")).read().splitlines()
        # 1. SIGINT at round 300 (100 in the sanitizer build).
        a = os.path.join(tmp, "a")
        code, err = stop_at_round(start_run(["run", scen, "-o", a, "--checkpoint-every", "7"] +
                                            common), 300 // SLOW, signal.SIGINT)
        check(code == 130 and "Deadlock" not in err, "exit %d:\n%s" % (code, err[-2000:]))
        check("--resume " + a in err, err[-500:])
        summary = json.load(open(os.path.join(a, "summary.json")))
        done = summary["rounds"]
        check(summary["complete"] is False and summary["stopped_by"] == "SIGINT" and
              300 // SLOW <= done < R, summary)
        got = open(os.path.join(a, "rounds.csv")).read().splitlines()
        check(got == ref_rounds[:done + 1], "rounds.csv of the stopped run: %d lines for %d "
              "rounds, or not the reference's prefix" % (len(got), done))
        check(os.path.exists(os.path.join(a, "checkpoint")), "no checkpoint after SIGINT")
        out = run(["run", "--resume", a, "--quiet", "--threads", "2"])
        got = result_files(a)
        check(sorted(got) == sorted(want), "files: %s vs %s" % (sorted(got), sorted(want)))
        for n in want:
            check(got[n] == want[n], "%s differs after SIGINT + resume" % n)
        print("SIGINT after round %d + resume: %d files identical" % (done, len(want)))
        out = run(["run", "--resume", a], expect=2)  # finished: no checkpoint left
        check("complete run: nothing to resume" in out, out)
        # 2. SIGKILL at round 420 with a checkpoint every 50 rounds (400): the rows of rounds
        #    401..420 in the partial files are dropped and redone (140 / 100 when SLOW).
        b = os.path.join(tmp, "b")
        code, err = stop_at_round(start_run(["run", scen, "-o", b, "--checkpoint-every", "50"] +
                                            common), 420 // SLOW, signal.SIGKILL)
        check(code == -signal.SIGKILL, "exit %d" % code)
        check(not os.path.exists(os.path.join(b, "summary.json")), "a killed run has no summary")
        run(["run", "--resume", b, "--quiet"])
        got = result_files(b)
        for n in want:
            check(got.get(n) == want[n], "%s differs after SIGKILL + resume" % n)
        print("SIGKILL at round %d + resume from its last checkpoint: identical" % (420 // SLOW))
        # 2b. A signal early in the run: as soon as manifest.json exists (the handlers are in
        #     place before it is written), i.e. while SimGrid starts or in the first rounds.
        e = os.path.join(tmp, "e")
        p = start_run(["run", scen, "-o", e] + common)
        while not os.path.exists(os.path.join(e, "manifest.json")) and p.poll() is None:
            time.sleep(0.005)
        p.send_signal(signal.SIGINT)
        code = p.wait()
        check(code == 130, "exit %d" % code)
        run(["run", "--resume", e, "--quiet"])
        got = result_files(e)
        for n in want:
            check(got.get(n) == want[n], "%s differs after an early SIGINT + resume" % n)
        # 3. Wait-for-all rounds (their start is the clock, not a deadline), timing only.
        sets = ["--set", "algorithm.name=fedavg", "--set", "algorithm.deadline=null",
                "--set", "algorithm.round_timeout=0.8", "--set", "timing.timing_only=true",
                "--set", "algorithm.rounds=%d" % (3000 // SLOW), "--threads", "1"]
        ref2, c = os.path.join(tmp, "ref2"), os.path.join(tmp, "c")
        run(["run", scen, "-o", ref2, "--quiet"] + sets)
        code, err = stop_at_round(start_run(["run", scen, "-o", c] + sets), 500 // SLOW,
                                  signal.SIGTERM)
        check(code == 143, "exit %d:\n%s" % (code, err[-1000:]))
        run(["run", "--resume", c, "--quiet"])
        want2, got = result_files(ref2), result_files(c)
        for n in want2:
            check(got.get(n) == want2[n], "%s differs after SIGTERM + resume (fedavg)" % n)
        # 4. Refused resumes: a changed scenario, a corrupt checkpoint, extra options, a directory.
        copy = os.path.join(tmp, "copy.yaml")
        text = open(scen).read().replace("../../models/", os.path.join(ROOT, "models") + "/")
        open(copy, "w").write(text)
        d = os.path.join(tmp, "d")
        code, _ = stop_at_round(start_run(["run", copy, "-o", d] + common), 50, signal.SIGINT)
        check(code == 130, "exit %d" % code)
        open(copy, "w").write(text.replace("mean_up: 6", "mean_up: 7"))
        out = run(["run", "--resume", d], expect=2)
        check("changed" in out and copy in out, out)
        open(copy, "w").write(text)
        ck = os.path.join(d, "checkpoint")
        blob = bytearray(open(ck, "rb").read())
        blob[len(blob) // 2] ^= 0xFF
        open(ck, "wb").write(bytes(blob))
        out = run(["run", "--resume", d], expect=2)
        check(ck in out and "corrupt" in out, out)
        out = run(["run", "--resume", d, "--set", "algorithm.rounds=5"], expect=2)
        check("give none of them" in out, out)
        os.remove(ck)
        os.mkdir(ck)  # a directory where the checkpoint should be (found by fuzzing)
        out = run(["run", "--resume", d], expect=2)
        check(ck in out and "a directory" in out, out)


def case_sweep_interrupt():
    # SIGINT to a sweep: it passes SIGTERM to its runs, which stop after their current round
    # with a checkpoint; the next `sweep` resumes them (run --resume) instead of starting over,
    # and their files equal those of uninterrupted runs.
    scen = os.path.join(CI, "failures.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "sweep.yaml")
        open(spec, "w").write("name: interrupt\nbase: %s\nset: {algorithm.rounds: %d}\n"
                              "grid:\n  seed: [1, 2]\n" % (scen, 3000 // SLOW))
        out = os.path.join(tmp, "out")
        p = subprocess.Popen([FEDGRID, "sweep", spec, "-o", out, "-j", "2", "--threads", "1"],
                             stderr=subprocess.PIPE, text=True)
        # Wait until both runs have written a few rounds, then interrupt the sweep only.
        logs = [os.path.join(out, "runs", d, ".rounds.csv.partial") for d in ("seed1", "seed2")]
        for _ in range(300):
            if all(os.path.exists(f) for f in logs):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        err = p.communicate()[1]
        check("interrupted" in err, err[-2000:])
        check("2 stopped" in err, err[-2000:])
        stopped = [json.load(open(os.path.join(out, "runs", d, "summary.json")))
                   for d in ("seed1", "seed2")]
        check(all(s_["complete"] is False and s_["stopped_by"] == "SIGTERM" for s_ in stopped),
              stopped)
        check(all(os.path.exists(os.path.join(out, "runs", d, "checkpoint"))
                  for d in ("seed1", "seed2")), "no checkpoints")
        # Emitted jobs (Slurm / GNU parallel) also continue the stopped runs.
        run(["sweep", spec, "-o", out, "--emit", "parallel"])
        jobs = open(os.path.join(out, "jobs.txt")).read().splitlines()
        check(len(jobs) == 2 and all("run --resume" in j and "runs/seed" in j for j in jobs), jobs)
        res = run(["sweep", spec, "-o", out, "-j", "2", "--threads", "1"])
        check("2 runs: 2 complete" in res, res)
        # ... and really resumed them (each log opens with its command): a run started over
        # would give the same files.
        for d in ("seed1", "seed2"):
            first = open(os.path.join(out, "logs", d + ".log")).readline()
            check(first.startswith("$ ") and " run --resume " in first, first)
        for seed in (1, 2):
            ref = os.path.join(tmp, "ref%d" % seed)
            run(["run", scen, "-o", ref, "--quiet", "--set", "algorithm.rounds=%d" % (3000 // SLOW),
                 "--set", "seed=%d" % seed])
            want = result_files(ref)
            got = result_files(os.path.join(out, "runs", "seed%d" % seed))
            for n in want:
                check(got.get(n) == want[n], "seed %d: %s differs after the resumed sweep" %
                      (seed, n))
            print("seed %d: stopped after round %d, resumed; %d files identical" %
                  (seed, stopped[seed - 1]["rounds"], len(want)))


def wait_for(path, p, timeout=60):
    """Waits until `path` exists (or process p ends); True if it exists."""
    t0 = time.time()
    while not os.path.exists(path) and p.poll() is None and time.time() - t0 < timeout:
        time.sleep(0.01)
    return os.path.exists(path)


def case_one_writer():
    # Two processes never write one folder: the second exits 2 naming the folder and the pid of
    # the first (an OS lock, gone when its holder ends, however it ends). A finished run is not
    # overwritten without --force; a stopped one asks for --resume.
    scen = os.path.join(CI, "failures.yaml")
    # ~15 s of CPU (4 clients a round; plan.csv 600k rows), always stopped early.
    long = ["--set", "algorithm.rounds=150000", "--set", "algorithm.clients_per_round=4",
            "--threads", "1"]
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "d")
        p = start_run(["run", scen, "-o", d, "--quiet"] + long)
        check(wait_for(os.path.join(d, ".rounds.csv.partial"), p), "the first run did not start")
        for second in (["run", scen, "-o", d], ["run", scen, "-o", d, "--force"],
                       ["plan", scen, "-o", d]):
            out = run(second, expect=2)
            check(d in out and "pid %d" % p.pid in out, "no folder or pid named:\n" + out)
        p.send_signal(signal.SIGINT)
        code = p.wait()
        check(code == 130, "exit %d" % code)
        check(not os.path.exists(os.path.join(d, ".fedgrid-lock")), "lock file left behind")
        # A stopped run: a new run there is refused (use --resume); two resumes exclude each other.
        out = run(["run", scen, "-o", d, "--quiet"], expect=2)
        check("--resume " + d in out and "checkpoint" in out, out)
        p = start_run(["run", "--resume", d, "--quiet", "--threads", "1"])
        check(wait_for(os.path.join(d, ".fedgrid-lock"), p), "the resumed run did not start")
        time.sleep(0.3)
        out = run(["run", "--resume", d], expect=2)
        check("pid %d" % p.pid in out, out)
        p.kill()  # SIGKILL: the kernel drops the lock (the lock file stays, harmlessly)
        p.wait()
        # A complete run is kept unless --force.
        e = os.path.join(tmp, "e")
        small = os.path.join(CI, "synthetic-deadline.yaml")
        run(["run", small, "-o", e, "--quiet"])
        before = open(os.path.join(e, "rounds.csv")).read()
        out = run(["run", small, "-o", e, "--quiet", "--seed", "3"], expect=2)
        check("complete run" in out and "--force" in out, out)
        check(open(os.path.join(e, "rounds.csv")).read() == before, "complete run overwritten")
        run(["run", small, "-o", e, "--quiet", "--seed", "3", "--force"])
        check(json.load(open(os.path.join(e, "summary.json")))["seed"] == 3, "--force ignored")
        out = run(["run", "--resume", e], expect=2)
        check("nothing to resume" in out, out)
        out = run(["plan", small, "-o", e], expect=2)  # would replace the run's plan.csv
        check("expected a folder without a run" in out, out)
        # The run folder killed above resumes later: the stale lock file does not block it.
        run(["run", "--resume", d, "--quiet", "--set", "x=1"], expect=2)
        # Sweeps: a second sweep (or --collect, --emit) into a folder being swept exits 2.
        spec = os.path.join(tmp, "sweep.yaml")
        open(spec, "w").write("name: lock\nbase: %s\nset: {algorithm.rounds: 150000, "
                              "algorithm.clients_per_round: 4}\ngrid:\n  seed: [1]\n" % scen)
        out_dir = os.path.join(tmp, "sw")
        p = subprocess.Popen([FEDGRID, "sweep", spec, "-o", out_dir, "--threads", "1"],
                             stderr=subprocess.PIPE, text=True)
        check(wait_for(os.path.join(out_dir, "runs", "seed1", ".rounds.csv.partial"), p),
              "the sweep did not start its run")
        for second in (["sweep", spec, "-o", out_dir], ["sweep", spec, "-o", out_dir, "--collect"],
                       ["sweep", spec, "-o", out_dir, "--emit", "parallel"]):
            out = run(second, expect=2)
            check(out_dir in out and "pid %d" % p.pid in out, out)
        # ... and a run into the sweep's run folder.
        out = run(["run", scen, "-o", os.path.join(out_dir, "runs", "seed1")], expect=2)
        check("pid" in out, out)
        p.send_signal(signal.SIGINT)
        p.communicate()
        # platform -o: one writer per file; a folder there is refused without a .partial.
        xml = os.path.join(tmp, "p.xml")
        run(["platform", small, "-o", xml])
        out = run(["platform", small, "-o", tmp], expect=2)
        check("expected a file name, found a folder" in out, out)
        check(not [n for n in os.listdir(os.path.dirname(tmp)) if n.endswith(".partial")],
              "platform -o DIR left a .partial file")


def case_output_paths():
    # -o at a file, a device, a path that cannot be created: exit 2 with one message, nothing
    # written; plan leaves no temporary folder, even when it fails.
    small = os.path.join(CI, "synthetic-deadline.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        f = os.path.join(tmp, "file")
        open(f, "w").write("x")
        for target, found in ((f, "found a file"), ("/dev/null", "found a character device"),
                              ("/proc/fedgrid/x", "can be created"),
                              (os.path.join(f, "sub"), "can be created")):
            for cmd in (["run", small, "-o", target], ["plan", small, "-o", target],
                        ["sweep", os.path.join(SWEEPS, "tiny.yaml"), "-o", target]):
                out = run(cmd, expect=2)
                check(target in out and found in out and out.count("\n") == 1, out)
        check(open(f).read() == "x", "the file was changed")
        tmpdir = os.path.join(tmp, "tmpdir")
        os.mkdir(tmpdir)
        env = dict(os.environ, TMPDIR=tmpdir)
        for scen, code in ((small, 0), (os.path.join(ROOT, "tests", "sim", "bad",
                                                     "impossible-deadline.yaml"), 2)):
            p = subprocess.run([FEDGRID, "plan", scen] + SIM_ARGS, env=env, capture_output=True)
            check(p.returncode == code, "plan exit %d" % p.returncode)
            check(os.listdir(tmpdir) == [], "plan left %s" % os.listdir(tmpdir))
        # stdout that cannot be written (a full disk): exit 1 with a message.
        with open("/dev/full", "w") as full:
            p = subprocess.run([FEDGRID, "validate", small], stdout=full, stderr=subprocess.PIPE,
                               text=True)
        check(p.returncode == 1 and "standard output" in p.stderr, (p.returncode, p.stderr))


def check_write_failure(out_dir, proc, errtext):
    check(proc.returncode == 1, "exit %d, expected 1:\n%s" % (proc.returncode, proc.stderr))
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    check(len(lines) == 1 and errtext in lines[0] and out_dir in lines[0], proc.stderr)
    m = re.search(r"in round (\d+)", lines[0])
    check(m, "the message names no round: " + lines[0])
    check(not os.path.exists(os.path.join(out_dir, "summary.json")), "summary.json written")
    partial = os.path.join(out_dir, ".rounds.csv.partial")
    if os.path.exists(partial):
        rows_written = max(0, len(open(partial).read().splitlines()) - 1)
        check(rows_written <= int(m.group(1)), "rows beyond the failed round")
    return int(m.group(1))


def case_full_disk():
    # Writes that fail end the run at that round: exit 1, one message naming the file, the
    # error and the round, no summary.json, no abort (it was SIGABRT after a double free).
    scen = os.path.join(CI, "synthetic-deadline.yaml")
    sets = ["--quiet", "--set", "algorithm.rounds=3000", "--set", "algorithm.time_budget=1500",
            "--set", "timing.timing_only=true", "--checkpoint-every", "100"]
    with tempfile.TemporaryDirectory() as tmp:
        # 1. A file-size limit (EFBIG) of 1 MB per file: plan.csv (750 kB) passes, clients.csv not.
        import resource

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (1000000, 1000000))
        d = os.path.join(tmp, "fsize")
        p = subprocess.run([FEDGRID, "run", scen, "-o", d] + sets + SIM_ARGS,
                           preexec_fn=limit, capture_output=True, text=True, timeout=300)
        r = check_write_failure(d, p, "File too large")
        print("RLIMIT_FSIZE: stopped in round %d: %s" % (r, p.stderr.strip()))
        # 2. A full disk (ENOSPC) on a 1 MB tmpfs, when this machine lets us mount one.
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                           capture_output=True, text=True)
        if m.returncode != 0:
            print("SKIPPED the ENOSPC part: cannot mount a tmpfs here (%s)" % m.stderr.strip())
            return
        try:
            d = os.path.join(mnt, "run")
            p = subprocess.run([FEDGRID, "run", scen, "-o", d] + sets + SIM_ARGS,
                               capture_output=True, text=True, timeout=300)
            r = check_write_failure(d, p, "No space left on device")
            print("1 MB tmpfs: stopped in round %d: %s" % (r, p.stderr.strip()))
            check(not os.path.exists(os.path.join(d, ".checkpoint.partial")), "partial checkpoint")
        finally:
            subprocess.run(["umount", mnt])


XML_HEAD = ('<?xml version="1.0"?>\n<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">\n'
            '<platform version="4.1">\n')


def star(hosts="", links="", zone="Cluster", extra="", head=XML_HEAD, server="1Gf",
         speeds=("1kf", "2kf")):
    """A 2-client star platform; the arguments replace or add parts."""
    body = '<zone id="z" routing="%s">\n<host id="server" speed="%s"/>\n' % (zone, server)
    for u, sp in enumerate(speeds):
        body += '<host id="client-%d" speed="%s"%s/>\n' % (u, sp, hosts if u == 1 else "")
        if zone == "Cluster":
            body += ('<link id="l%d" bandwidth="10MBps" latency="1ms" sharing_policy="SPLITDUPLEX"'
                     '%s/>\n<host_link id="client-%d" up="l%d_UP" down="l%d_DOWN"/>\n'
                     % (u, links if u == 1 else "", u, u, u))
    return head + body + extra + "</zone>\n</platform>\n"


def full(routes):
    body = ('<zone id="z" routing="Full">\n<host id="server" speed="1Gf"/>\n'
            '<host id="client-0" speed="1kf"/>\n<host id="client-1" speed="1kf"/>\n'
            '<link id="a" bandwidth="1MBps" latency="1ms"/>\n')
    return XML_HEAD + body + routes + "</zone>\n</platform>\n"


def case_bad_platforms():
    # Platform files SimGrid 3.32 aborts on (SIGABRT/SIGSEGV) or that passed `validate` before:
    # FedGrid's checker refuses each with exit 2 and a message naming the file and line, in
    # validate and run alike.
    r = ('<route src="server" dst="client-0"><link_ctn id="a"/></route>\n'
         '<route src="server" dst="client-1"><link_ctn id="a"/></route>\n')
    cases = {
        "zero-speed": (star(speeds=("1kf", "0f")), ":9: key '<host id='client-1'> speed'"),
        "negative-speed": (star(speeds=("-5kf", "1kf")), "expected a speed > 0"),
        "nan-speed": (star(speeds=("1kf", "nanf")), "'nanf'"),
        "bad-unit": (star(speeds=("1kf", "1Gflops")), "unit f, kf"),
        "zero-pstate-speed": (star(speeds=("1kf", "1kf,0f")), "expected a speed > 0"),
        "zero-bandwidth": (star().replace('"l1" bandwidth="10MBps"', '"l1" bandwidth="0Bps"'),
                           "expected a bandwidth > 0"),
        "nan-bandwidth": (star().replace('"l1" bandwidth="10MBps"', '"l1" bandwidth="nanBps"'),
                          "expected a bandwidth > 0"),
        "twice-attribute": (star(links=' bandwidth="1Bps"'), "each attribute once"),
        "missing-latency": (star().replace(' latency="1ms"', ""), "latency': expected a value"),
        "negative-latency": (star().replace('latency="1ms"', 'latency="-1ms"'), "latency >= 0"),
        "zero-core": (star(hosts=' core="0"'), "expected an integer in [1, 1000000]"),
        "bad-pstate": (star(hosts=' pstate="3"'), "pstate': expected an integer in [0, 0]"),
        "missing-state-file": (star(hosts=' state_file="nowhere.txt"'), "existing profile file"),
        "duplicate-host": (star(extra='<host id="client-0" speed="1kf"/>\n'), "'client-0' again"),
        "duplicate-link-half": (star(extra='<link id="l0_UP" bandwidth="1Bps" latency="0s"/>\n'),
                                "'l0_UP' again"),
        "missing-host": (star(speeds=("1kf",)), "no host 'client-1'"),
        "no-server": (star().replace('id="server"', 'id="boss"'), "a host named 'server'"),
        "malformed": (star().replace("</zone>", "</zon>"), "expected </zone>, found </zon>"),
        "truncated": (star()[:200], "the end of the file"),
        "no-doctype": (star(head='<?xml version="1.0"?>\n<platform version="4.1">\n'),
                       "DOCTYPE platform"),
        "old-version": (star(head=XML_HEAD.replace("4.1", "4")), "simgrid_update_xml"),
        "host-link-unknown": (star(extra='<host_link id="nobody" up="l0_UP" down="l0_DOWN"/>\n'),
                              "a host declared before it"),
        "split-link-plain": (star().replace('up="l1_UP"', 'up="l1"'), "NAME_UP / NAME_DOWN"),
        "missing-route": (full(r.split("\n")[0] + "\n"), "none from 'server' to 'client-1'"),
        "one-way-route": (full(r.replace('"server" dst', '"server" symmetrical="NO" dst')),
                          "none from 'client-0' to 'server'"),
        "duplicate-route": (full(r + '<route src="client-0" dst="server"><link_ctn id="a"/>'
                                 '</route>\n'), "a second route between"),
        "unknown-element": (star(extra='<cluster id="c" prefix="c-" suffix="" radical="0-3" '
                                       'speed="1Gf" bw="1GBps" lat="1ms"/>\n'), "<cluster"),
        "two-zones": (star().replace("</platform>", '<zone id="y" routing="Full"/>\n</platform>'),
                      "one <zone>"),
        "entity-bomb": (XML_HEAD.replace("<!DOCTYPE platform SYSTEM",
                                         '<!DOCTYPE platform [<!ENTITY a "aaaa">]> <!--') +
                        star(head="-->"), "without internal subset"),
        "text-content": (star(extra="hello\n"), "no text"),
    }
    scen = os.path.join(ROOT, "tests", "sim", "bad", "no-budget.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        # Every case in validate; the same checker in run for those SimGrid aborted on (the
        # example platforms of platforms/ pass: test_platform_xml checks them).
        with_run = ("zero-speed", "missing-state-file", "duplicate-link-half", "missing-route",
                    "zero-bandwidth", "malformed")
        for name, (xml, expect) in cases.items():
            f = os.path.join(tmp, name + ".xml")
            open(f, "w").write(xml)
            for cmd in ("validate", "run") if name in with_run else ("validate",):
                args = [cmd, scen, "--set", "algorithm.time_budget=3", "--set", "clients=2",
                        "--set", "platform={file: %s}" % f]
                out = run(args + (["-o", os.path.join(tmp, name)] if cmd == "run" else []),
                          expect=2)
                check(expect in out and f in out and out.count("\n") == 1,
                      "%s (%s): message lacks %r:\n%s" % (name, cmd, expect, out))
        check(not os.path.exists(os.path.join(tmp, "zero-speed", "summary.json")), "ran")
        # A profile file used twice, and a state file on a client that availability drives.
        open(os.path.join(tmp, "state.txt"), "w").write("0 1\n5 0\n")
        twice = star(hosts=' state_file="state.txt"', links=' state_file="state.txt"')
        open(os.path.join(tmp, "twice.xml"), "w").write(twice)
        out = run(["validate", scen, "--set", "clients=2", "--set", "algorithm.time_budget=3",
                   "--set", "platform={file: %s}" % os.path.join(tmp, "twice.xml")], expect=2)
        check("used once" in out, out)
        good = star(hosts=' state_file="state.txt"')
        open(os.path.join(tmp, "good.xml"), "w").write(good)
        common = ["--set", "clients=2", "--set", "algorithm.time_budget=3",
                  "--set", "platform={file: %s}" % os.path.join(tmp, "good.xml")]
        run(["run", scen, "-o", os.path.join(tmp, "good"), "--quiet"] + common)
        out = run(["validate", scen, "--set", "availability={model: random, mean_up: 1, "
                   "mean_down: 1}"] + common, expect=2)
        check("no state_file on client hosts" in out, out)


def case_simgrid_options():
    # --cfg/--log values SimGrid 3.32 crashes on (segfault, abort, hang) are refused with exit 2
    # and the option named; allowed ones run (network/latency-factor crashed FedGrid itself).
    scen = os.path.join(CI, "synthetic-deadline.yaml")
    short = ["--set", "algorithm.rounds=4", "--set", "algorithm.time_budget=2"]
    with tempfile.TemporaryDirectory() as tmp:
        for arg, expect in (("--cfg=maxmin/precision:-1", "a number in [1e-15, 0.01]"),
                            ("--cfg=surf/precision:-5", "a number in [1e-15, 1e-6]"),
                            ("--cfg=network/model:Constant", "one of LV08, CM02, SMPI, IB"),
                            ("--cfg=network/latency-factor:0", "(0, 1e6]"),
                            ("--cfg=contexts/nthreads:4", "a SimGrid option FedGrid allows"),
                            ("--cfg=network/model:CM02 maxmin/precision:-1", "one of LV08"),
                            ("--cfg=", "a SimGrid option FedGrid allows"),
                            ("--log=foo", "CATEGORY.SETTING:VALUE"),
                            ("--log=root.thres:bogus", "a threshold trace"),
                            ("--log=root.app:file:/nonexistent/d/f", "an existing folder")):
            for cmd in ("run", "plan") if "precision" in arg or "log=foo" in arg else ("run",):
                out = run([cmd, scen, "-o", os.path.join(tmp, "x"), arg] + short, expect=2)
                check(arg in out and expect in out and out.count("\n") == 1, out)
        check(not os.path.exists(os.path.join(tmp, "x", "summary.json")), "a refused run ran")
        for ok in ("--cfg=network/latency-factor:2", "--cfg=network/bandwidth-factor:0.5",
                   "--cfg=maxmin/precision:1e-6", "--log=root.thres:critical"):
            run(["run", scen, "-o", os.path.join(tmp, ok[6:20]), "--quiet", ok] + short)


def fnv1a(data):
    h = 1469598103934665603
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def edit_checkpoint(path, edit):
    """Applies edit(header lines) to a checkpoint and recomputes its checksum, as someone
    editing it on purpose would."""
    blob = open(path, "rb").read()
    body = blob[:blob.rindex(b"checksum ")]
    head, rest = body.split(b"invocation ", 1)
    lines = head.decode().split("\n")
    edit(lines)
    body = "\n".join(lines).encode() + b"invocation " + rest
    open(path, "wb").write(body + b"checksum %016x\n" % fnv1a(body))


def case_resume_fingerprints():
    # --resume refuses a run whose inputs changed since it stopped (scenario, model, platform
    # XML, its profile file, outage trace, data files), and a checkpoint edited with a
    # recomputed checksum (round, file sizes, clock, params) or of an older version.
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        for name, blob in (("train-images-idx3-ubyte", idx_images(60)),
                           ("train-labels-idx1-ubyte", idx_labels(60)),
                           ("t10k-images-idx3-ubyte", idx_images(20)),
                           ("t10k-labels-idx1-ubyte.gz", gzip.compress(idx_labels(20)))):
            open(os.path.join(data, name), "wb").write(blob)
        shutil.copy(os.path.join(ROOT, "models", "mlp.yaml"), os.path.join(tmp, "model.yaml"))
        xml = open(os.path.join(ROOT, "platforms", "homogeneous-20.xml")).read()
        xml = xml.replace('<host id="client-19" speed="1000f"/>',
                          '<host id="client-19" speed="1000f" speed_file="speed.txt"/>')
        open(os.path.join(tmp, "platform.xml"), "w").write(xml)
        open(os.path.join(tmp, "speed.txt"), "w").write("0 1\n50 0.5\n")
        open(os.path.join(tmp, "trace.csv"), "w").write("client,off,on\n3,5,9\n")
        scen = os.path.join(tmp, "scen.yaml")
        open(scen, "w").write(
            "seed: 3\nclients: 20\ndata: {dataset: mnist, path: data}\nmodel: model.yaml\n"
            "platform: {file: platform.xml}\navailability: {model: trace, file: trace.csv}\n"
            "algorithm: {name: salf, rounds: 5000, deadline: 2}\n"
            "training: {lr: 0.1, batch: 2}\nevaluation: {every: 50}\n")
        d = os.path.join(tmp, "run")
        code, err = stop_at_round(start_run(["run", scen, "-o", d, "--threads", "1"]), 30,
                                  signal.SIGINT)
        check(code == 130, "exit %d:\n%s" % (code, err[-1000:]))
        ck = os.path.join(d, "checkpoint")
        saved = open(ck, "rb").read()
        for name, what in (("model.yaml", "model"), ("platform.xml", "platform"),
                           ("speed.txt", "profile"), ("trace.csv", "outage trace"),
                           ("data/train-images-idx3-ubyte", "data"),
                           ("data/t10k-labels-idx1-ubyte.gz", "data"), ("scen.yaml", "scenario")):
            f = os.path.join(tmp, name)
            before = open(f, "rb").read()
            changed = bytearray(before)
            if name.endswith(".yaml"):
                changed += b"# a comment\n"
            elif name == "platform.xml":  # same size, other bytes: only the digest tells
                changed = bytearray(before.replace(b'"1000f"', b'"1001f"', 1))
            else:
                changed[len(changed) - 2] ^= 1
            open(f, "wb").write(bytes(changed))
            out = run(["run", "--resume", d, "--quiet"], expect=2)
            check(f in out and ("the %s file" % what in out or "changed" in out), out)
            open(f, "wb").write(before)
        # Edited checkpoints with a valid checksum.
        edits = {
            "round": lambda l: l.__setitem__(1, "round %d" % (int(l[1].split()[1]) - 1)),
            "files": lambda l: l.__setitem__(4, "files %d %s" % (int(l[4].split()[1]) - 2,
                                                                  " ".join(l[4].split()[2:]))),
            "t_next": lambda l: l.__setitem__(2, "t_next 0x1p+40"),
            "params": lambda l: l.__setitem__(8, "params 7"),
            "beyond": lambda l: l.__setitem__(1, "round 100000"),
        }
        for key, edit in edits.items():
            open(ck, "wb").write(saved)
            edit_checkpoint(ck, edit)
            out = run(["run", "--resume", d, "--quiet"], expect=2)
            check(ck in out and ("an edited or foreign checkpoint" in out or
                                 (key == "params" and "corrupt" in out)), "%s: %s" % (key, out))
            check(key not in ("t_next", "beyond") or
                  "key '%s'" % ("round" if key == "beyond" else key) in out, out)
        open(ck, "wb").write(saved.replace(b"FEDGRID-CHECKPOINT 4", b"FEDGRID-CHECKPOINT 3", 1))
        out = run(["run", "--resume", d], expect=2)
        check("version 3, from an older FedGrid" in out, out)
        open(ck, "wb").write(saved)
        run(["run", "--resume", d, "--quiet", "--set", "x=1"], expect=2)
        # The untouched checkpoint resumes: rounds are added to rounds.csv beyond its size.
        size = int(saved.split(b"\nfiles ")[1].split(b" ")[0])
        def rounds_size():  # the temporary name while running, the final one once stopped
            for n in (".rounds.csv.partial", "rounds.csv"):
                if os.path.exists(os.path.join(d, n)):
                    return os.path.getsize(os.path.join(d, n))
            return 0
        p = start_run(["run", "--resume", d, "--quiet", "--threads", "1"])
        t0 = time.time()
        while p.poll() is None and time.time() - t0 < 120 and rounds_size() <= size:
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        code = p.wait()  # 130, or 0 if it finished first
        check(code in (0, 130) and rounds_size() > size, "the untouched checkpoint did not resume")


def case_emit_injection():
    # Emitted job files (jobs.txt for GNU parallel, sweep.sbatch for Slurm) run exactly fedgrid
    # with the arguments given, whatever shell syntax paths and values hold; control characters
    # (a newline would split a job line and run the rest as a command) are refused with exit 2.
    with tempfile.TemporaryDirectory() as tmp:
        evil = "x$(touch PWNED)`touch PWNED`;touch PWNED;'\"touch PWNED\" & | > PWNED"
        model = os.path.join(tmp, "m " + evil.replace("/", "") + ".yaml")
        shutil.copy(os.path.join(ROOT, "models", "ci-mlp.yaml"), model)
        sweep = os.path.join(tmp, "sw $(touch PWNED) '.yaml")
        open(sweep, "w").write("name: inject\nbase: %s\nset: {algorithm.rounds: 2, "
                               "algorithm.time_budget: 1}\ngrid:\n  seed: [1, 2]\n"
                               % os.path.join(CI, "synthetic-deadline.yaml"))
        out = os.path.join(tmp, "out dir $(touch PWNED)")
        sets = ["--set", "model=" + model]
        run(["sweep", sweep, "-o", out, "--emit", "parallel"] + sets)
        jobs = open(os.path.join(out, "jobs.txt")).read().split("\n")
        check(len(jobs) == 3 and jobs[2] == "", jobs)
        stub = os.path.join(tmp, "stub")
        record = os.path.join(tmp, "argv")
        open(stub, "w").write("#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\0' \"$a\" >> '%s'; done\n"
                              "printf '\\n' >> '%s'\n" % (record, record))
        os.chmod(stub, 0o755)
        exe = os.path.realpath(FEDGRID)
        for line in jobs[:2]:
            check(line.startswith(exe + " "), line)
            subprocess.run(["bash", "-c", stub + line[len(exe):]], cwd=tmp, check=True)
        calls = [c.split("\0")[:-1] for c in open(record).read().split("\n") if c]
        check(len(calls) == 2, calls)
        for seed, argv in zip((1, 2), calls):
            want = ["run", os.path.abspath(os.path.join(CI, "synthetic-deadline.yaml")), "-o",
                    os.path.join(out, "runs", "seed%d" % seed), "--quiet", "--threads", "1",
                    "--set", "algorithm.rounds=2", "--set", "algorithm.time_budget=1",
                    "--set", "seed=%d" % seed, "--set", "model=" + model]
            check(argv == want, "argv %s\nexpected %s" % (argv, want))
        check(not glob.glob(os.path.join(tmp, "**", "PWNED"), recursive=True), "a job ran more")
        # Slurm: #SBATCH lines cannot quote: a -o with spaces is refused; a plain one works, and
        # the script runs the job line through the stub.
        out2 = os.path.join(tmp, "slurm")
        o = run(["sweep", sweep, "-o", out, "--emit", "slurm"] + sets, expect=2)
        check("#SBATCH" in o and "' '" in o, o)
        run(["sweep", sweep, "-o", out2, "--emit", "slurm"] + sets)
        sb = open(os.path.join(out2, "sweep.sbatch")).read()
        check(all(l.startswith("#") or l.startswith("set -eu") or l.startswith("line=") or
                  l == 'eval "$line"' for l in sb.strip().split("\n")), sb)
        j = open(os.path.join(out2, "jobs.txt")).read().replace(exe + " ", stub + " ")
        open(os.path.join(out2, "jobs.txt"), "w").write(j)
        os.remove(record)
        for task in ("0", "1"):
            subprocess.run(["bash", os.path.join(out2, "sweep.sbatch")], cwd=tmp, check=True,
                           env=dict(os.environ, SLURM_ARRAY_TASK_ID=task))
        calls = [c.split("\0")[:-1] for c in open(record).read().split("\n") if c]
        check(len(calls) == 2 and calls[1][-1] == "model=" + model, calls)
        check(not glob.glob(os.path.join(tmp, "**", "PWNED"), recursive=True), "a job ran more")
        # Control characters: refused, nothing written.
        nl = os.path.join(tmp, "nl\ntouch PWNED\n.yaml")
        shutil.copy(sweep, nl)
        for args, what in (([sweep, "-o", os.path.join(tmp, "bad-o\ntouch PWNED")], "-o"),
                           ([nl, "-o", os.path.join(tmp, "bad-3")], "the sweep file"),
                           ([sweep, "-o", os.path.join(tmp, "bad-4"), "--set", "name=a\nb"], "--set"),
                           ([sweep, "-o", os.path.join(tmp, "bad-5"), "--set", "name=a\rb"], "--set")):
            for emit in ("parallel", "slurm"):
                o = run(["sweep"] + args + ["--emit", emit], expect=2)
                check(what in o and "control characters" in o, o)
        check(not glob.glob(os.path.join(tmp, "bad-*")), "folders written")


def case_divergence():
    # lr 1e6 (inside the documented range) makes losses NaN: the run stops at that round with
    # exit 3 and "diverged" in summary.json, NaN written "nan" (not empty: empty means "not
    # evaluated"); sweeps list it as 'diverged' and do not run it again.
    scen = os.path.join(CI, "synthetic-deadline.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "d")
        out = run(["run", scen, "-o", d, "--quiet", "--set", "training.lr=1e6",
                   "--set", "evaluation.every=3"], expect=3)
        check("diverged" in out and "after round" in out, out)
        summ = json.load(open(os.path.join(d, "summary.json")))
        rs = rows(os.path.join(d, "rounds.csv"))
        check(summ["complete"] is False and summ["diverged"] is True and
              summ["diverged_round"] == summ["rounds"] == len(rs) < 40, summ)
        last = rs[-1]
        check(any(last[k] == "nan" for k in ("train_loss", "val_loss", "test_loss")) or
              summ["diverged_in"] == "parameters", last)
        evaluated = [r for r in rs[:-1] if int(r["round"]) % 3 == 0]
        skipped = [r for r in rs[:-1] if int(r["round"]) % 3 != 0]
        check(all(r["val_loss"] == "" for r in skipped), "not-evaluated rounds must stay empty")
        check(all(r["val_loss"] not in ("", "nan") for r in evaluated), evaluated)
        check("nan" not in open(os.path.join(d, "rounds.csv")).read().split("\n", 1)[1]
              .rsplit("\n", 2)[0], "nan before the diverged round")
        check(not os.path.exists(os.path.join(d, "checkpoint")), "a diverged run keeps no checkpoint")
        out = run(["run", scen, "-o", d, "--quiet"], expect=2)
        check("diverged run" in out and "--force" in out, out)
        out = run(["run", "--resume", d], expect=2)
        check("nothing to resume" in out, out)
        # A learning run is untouched: no nan anywhere, complete.
        ok = os.path.join(tmp, "ok")
        run(["run", scen, "-o", ok, "--quiet", "--set", "evaluation.every=3"])
        check("nan" not in open(os.path.join(ok, "rounds.csv")).read(), "nan in a good run")
        # Sweeps: status 'diverged', counted as finished (exit 0), not run again.
        spec = os.path.join(tmp, "lr.yaml")
        open(spec, "w").write("name: lr\nbase: %s\nset: {algorithm.rounds: 12, "
                              "algorithm.time_budget: 6}\ngrid:\n  training.lr: {good: 0.2, "
                              "huge: 1.0e6}\n" % scen)
        sw = os.path.join(tmp, "sw")
        out = run(["sweep", spec, "-o", sw, "-j", "2"])
        check("1 complete, 1 diverged" in out and "FAILED" not in out, out)
        index = {r["id"]: r for r in rows(os.path.join(sw, "index.csv"))}
        check(index["good"]["status"] == "complete" and index["huge"]["status"] == "diverged" and
              index["huge"]["final_test_accuracy"] == "", index)
        agg = rows(os.path.join(sw, "aggregate.csv"))
        check([a["runs"] for a in agg] == ["1", "0"], agg)
        before = os.stat(os.path.join(sw, "runs", "huge", "summary.json")).st_mtime_ns
        out = run(["sweep", spec, "-o", sw])
        check("done in" not in out, out)
        check(os.stat(os.path.join(sw, "runs", "huge", "summary.json")).st_mtime_ns == before,
              "the diverged run ran again")
        _, _, last = dry_run(spec, sw)
        check(last.startswith("2 runs (1 complete, 1 diverged, 0 to run)"), last)
        run(["sweep", spec, "-o", sw, "--emit", "parallel"])
        check(open(os.path.join(sw, "jobs.txt")).read() == "", "emitted a finished run")
        # A summary.json cut short (a copy that ran out of space) does not count as complete.
        f = os.path.join(sw, "runs", "good", "summary.json")
        open(f, "w").write(open(f).read()[:40])
        out = run(["sweep", spec, "-o", sw, "--collect"], expect=1)
        check("1 incomplete" in out, out)


def case_run_size():
    # Values inside the documented ranges that no machine can run: refused in a fraction of a
    # second with the estimate (they ended in std::bad_alloc or minutes of work); --allow-large
    # lets a user run them anyway.
    scen = os.path.join(CI, "synthetic-deadline.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.yaml")
        open(big, "w").write("name: big\ninput: 20\nlayers:\n  - {kind: dense, units: 2147483647}\n"
                             "  - {kind: relu}\n  - {kind: dense, units: 4}\n")
        for sets, expect in ((["data.synthetic.train=2147483647"], "data "),
                             (["model=" + big], "model "),
                             (["clients=1000000", "data.synthetic.train=2147483647"], "clients ")):
            for cmd in ("validate", "run", "plan"):
                t0 = os.times()
                args = [cmd, scen] + [x for kv in sets for x in ("--set", kv)]
                out = run(args + (["-o", os.path.join(tmp, "o")] if cmd != "validate" else []),
                          expect=2)
                t1 = os.times()
                check("expected a run that fits in this machine's memory" in out and
                      "--allow-large" in out and expect in out and "GiB" in out, out)
                check(t1.children_user - t0.children_user < 2, "slow refusal")
        avail = os.path.join(CI, "failures.yaml")
        tiny = ["--set", "availability.mean_up=1e-9", "--set", "availability.mean_down=1e-9"]
        out = run(["run", avail, "-o", os.path.join(tmp, "a")] + tiny, expect=2)
        check("key 'availability'" in out and "state changes" in out and "2.4e+11" in out, out)
        run(["validate", avail, "--allow-large"] + tiny)
        run(["run", avail, "-o", os.path.join(tmp, "b"), "--quiet", "--allow-large",
             "--set", "algorithm.rounds=2", "--set", "timing.timing_only=true",
             "--set", "availability.mean_up=0.01", "--set", "availability.mean_down=0.01"])


main(globals())
