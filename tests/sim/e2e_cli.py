"""End-to-end tests of the command-line conventions: --flag=value, --version, the progress line
(--progress modes), and scenarios run from outside the repository (FEDGRID_PATH, cmake --install).
Usage: e2e_cli.py FEDGRID REPO_ROOT CASE"""
import json
import os
import re
import shutil
import subprocess
import tempfile

from e2e_lib import *  # noqa: F401,F403 (FEDGRID, ROOT, CI, run, rows, check, SIM_ARGS, main)

SMALL = os.path.join(CI, "synthetic-deadline.yaml")


def stderr_of(args, env=None, expect=0):
    """stderr as written (carriage returns kept: no universal newlines)."""
    p = subprocess.run([FEDGRID] + args + SIM_ARGS, capture_output=True, env=env, timeout=300)
    err = p.stderr.decode()
    check(p.returncode == expect, "exit %d, expected %d: %s" % (p.returncode, expect, err))
    check("Deadlock detected" not in err, err)
    return err


def case_cli_conventions():
    # --flag=value is the flag followed by its value; switches refuse a value; --version names
    # the revision, the build and where results reproduce.
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        run(["run", SMALL, "--out=" + a, "--seed=3", "--threads=1", "--quiet",
             "--set=algorithm.rounds=4"])
        run(["run", SMALL, "-o", b, "--seed", "3", "--threads", "1", "--quiet",
             "--set", "algorithm.rounds=4"])
        check(result_files(a) == result_files(b), "--out=/--seed= differ from -o/--seed")
        summ = json.load(open(os.path.join(a, "summary.json")))
        check(summ["seed"] == 3 and summ["rounds"] == 4, summ)
        man = json.load(open(os.path.join(a, "manifest.json")))
        for key in ("build", "portable", "cpu", "host", "started"):
            check(key in man, "manifest.json lacks %s" % key)
        check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", man["started"]), man["started"])
        check(isinstance(man["portable"], bool) and ("portable=ON" in man["build"]) ==
              man["portable"], man["build"])
        out = run(["run", SMALL, "-o", os.path.join(tmp, "c"), "--quiet=yes"], expect=2)
        check("--quiet takes no value" in out, out)
        out = run(["run", SMALL, "-o", os.path.join(tmp, "c"), "--threads=zero"], expect=2)
        check("--threads expects an integer" in out, out)
        # Sweeps take the same form.
        spec = os.path.join(tmp, "s.yaml")
        open(spec, "w").write("name: s\nbase: %s\nset: {algorithm.rounds: 2}\n"
                              "grid:\n  seed: [1, 2]\n" % SMALL)
        run(["sweep", spec, "--out=" + os.path.join(tmp, "sw"), "--jobs=2", "--quiet"])
        check(len(rows(os.path.join(tmp, "sw", "index.csv"))) == 2, "sweep --out=/--jobs=")
    out = run(["--version"])
    check(out.startswith("fedgrid 0.1 (git ") and "build: " in out and "isa" in out and
          "byte-identical" in out, out)


def case_progress():
    # Piped (not a terminal), the default is a line per round, with rate and ETA from the
    # second on; lines:N every N rounds (and the last), bar redraws one line, none is silent.
    args = ["run", SMALL, "--threads", "1", "--set", "algorithm.rounds=7", "--force"]
    with tempfile.TemporaryDirectory() as tmp:
        o = ["-o", os.path.join(tmp, "r")]
        err = stderr_of(args + o)
        lines = [l for l in err.splitlines() if l.startswith("[fedgrid] round ")]
        check([int(l.split()[2].split("/")[0]) for l in lines] == list(range(1, 8)), err)
        check(all(re.search(r"rounds/s  ETA (\d+s|\d+:\d\d)", l) for l in lines[1:]), err)
        check(lines[-1].endswith("ETA 0s"), lines[-1])
        err = stderr_of(args + o + ["--progress", "lines:3"])
        got = [int(l.split()[2].split("/")[0]) for l in err.splitlines()
               if l.startswith("[fedgrid] round ")]
        check(got == [1, 4, 7], got)
        err = stderr_of(args + o + ["--progress=bar"])
        check(err.count("\r[fedgrid] round ") >= 2 and "\r[fedgrid] round 7/7" in err, repr(err))
        check(err.split("\r")[-1].count("\n") >= 1, "the bar's last line is not ended")
        err = stderr_of(args + o + ["--progress", "none"])
        check("[fedgrid] round" not in err and "results written" in err, err)
        err = stderr_of(args + o + ["--progress", "lines:0.5s"])
        check("[fedgrid] round 1/7" in err and "[fedgrid] round 7/7" in err, err)
        for bad in ("lines:0", "lines:x", "fast", "lines:-1s"):
            out = run(args + o + ["--progress", bad], expect=2)
            check("--progress expects auto, bar, lines" in out and bad in out, out)


def case_find_files():
    # A scenario copied out of the repository finds its model through FEDGRID_PATH, and an
    # installed FedGrid finds it in its share folder.
    with tempfile.TemporaryDirectory() as tmp:
        away = os.path.join(tmp, "elsewhere", "deep")
        os.makedirs(away)
        scen = os.path.join(away, "s.yaml")
        shutil.copy(SMALL, scen)
        model = [l for l in open(scen) if l.startswith("model:")][0].split(":", 1)[1].strip()
        check(model.startswith("../"), "the ci scenario's model is not relative: " + model)
        out = run(["validate", scen], expect=2)
        check("key 'model'" in out and model in out, out)
        env = dict(os.environ, FEDGRID_PATH="/nonexistent:" + ROOT)
        p = subprocess.run([FEDGRID, "validate", scen], capture_output=True, text=True, env=env)
        check(p.returncode == 0, p.stderr)
        # cmake --install into a prefix: bin/fedgrid and share/fedgrid/{models,...}.
        build = os.path.dirname(os.path.realpath(FEDGRID))
        prefix = os.path.join(tmp, "prefix")
        p = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                           capture_output=True, text=True)
        check(p.returncode == 0, p.stdout + p.stderr)
        exe = os.path.join(prefix, "bin", "fedgrid")
        for d in ("models", "platforms", "scenarios", "sweeps"):
            check(os.path.isdir(os.path.join(prefix, "share", "fedgrid", d)), "no share/" + d)
        check(os.path.exists(os.path.join(prefix, "share", "fedgrid", "models",
                                          os.path.basename(model))), "model not installed")
        out_dir = os.path.join(tmp, "out")
        p = subprocess.run([exe, "run", scen, "-o", out_dir, "--quiet", "--set",
                            "algorithm.rounds=2"] + SIM_ARGS, capture_output=True, text=True,
                           cwd=tmp, env={k: v for k, v in os.environ.items()
                                         if k != "FEDGRID_PATH"})
        check(p.returncode == 0, p.stderr)
        man = json.load(open(os.path.join(out_dir, "manifest.json")))
        check(man["model_file"].startswith(os.path.join(prefix, "share", "fedgrid")),
              man["model_file"])


main(globals())
