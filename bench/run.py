#!/usr/bin/env python3
"""FedGrid speed benchmarks (issue 6): prints tables and writes bench/results/bench.json.

usage: bench/run.py [--build DIR] [--sections math,e2e,scale] [--trials N] [--cnn-rounds R]
                    [--scale-scenarios a.yaml,b.yaml] [--out FILE]

  math   bench_limit: one-thread training and evaluation throughput of the MLP, CNN2 and VGG11
         against the core's peak float rate measured in the same run (Eigen SGEMM 1024^3) with
         the models' exact FLOPs, next to the older GEMM-bound limit (the step's products timed
         alone with Eigen at their shapes), for the convolution paths in --conv.
  e2e    the paper scenarios (scenarios/paper/mlp-salf.yaml, cnn2-salf.yaml when present; CNN2
         shortened to --cnn-rounds rounds of the same deadline), issue 13's CNN2 setting
         (cnn2-salf.yaml, 50 rounds, batch 256 fixed, test set only), each trial running
         --threads 1, --threads 2, and two independent --threads 1 processes at the same time.
         From wall.json: math (gradients), evaluation, simulation overhead (everything else in
         the run), data loading. The 2-thread ratio is the math speed with 2 threads relative to
         two independent single-thread processes: pair math seconds / (2 x 2-thread math seconds).
  scale  timing-only runs of bench/scenarios/scale-*.yaml under /usr/bin/time -v: wall and peak
         RSS (goals: 100k clients x 10 rounds < 60 s and < 2 GB; 1M clients, 10k per round,
         100 rounds < 120 s and < 4 GB).

The machine is shared and noisy: trials are interleaved and medians quoted; compare ratios
measured in the same run rather than absolute times across runs.
"""
import argparse
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fedgrid_run(fedgrid, scenario, out, threads, extra):
    cmd = [fedgrid, "run", scenario, "-o", out, "--quiet", "--threads", str(threads)] + extra
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc, out, t0):
    err = proc.communicate()[1]
    if proc.returncode != 0:
        sys.exit("fedgrid failed (%d): %s" % (proc.returncode, err[-2000:]))
    wall = json.load(open(os.path.join(out, "wall.json")))
    wall["process_seconds"] = time.time() - t0
    wall["math_seconds"] = wall["gradient_seconds"] + wall["evaluation_seconds"]
    return wall


def one(fedgrid, scenario, tmp, tag, threads, extra):
    out = os.path.join(tmp, tag)
    t0 = time.time()
    return finish(fedgrid_run(fedgrid, scenario, out, threads, extra), out, t0)


def pair(fedgrid, scenario, tmp, tag, extra):
    outs = [os.path.join(tmp, tag + s) for s in ("a", "b")]
    t0 = time.time()
    procs = [fedgrid_run(fedgrid, scenario, o, 1, extra) for o in outs]
    return [finish(p, o, t0) for p, o in zip(procs, outs)]


def med(rows, key):
    """Median of one wall.json key over runs."""
    return statistics.median(r[key] for r in rows)


def bench_e2e(fedgrid, scenario, extra, trials):
    one_t, two_t, pairs, ratios = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for t in range(trials):
            one_t.append(one(fedgrid, scenario, tmp, "t1-%d" % t, 1, extra))
            two_t.append(one(fedgrid, scenario, tmp, "t2-%d" % t, 2, extra))
            p = pair(fedgrid, scenario, tmp, "pair-%d" % t, extra)
            pairs.extend(p)
            pair_math = statistics.mean(w["math_seconds"] for w in p)
            ratios.append(pair_math / (2.0 * two_t[-1]["math_seconds"]))
    keys = ("wall_seconds", "load_seconds", "gradient_seconds", "evaluation_seconds",
            "simulation_seconds", "math_seconds", "process_seconds", "gradient_cpu_seconds")
    res = {"scenario": os.path.relpath(scenario, ROOT), "extra": extra, "trials": trials}
    for name, rows in (("threads_1", one_t), ("threads_2", two_t), ("pair_threads_1", pairs)):
        res[name] = {k: med(rows, k) for k in keys}
        res[name]["overhead_fraction"] = statistics.median(
            r["simulation_seconds"] / r["wall_seconds"] for r in rows)
    res["ratio_2_threads_vs_pair"] = statistics.median(ratios)
    res["ratios"] = ratios
    res["speedup_2_threads"] = statistics.median(
        a["math_seconds"] / b["math_seconds"] for a, b in zip(one_t, two_t))
    res["wall_speedup_2_threads"] = statistics.median(
        a["process_seconds"] / b["process_seconds"] for a, b in zip(one_t, two_t))
    res["load_average"] = os.getloadavg()
    return res


