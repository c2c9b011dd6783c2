#!/usr/bin/env python3
"""Asynchronous FL at scale (issue 16): bench/scenarios/async-100k.yaml (100,000 clients,
FedBuff with 10,000 in flight, 60 s of virtual time, timing only) against the synchronous
reference bench/scenarios/scale-100k.yaml (100,000 clients, 10 SALF rounds of 6 s), alternating,
each under /usr/bin/time -v. Prints the table (medians, ratios async / sync; goal: within 2x in
wall time and peak RSS) and writes bench/results/async_scale.json. Also times a resumed
asynchronous run (the replay without math up to its checkpoint).

usage: python3 bench/async_scale.py [--build DIR] [--trials N] [--skip-resume]
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYNC = os.path.join(ROOT, "bench", "scenarios", "scale-100k.yaml")
ASYNC = os.path.join(ROOT, "bench", "scenarios", "async-100k.yaml")


def timed_run(fedgrid, scenario, out, extra=()):
    """One run under /usr/bin/time -v: wall seconds, peak RSS (MiB), summary.json, wall.json."""
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run(["/usr/bin/time", "-v", fedgrid, "run", scenario, "-o", out, "--quiet"] +
                       list(extra), capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("%s failed:\n%s" % (scenario, p.stderr[-3000:]))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)",
                  p.stderr)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    summary = json.load(open(os.path.join(out, "summary.json")))
    return {"wall_seconds": wall, "max_rss_mib": rss / 1024.0, "summary": summary,
            "wall_json": json.load(open(os.path.join(out, "wall.json")))}


def resume_cost(fedgrid, tmp):
    """Time of a resume from a checkpoint at about half of async-100k (update 550 of ~1100):
    the replay of 30 s of virtual time without math, then the second half."""
    out = os.path.join(tmp, "resume")
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.Popen([fedgrid, "run", ASYNC, "-o", out, "--checkpoint-every", "550"],
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "update 560/" in line:
            p.send_signal(signal.SIGKILL)
            break
    p.wait()
    t0 = time.monotonic()
    r = subprocess.run([fedgrid, "run", "--resume", out, "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("resume failed:\n" + r.stderr[-3000:])
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--skip-resume", action="store_true")
    a = ap.parse_args()
    fedgrid = os.path.join(a.build, "fedgrid")
    res = {"sync": [], "async": []}
    with tempfile.TemporaryDirectory() as tmp:
        for t in range(a.trials):  # alternating: both see the same load on a shared machine
            for kind, scen in (("sync", SYNC), ("async", ASYNC)):
                r = timed_run(fedgrid, scen, os.path.join(tmp, kind))
                res[kind].append(r)
                print("trial %d %-5s %7.1f s %7.0f MiB" % (t + 1, kind, r["wall_seconds"],
                                                          r["max_rss_mib"]), flush=True)
        resume = None if a.skip_resume else resume_cost(fedgrid, tmp)
    med = {k: {"wall_seconds": statistics.median(x["wall_seconds"] for x in v),
               "max_rss_mib": statistics.median(x["max_rss_mib"] for x in v)}
           for k, v in res.items()}
    s, y = res["sync"][0]["summary"], res["async"][0]["summary"]
    print("\n%-26s %9s %9s %8s %11s %9s %10s" % ("scenario", "clients", "in flight", "rounds",
                                                "virtual [s]", "wall [s]", "RSS [MiB]"))
    print("%-26s %9d %9d %8d %11.1f %9.1f %10.0f" % (
        "scale-100k (SALF)", s["clients"], s["clients_per_round"], s["rounds"],
        s["virtual_time"], med["sync"]["wall_seconds"], med["sync"]["max_rss_mib"]))
    print("%-26s %9d %9d %8d %11.1f %9.1f %10.0f" % (
        "async-100k (FedBuff)", y["clients"], y["concurrency"], y["rounds"], y["virtual_time"],
        med["async"]["wall_seconds"], med["async"]["max_rss_mib"]))
    ratio = {k: med["async"][k] / med["sync"][k] for k in ("wall_seconds", "max_rss_mib")}
    print("async / sync: wall %.2fx, peak RSS %.2fx (goal: <= 2x); %d jobs" %
          (ratio["wall_seconds"], ratio["max_rss_mib"], y["jobs"]))
    if resume is not None:
        print("resume from update 550 (replay of half the run without math): %.1f s" % resume)
    out = {"machine": {"node": platform.node(), "cpus": os.cpu_count(),
                       "load_average": os.getloadavg()},
           "trials": res, "median": med, "ratio_async_over_sync": ratio,
           "resume_seconds": resume}
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", "async_scale.json")
    json.dump(out, open(path, "w"), indent=1)
    print("wrote " + os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
