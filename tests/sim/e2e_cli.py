"""End-to-end tests of the command-line conventions: --flag=value, --version, the progress line
(--progress modes), and scenarios run from outside the repository (FEDGRID_PATH, cmake --install);
the CLI11 parser of every command (cli_parsing) and its help against README's command reference
(cli_help_reference).
Usage: e2e_cli.py FEDGRID REPO_ROOT CASE"""
import json
import os
import re
import shutil
import subprocess
import tempfile

from e2e_lib import *  # noqa: F401,F403 (FEDGRID, ROOT, CI, run, rows, check, SIM_ARGS, main)

SMALL = os.path.join(CI, "synthetic-deadline.yaml")
COMMANDS = ("run", "validate", "platform", "plan", "sweep")
TINY_SWEEP = os.path.join(ROOT, "tests", "sim", "sweeps", "tiny.yaml")


def proc(args):
    """(exit code, stdout, stderr) of fedgrid with `args`, nothing appended."""
    p = subprocess.run([FEDGRID] + args, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def refused(args, *wanted):
    """fedgrid `args` exits 2 with one line on stderr, "fedgrid: error: ...", holding `wanted`."""
    code, out, err = proc(args)
    check(code == 2, "fedgrid %s: exit %d, expected 2\n%s" % (" ".join(args), code, out + err))
    check(out == "" and err.count("\n") == 1 and err.startswith("fedgrid: error: "),
          "fedgrid %s: expected one error line, got:\n%s%s" % (" ".join(args), out, err))
    for w in wanted:
        check(w in err, "fedgrid %s: message lacks %r: %s" % (" ".join(args), w, err))
    return err


def option_table(cmd):
    """The options `fedgrid CMD --help` lists: [(short name or None, long name or None)]."""
    code, out, err = proc([cmd, "--help"])
    check(code == 0 and err == "", "%s --help: exit %d %s" % (cmd, code, err))
    found = []
    for line in out.splitlines():
        m = re.match(r"  (?:(-\w)(?:, |  | \S|$))?(--[\w-]+)?", line)
        if m and (m.group(1) or m.group(2)):
            found.append((m.group(1), m.group(2)))
    return found


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


def case_cli_parsing():
    # Every valued option takes its value after a space or an '=', on every command; unknown
    # options, bad values, switches given a value, missing values and extra arguments exit 2
    # with one line naming the command and the option (never CLI11's own exit codes or text).
    with tempfile.TemporaryDirectory() as tmp:
        # validate: the same summary line either way.
        a = run(["validate", SMALL, "--set=clients=4", "--seed=5", "--allow-large"])
        b = run(["validate", SMALL, "--set", "clients=4", "--seed", "5", "--allow-large"])
        check(a == b and "4 clients" in a, a + b)
        # platform: the same file either way.
        x, y = os.path.join(tmp, "x.xml"), os.path.join(tmp, "y.xml")
        run(["platform", SMALL, "--out=" + x, "--seed=4", "--set=clients=6"])
        run(["platform", SMALL, "-o", y, "--seed", "4", "--set", "clients=6"])
        check(open(x, "rb").read() == open(y, "rb").read(), "platform --out=/--seed= differ")
        check(open(x).read().count("<host id=\"client-") == 6, "platform --set=clients=6")
        # plan: the same plan.csv and output (the folder's name aside) either way.
        pa, pb = os.path.join(tmp, "pa"), os.path.join(tmp, "pb")
        oa = run(["plan", SMALL, "--out=" + pa, "--seed=2", "--set=algorithm.rounds=3",
                  "--cfg=network/model:CM02", "--log=root.thres:critical", "--allow-large"])
        ob = run(["plan", SMALL, "-o", pb, "--seed", "2", "--set", "algorithm.rounds=3",
                  "--cfg", "network/model:CM02", "--log", "root.thres:critical"])
        check(oa.replace(pa, "D") == ob.replace(pb, "D"), oa + ob)
        plans = [open(os.path.join(d, "plan.csv")).read() for d in (pa, pb)]
        check(plans[0] == plans[1], "plan --out=/--set= differ")
        # run: --checkpoint-every=, --progress=, --cfg VALUE (a space) and --resume= .
        ra, rb = os.path.join(tmp, "ra"), os.path.join(tmp, "rb")
        run(["run", SMALL, "--out=" + ra, "--threads=1", "--checkpoint-every=2", "--progress=none",
             "--set=algorithm.rounds=3", "--cfg", "network/model:LV08", "--quiet"])
        run(["run", SMALL, "-o", rb, "--threads", "1", "--checkpoint-every", "2", "--progress",
             "none", "--set", "algorithm.rounds=3", "--cfg=network/model:LV08", "--quiet"])
        check(result_files(ra) == result_files(rb), "run --checkpoint-every=/--progress= differ")
        man = json.load(open(os.path.join(ra, "manifest.json")))
        check("--cfg network/model:LV08" in json.dumps(man), "manifest lacks the command line")
        refused(["run", "--resume=" + ra], "nothing to resume", ra)
        # sweep: the same dry-run listing either way, -j2 and --jobs=2 alike.
        sw = os.path.join(tmp, "sw")
        da = run(["sweep", TINY_SWEEP, "--out=" + sw, "--set=algorithm.rounds=3", "--jobs=2",
                  "--threads=1", "--dry-run"])
        db = run(["sweep", TINY_SWEEP, "-o", sw, "--set", "algorithm.rounds=3", "-j2", "--threads",
                  "1", "-n"])
        check(da == db and "--set algorithm.rounds=3" in da, da + db)
        run(["sweep", TINY_SWEEP, "--out=" + sw, "--emit=parallel", "--jobs=3", "--threads=1"])
        jobs = open(os.path.join(sw, "jobs.txt")).read()
        check(jobs and all("--threads 1" in l for l in jobs.splitlines()), jobs)

    # Unknown options, per command, named with the command and where help is.
    for cmd, args in (("run", [SMALL]), ("validate", [SMALL]), ("platform", [SMALL, "-o", "x"]),
                      ("plan", [SMALL]), ("sweep", [TINY_SWEEP])):
        refused([cmd] + args + ["--bogus"],
                "%s: unknown option '--bogus' (see fedgrid %s --help)" % (cmd, cmd))
        refused([cmd] + args + ["--bogus=3"], "unknown option '--bogus=3'")
        refused([cmd] + args + ["-Z"], "%s: unknown option '-Z'" % cmd)
        refused([cmd] + args + ["extra.yaml"], "%s: unexpected argument 'extra.yaml'" % cmd)
        refused([cmd] + args + ["plan"], "%s: unexpected argument 'plan'" % cmd)  # not a command
        refused([cmd] + args + ["--seed" if cmd != "sweep" else "--threads"], "expects a value")
        refused([cmd] + args + ["--help=yes"],
                "%s: --help takes no value, found '--help=yes'" % cmd)
    seed_range = "--seed expects an integer in [0, 18446744073709551615], found "
    for cmd, args in (("run", [SMALL]), ("validate", [SMALL]), ("platform", [SMALL, "-o", "x"]),
                      ("plan", [SMALL])):
        for bad in ("x", "-1", "1.5", "18446744073709551616", ""):
            refused([cmd] + args + ["--seed=" + bad], "%s: %s'%s'" % (cmd, seed_range, bad))
        refused([cmd] + args + ["--seed", "x"], "%s: %s'x'" % (cmd, seed_range))
    # Bad values of the other valued options, in either form.
    for args, wanted in (
            (["run", SMALL, "--threads", "0"],
             "run: --threads expects an integer in [1, 4096], found '0'"),
            (["run", SMALL, "--threads=4097"], "run: --threads expects an integer in [1, 4096]"),
            (["run", SMALL, "--checkpoint-every=0"],
             "run: --checkpoint-every expects an integer in [1, 1073741824], found '0'"),
            (["run", SMALL, "--progress", "fast"], "run: --progress expects auto, bar, lines"),
            (["run", SMALL, "--cfg", "maxmin/precision:-1"], "run: --cfg=maxmin/precision:-1"),
            (["run", SMALL, "--cfg="], "run: --cfg=: expected"),
            (["sweep", TINY_SWEEP, "-j0"], "sweep: -j expects an integer in [1, 4096], found '0'"),
            (["sweep", TINY_SWEEP, "--jobs=x"],
             "sweep: -j expects an integer in [1, 4096], found 'x'"),
            (["sweep", TINY_SWEEP, "--threads", "x"], "sweep: --threads expects an integer"),
            (["sweep", TINY_SWEEP, "--emit=pbs"],
             "sweep: --emit expects slurm or parallel, found 'pbs'"),
            (["sweep", TINY_SWEEP, "--emit"], "sweep: --emit expects a value (slurm|parallel)"),
            (["validate", SMALL, "--cfg=network/model:CM02"], "validate: unknown option '--cfg=")):
        refused(args, wanted)
    refused(["plan", SMALL, "--log=foo"], "plan: --log=foo", "CATEGORY.SETTING:VALUE")
    # Switches given a value.
    for args in (["run", SMALL, "--quiet=no"], ["run", SMALL, "--force="],
                 ["validate", SMALL, "--allow-large=1"], ["sweep", TINY_SWEEP, "--dry-run=yes"],
                 ["sweep", TINY_SWEEP, "--collect=true"]):
        flag = args[-1].split("=")[0]
        refused(args, "%s: %s takes no value, found '%s'" % (args[0], flag, args[-1]))
    # What each command needs, and what excludes what.
    refused(["run"], "run: expects a SCENARIO.yaml (or --resume DIR)")
    refused(["run", "--quiet"], "run: expects a SCENARIO.yaml")
    for cmd in ("validate", "plan", "platform"):
        refused([cmd], "%s: SCENARIO.yaml is required" % cmd)
    refused(["sweep"], "sweep: SWEEP.yaml is required")
    refused(["platform", SMALL], "platform: --out is required (see fedgrid platform --help)")
    for extra in ([SMALL], ["-o", "x"], ["--out=x"], ["--set", "a=1"], ["--seed=3"], ["--force"]):
        refused(["run", "--resume", "somewhere"] + extra, "run: --resume DIR takes the scenario",
                "give none of them (nor --force)")
    refused(["sweep", TINY_SWEEP, "--dry-run", "--collect"],
            "sweep: --dry-run, --emit and --collect exclude each other")
    refused(["sweep", TINY_SWEEP, "-n", "--emit", "slurm"], "exclude each other")
    # The command line itself.
    code, out, err = proc([])
    check(code == 2 and out == "" and "usage: fedgrid <command>" in err, "bare fedgrid: %d" % code)
    for cmd in COMMANDS:
        check("\n  %s " % cmd in err, "the usage lacks " + cmd)
    code, out, err = proc(["--help"])
    check(code == 0 and err == "" and "usage: fedgrid <command>" in out, "fedgrid --help")
    check(proc(["help"])[1] == out and proc(["-h"])[1] == out, "help, -h differ from --help")
    for cmd in COMMANDS:
        check(proc(["help", cmd])[1] == proc([cmd, "--help"])[1] == proc([cmd, "-h"])[1],
              "help %s differs from %s --help" % (cmd, cmd))
    check(proc(["version"])[1] == proc(["--version"])[1] != "", "version differs from --version")
    refused(["frobnicate"], "unknown command 'frobnicate' (expected run, validate")
    refused(["--bogus"], "unknown option '--bogus' (see fedgrid --help)")
    refused(["--version=2"], "--version takes no value")
    refused(["help", "frobnicate"], "help: unknown command 'frobnicate'")
    refused(["run", SMALL, "--version"], "run: unknown option '--version'")


def case_cli_help_reference():
    # `fedgrid CMD --help`: a usage line, an option table within 100 columns, examples; every
    # option in the table is in the command's synopsis of `fedgrid --help`, which README's
    # command reference holds verbatim (a drift guard: change one, change the other).
    code, overview, _ = proc(["--help"])
    readme = open(os.path.join(ROOT, "README.md")).read()
    ref = readme[readme.index("## Command reference"):]
    ref = ref[:ref.index("\n## ", 4)]
    entries = {}
    cur = None
    for line in overview.split("commands:\n", 1)[1].split("\n\n")[0].splitlines():
        if re.match(r"  [a-z]", line):
            cur = line.split()[0]
            entries.setdefault(cur, "")
        if cur and not line.startswith("        "):
            entries[cur] += line + "\n"
    for cmd in COMMANDS + ("help", "version"):
        check(cmd in entries, "fedgrid --help lacks " + cmd)
        check(entries[cmd] in ref, "README's command reference lacks, verbatim:\n" + entries[cmd])
    for line in overview.splitlines():
        check(len(line) <= 100, "fedgrid --help: a line beyond 100 columns: " + line)
    for cmd in COMMANDS:
        code, text, err = proc([cmd, "--help"])
        check(code == 0 and text.startswith("usage: fedgrid " + cmd), cmd + " --help: " + err)
        check("\noptions:\n" in text and "examples:\n  fedgrid " + cmd in text, text)
        for line in text.splitlines():
            check(len(line) <= 100, "%s --help: a line beyond 100 columns: %s" % (cmd, line))
        table = option_table(cmd)
        check(("-h", "--help") in table and len(table) >= 4,
              "%s --help: no option table: %s" % (cmd, table))
        for short, long in table:
            if long == "--help":
                continue
            # The synopsis names an option by its long name, or a valued one by its short name.
            words = re.findall(r"-[\w-]+", entries[cmd])
            check(long in words or short in words,
                  "%s: %s is not in fedgrid --help's synopsis:\n%s" % (cmd, long or short,
                                                                       entries[cmd]))
    run_help = proc(["run", "--help"])[1]
    for kept in ("SimGrid options FedGrid allows", "network/model", "SIGINT/SIGTERM",
                 "--progress lines:10", "fedgrid run --resume results/quickstart",
                 "Exit codes: 0 complete", "options of a new run (not with --resume):",
                 "usage: fedgrid run SCENARIO.yaml", "       fedgrid run --resume DIR"):
        check(kept in run_help, "run --help lacks " + kept)
    sweep_help = proc(["sweep", "--help"])[1]
    for kept in ("zip:", "[--dry-run | --emit slurm|parallel | --collect]",
                 "sbatch DIR/sweep.sbatch", "Run ids join", "index.csv's status"):
        check(kept in sweep_help, "sweep --help lacks " + kept)


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