def print_e2e(results):
    print("\nend-to-end (medians; seconds from wall.json; load = data loading before the run)")
    print("%-22s %-9s %7s %7s %7s %7s %7s %7s %9s" % ("scenario", "threads", "process", "wall",
                                                     "math", "eval", "sim", "load", "overhead"))
    for r in results:
        for name in ("threads_1", "threads_2", "pair_threads_1"):
            w = r[name]
            print("%-22s %-9s %7.2f %7.2f %7.2f %7.2f %7.3f %7.2f %8.1f%%" % (
                r.get("label", os.path.basename(r["scenario"])), name.replace(
                    "threads_", "").replace("pair_1", "1 (pair)"), w["process_seconds"],
                w["wall_seconds"], w["gradient_seconds"], w["evaluation_seconds"],
                w["simulation_seconds"], w["load_seconds"], 100 * w["overhead_fraction"]))
        print("%-22s 2-thread ratio vs two 1-thread processes: %.3f (trials %s; goal >= 0.85); "
              "speedup 1 -> 2 threads: math %.2f, process %.2f; load average %s" % (
                  "", r["ratio_2_threads_vs_pair"], ", ".join("%.3f" % x for x in r["ratios"]),
                  r["speedup_2_threads"], r["wall_speedup_2_threads"],
                  " ".join("%.2f" % x for x in r["load_average"])))


def bench_scale(fedgrid, scenario):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        cmd = ["/usr/bin/time", "-v", fedgrid, "run", scenario, "-o", out, "--quiet"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("scale run failed: %s" % p.stderr[-2000:])
        wall = json.load(open(os.path.join(out, "wall.json")))
        summary = json.load(open(os.path.join(out, "summary.json")))
        rows = sum(1 for _ in open(os.path.join(out, "clients.csv"))) - 1
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)",
                  p.stderr)
    elapsed = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return {"scenario": os.path.relpath(scenario, ROOT), "elapsed_seconds": elapsed,
            "max_rss_mb": rss_kb / 1024.0, "clients": summary["clients"],
            "clients_per_round": summary["clients_per_round"], "rounds": summary["rounds"],
            "client_rows": rows, "wall": wall}


def print_scale(results):
    print("\nscale (timing only; /usr/bin/time -v)")
    print("%-16s %9s %6s %7s %9s %9s %8s %8s %8s" % ("scenario", "clients", "K", "rounds",
                                                  "elapsed", "peak RSS", "load", "setup",
                                                  "records"))
    for r in results:
        w = r["wall"]
        print("%-16s %9d %6d %7d %8.1fs %7.0fMB %7.1fs %7.1fs %7.1fs" % (
            os.path.basename(r["scenario"]), r["clients"], r["clients_per_round"], r["rounds"],
            r["elapsed_seconds"], r["max_rss_mb"], w["load_seconds"], w["setup_seconds"],
            w["record_seconds"]))


def machine():
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg(),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build-scale"))
    ap.add_argument("--sections", default="math,e2e,scale")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--cnn-rounds", type=int, default=10)
    ap.add_argument("--scale-scenarios", default=",".join(
        sorted(glob.glob(os.path.join(ROOT, "bench", "scenarios", "scale-[0-9]*.yaml")))))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "bench.json"))
    a = ap.parse_args()
    fedgrid = os.path.join(a.build, "fedgrid")
    sections = a.sections.split(",")
    report = {"machine": machine(), "command": " ".join(sys.argv)}
    if "math" in sections:
        limit_json = os.path.join(os.path.dirname(a.out), "limit.json")
        subprocess.run([os.path.join(a.build, "bench", "bench_limit"), "--out", limit_json],
                       check=True)
        limit = json.load(open(limit_json))
        report["math"] = limit["results"]
        report["peak_gflops"] = [limit["peak_gflops"], limit["peak_gflops_end"]]
    if "e2e" in sections:
        report["e2e"] = []
        mlp = os.path.join(ROOT, "scenarios", "paper", "mlp-salf.yaml")
        report["e2e"].append(bench_e2e(fedgrid, mlp, [], a.trials))
        cnn = os.path.join(ROOT, "scenarios", "paper", "cnn2-salf.yaml")
        if os.path.exists(cnn):  # same deadline per round (T_max / R = 4 s), fewer rounds
            extra = ["--set", "algorithm.rounds=%d" % a.cnn_rounds,
                     "--set", "algorithm.time_budget=%g" % (4.0 * a.cnn_rounds)]
            report["e2e"].append(bench_e2e(fedgrid, cnn, extra, a.trials))
            report["e2e"][-1]["label"] = "cnn2-salf %d rounds" % a.cnn_rounds
            setting = ["--set", "training.batch_rule=fixed", "--set", "training.batch=256",
                       "--set", "evaluation.validation=false"]  # issue 13's CNN2 setting
            report["e2e"].append(bench_e2e(fedgrid, cnn, setting, a.trials))
            report["e2e"][-1]["label"] = "cnn2 b256 test-only"
        print_e2e(report["e2e"])
    if "scale" in sections:
        report["scale"] = [bench_scale(fedgrid, s) for s in a.scale_scenarios.split(",") if s]
        print_scale(report["scale"])
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    print("\nwrote %s" % a.out)


if __name__ == "__main__":
    main()
