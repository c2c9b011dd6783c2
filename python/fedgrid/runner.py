"""Runs the fedgrid binary from Python: fedgrid.run(scenario, overrides, out) -> fedgrid.Run."""
import json
import os
import shutil
import subprocess
import warnings

from .load import Run


class FedgridError(RuntimeError):
    """fedgrid exited with an error: returncode (2 = bad input, 1 = internal, 3 = diverged,
    128 + N = stopped by signal N), message (fedgrid's one-line message), stderr, command."""

    def __init__(self, returncode, message, stderr, command):
        super().__init__("fedgrid exited with code %d: %s" % (returncode, message))
        self.returncode, self.message, self.stderr, self.command = (returncode, message, stderr,
                                                                    command)


class FedgridInputError(FedgridError, ValueError):
    """Exit code 2: the scenario, an override or a data file is wrong (message names it)."""


class FedgridDivergedError(FedgridError):
    """Exit code 3 with run(..., on_diverged="raise"): a loss or a parameter became NaN or
    infinite; .run is the loaded run (its files hold the rounds up to the divergence)."""

    def __init__(self, returncode, message, stderr, command, run):
        super().__init__(returncode, message, stderr, command)
        self.run = run


class DivergedWarning(RuntimeWarning):
    """run(..., on_diverged="warn") returned a run whose model diverged (run.diverged)."""


EXIT_DIVERGED = 3
ON_DIVERGED = ("warn", "return", "raise")


def _candidates():
    """Where a fedgrid binary may be, in order, after an explicit argument and $FEDGRID_BIN."""
    here = os.path.dirname(os.path.abspath(__file__))
    # A source checkout: python/fedgrid/ -> <repo>/build/fedgrid.
    yield os.path.join(here, "..", "..", "build", "fedgrid")
    d = os.getcwd()  # the current folder and its parents (an installed package run in a repo)
    while True:
        yield os.path.join(d, "build", "fedgrid")
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    found = shutil.which("fedgrid")
    if found:
        yield found


def find_binary(binary=None):
    """The fedgrid executable: `binary`, else $FEDGRID_BIN, else build/fedgrid of this source
    checkout or of the current folder or a parent, else `fedgrid` on PATH."""
    for given, what in ((binary, "binary argument"), (os.environ.get("FEDGRID_BIN"),
                                                      "$FEDGRID_BIN")):
        if given:
            if not (os.path.isfile(given) and os.access(given, os.X_OK)):
                raise FileNotFoundError("%s %r is not an executable file" % (what, given))
            return os.path.abspath(given)
    for c in _candidates():
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.normpath(os.path.abspath(c))
    raise FileNotFoundError(
        "no fedgrid binary found: pass binary=..., set $FEDGRID_BIN, build it (bash "
        "scripts/setup.sh makes build/fedgrid) or put fedgrid on PATH")


def format_value(v):
    """A Python value as the YAML text of `--set key=value` (dicts and lists as flow YAML, None
    as null)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v)  # JSON is YAML flow syntax
    return str(v)


def override_args(overrides):
    """--set arguments from a dict {key.path: value} or a list of 'key.path=value' strings."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        items = ["%s=%s" % (k, format_value(v)) for k, v in overrides.items()]
    elif isinstance(overrides, str):
        raise TypeError("overrides: expected a dict or a list of 'key=value' strings, found a "
                        "string")
    else:
        items = list(overrides)
        for it in items:
            if not isinstance(it, str) or "=" not in it:
                raise TypeError("overrides: expected 'key=value', found %r" % (it,))
    return [a for it in items for a in ("--set", it)]


def _message(stderr):
    """fedgrid's one-line message: its last line starting with 'fedgrid: '."""
    lines = [l for l in stderr.splitlines() if l.startswith("fedgrid: ")]
    if lines:
        return lines[-1][len("fedgrid: "):].removeprefix("error: ")
    tail = [l for l in stderr.splitlines() if l.strip()]
    return tail[-1] if tail else "(no message)"


def _diverged_folder(stderr):
    """The folder fedgrid names in its divergence message: '... stopped there (DIR/summary.json:'."""
    for line in reversed(stderr.splitlines()):
        i = line.find("the run stopped there (")
        j = line.find("/summary.json:", i)
        if line.startswith("fedgrid: diverged") and i >= 0 and j > i:
            return line[i + len("the run stopped there ("):j]
    return None


def run(scenario, overrides=None, out=None, *, seed=None, threads=None, binary=None,
        timeout=None, extra_args=(), on_diverged="warn"):
    """Runs `fedgrid run SCENARIO [-o OUT] [--set k=v]... [--seed N] [--threads N]` and returns
    the loaded run (fedgrid.Run). `overrides`: {key.path: value} or ['key.path=value', ...];
    `out`: the output folder (default: fedgrid's, results/<scenario name> under the current
    folder). Raises FedgridInputError (exit 2: bad scenario, override or data) or FedgridError
    (any other non-zero exit) carrying the exit code and fedgrid's message.

    A run whose loss or parameters became NaN/inf (exit 3) is a result, as in `fedgrid sweep`
    (status `diverged`): by default it is returned with run.diverged True and run.complete False,
    with a DivergedWarning; on_diverged="return" returns it without the warning, "raise" raises
    FedgridDivergedError (its .run is the loaded run)."""
    if on_diverged not in ON_DIVERGED:
        raise ValueError("on_diverged: expected one of %s, found %r" % (", ".join(ON_DIVERGED),
                                                                       on_diverged))
    exe = find_binary(binary)
    cmd = [exe, "run", os.fspath(scenario)] + override_args(overrides)
    if out is not None:
        cmd += ["-o", os.fspath(out)]
    if seed is not None:
        cmd += ["--seed", str(int(seed))]
    if threads is not None:
        cmd += ["--threads", str(int(threads))]
    if out is not None:
        cmd.append("--quiet")  # without -o, the progress output names the folder
    cmd += list(extra_args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if p.returncode == EXIT_DIVERGED:
        folder = out if out is not None else _diverged_folder(p.stderr)
        if folder is None or not os.path.exists(os.path.join(folder, "summary.json")):
            raise FedgridError(p.returncode, _message(p.stderr), p.stderr, cmd)
        result = Run(folder)
        message = _message(p.stderr)
        if on_diverged == "raise":
            raise FedgridDivergedError(p.returncode, message, p.stderr, cmd, result)
        if on_diverged == "warn":
            warnings.warn("%s: %s" % (result.path, message), DivergedWarning, stacklevel=2)
        return result
    if p.returncode != 0:
        cls = FedgridInputError if p.returncode == 2 else FedgridError
        raise cls(p.returncode, _message(p.stderr), p.stderr, cmd)
    written = out
    if written is None:  # fedgrid says where: "[fedgrid] results written to DIR"
        for line in p.stderr.splitlines():
            if line.startswith("[fedgrid] results written to "):
                written = line[len("[fedgrid] results written to "):].strip()
    if written is None:
        raise FedgridError(0, "could not tell the output folder (pass out=...)", p.stderr, cmd)
    return Run(written)
