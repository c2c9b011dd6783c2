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
import subprocess
import sys
import tempfile

FEDGRID, ROOT, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
CI = os.path.join(ROOT, "scenarios", "ci")


# Extra engine options for simulating commands, e.g. "--cfg=contexts/factory:thread" in the
# sanitizer build (ASan cannot follow SimGrid's raw context switches).
SIM_ARGS = os.environ.get("FEDGRID_SIM_ARGS", "").split()


def run(args, expect=0):
    if args and args[0] in ("run", "plan") and SIM_ARGS:
        args = args + SIM_ARGS
    p = subprocess.run([FEDGRID] + args, capture_output=True, text=True, timeout=550)
    out = p.stdout + p.stderr
    if "Deadlock detected" in out:
        raise AssertionError("SimGrid deadlock in: fedgrid %s\n%s" % (" ".join(args), out))
    if p.returncode != expect:
        raise AssertionError("fedgrid %s: exit %d, expected %d\n%s" %
                             (" ".join(args), p.returncode, expect, out[-3000:]))
    return out


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


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


def case_bad_inputs():
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "sim", "bad", "*.yaml")))
    check(len(files) >= 10, "expected at least 10 bad scenarios, found %d" % len(files))
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            expects = [l.split(":", 1)[1].strip() for l in open(path) if l.startswith("# expect:")]
            check(expects, "%s has no '# expect:' line" % path)
            out_dir = os.path.join(tmp, os.path.basename(path))
            out = run(["run", path, "-o", out_dir, "--quiet"], expect=2)
            for e in expects:
                e = e.replace("FILE", path)
                check(e in out, "%s: message lacks %r:\n%s" % (path, e, out))
            check(out.count("\n") <= 2, "%s: expected one message, got:\n%s" % (path, out))
            check(not os.path.exists(os.path.join(out_dir, "summary.json")),
                  "%s: a failed run left summary.json" % path)


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


def q_upper(k, x):
    # Q(k, x) = P(Poisson(x) < k) = e^{-x} sum_{j<k} x^j / j!
    term, s = 1.0, 1.0
    for j in range(1, k):
        term *= x / j
        s += term
    return math.exp(-x) * s


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


globals()["case_" + CASE]()
print("e2e %s: passed" % CASE)
