"""Shared helpers of the end-to-end tests (tests/sim/e2e*.py): usage of a suite:
SUITE.py FEDGRID REPO_ROOT CASE. Runs of the binary fail on SimGrid's "Deadlock detected"."""
import csv
import math
import os
import subprocess
import sys

FEDGRID, ROOT, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
CI = os.path.join(ROOT, "scenarios", "ci")


# Extra engine options for simulating commands, e.g. "--cfg=contexts/factory:thread" in the
# sanitizer build (ASan cannot follow SimGrid's raw context switches).
SIM_ARGS = os.environ.get("FEDGRID_SIM_ARGS", "").split()
# The sanitizer build (which sets FEDGRID_SIM_ARGS) runs 5-10x slower: long runs are cut by 3 there.
SLOW = 3 if SIM_ARGS else 1


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


def result_files(folder):
    # Everything but wall.json (wall-clock times) and manifest.json (names the command line).
    return {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))
            if n not in ("wall.json", "manifest.json")}


def start_run(args):
    return subprocess.Popen([FEDGRID] + args + SIM_ARGS, stderr=subprocess.PIPE, text=True)


def stop_at_round(p, rnd, sig):
    """Sends `sig` once the progress line of round `rnd` appears; returns (exit code, stderr)."""
    err = []
    for line in p.stderr:
        err.append(line)
        if "round %d/" % rnd in line:
            p.send_signal(sig)
            break
    err.append(p.stderr.read())
    return p.wait(), "".join(err)




def q_upper(k, x):
    # Q(k, x) = P(Poisson(x) < k) = e^{-x} sum_{j<k} x^j / j!
    term, s = 1.0, 1.0
    for j in range(1, k):
        term *= x / j
        s += term
    return math.exp(-x) * s


def main(cases):
    """Runs the case named on the command line among `cases` (a module's globals())."""
    cases["case_" + CASE]()
    print("e2e %s: passed" % CASE)
