#!/usr/bin/env python3
"""Runs scenarios over several seeds (N processes at a time) and prints one row per scenario:
the test accuracy reached within the time budget (mean and sample std over seeds), rounds, mean
round duration and mean full/partial/dropped clients per round. Reads only result files.

usage: scripts/compare.py [-j N] [--seeds 1,2,3] [--budget T] [--set key=value]... [-o DIR]
                          SCENARIO.yaml...
"""
import argparse
import concurrent.futures
import csv
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_one(fedgrid, scenario, seed, out, sets):
    if not os.path.exists(os.path.join(out, "summary.json")):
        cmd = [fedgrid, "run", scenario, "-o", out, "--seed", str(seed), "--quiet"]
        for s in sets:
            cmd += ["--set", s]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0 or "Deadlock detected" in p.stderr:
            raise RuntimeError("%s seed %d failed:\n%s" % (scenario, seed, p.stderr[-2000:]))
    return out


def at_budget(out, budget):
    """Last evaluated test accuracy of a round that ended within the budget."""
    acc, rounds = None, []
    with open(os.path.join(out, "rounds.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if budget is not None and float(r["t_end"]) > budget + 1e-9:
                break
            rounds.append(r)
            if r["test_accuracy"]:
                acc = float(r["test_accuracy"])
    return acc, rounds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--budget", type=float, default=None, help="virtual-time cut (default: none)")
    ap.add_argument("--set", action="append", default=[], help="scenario override (repeatable)")
    ap.add_argument("-o", default=os.path.join(ROOT, "results", "compare"))
    ap.add_argument("--fedgrid", default=os.path.join(ROOT, "build", "fedgrid"))
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(a.j) as ex:
        for sc in a.scenarios:
            name = os.path.splitext(os.path.basename(sc))[0]
            for s in seeds:
                out = os.path.join(a.o, "%s-seed%d" % (name, s))
                jobs[(name, s)] = ex.submit(run_one, a.fedgrid, sc, s, out, a.set)
        print("%-22s %-16s %7s %9s %6s %6s %7s" %
              ("scenario", "test acc (sd)", "rounds", "round [s]", "full", "part.", "dropped"))
        for sc in a.scenarios:
            name = os.path.splitext(os.path.basename(sc))[0]
            accs, nr, dur, full, part, drop = [], [], [], [], [], []
            for s in seeds:
                acc, rounds = at_budget(jobs[(name, s)].result(), a.budget)
                accs.append(acc if acc is not None else float("nan"))
                nr.append(len(rounds))
                dur += [float(r["duration"]) for r in rounds]
                full += [int(r["full"]) for r in rounds]
                part += [int(r["partial"]) for r in rounds]
                drop += [int(r["dropped"]) for r in rounds]
            sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
            print("%-22s %.4f (%.4f)  %7.1f %9.3f %6.2f %6.2f %7.2f" %
                  (name, statistics.mean(accs), sd, statistics.mean(nr), statistics.mean(dur),
                   statistics.mean(full), statistics.mean(part), statistics.mean(drop)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
