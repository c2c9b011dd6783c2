"""Loads a run folder (`fedgrid run -o DIR`) or a sweep folder (`fedgrid sweep -o DIR`) into
pandas DataFrames typed by the data dictionary (fedgrid.schema); columns it does not know load
as pandas guesses them (numbers when every cell is one, else text), so files from a newer
FedGrid still load."""
import json
import os

import numpy as np
import pandas as pd

from . import schema


class FedgridFormatError(ValueError):
    """A result file that is not what FedGrid writes (names the file and what is wrong)."""


def _category(values, known):
    """Categorical with the known categories first (in order), then any other value found."""
    found = [v for v in pd.unique(values.dropna()) if v not in known]
    return pd.Categorical(values, categories=list(known) + sorted(found, key=str))


def _typed(df, file, path, axes=None):
    """Types df's columns in place from the dictionary of `file`; returns the units map."""
    units = {}
    for name in df.columns:
        col = schema.column(file, name)
        if axes and name in axes:
            df[name] = _axis_column(df[name], axes[name])
            continue
        if col is None:
            continue  # unknown: pandas' own guess (numbers if every cell is one, else text)
        units[name] = col.unit
        try:
            df[name] = _convert(df[name], col)
        except (ValueError, TypeError) as e:
            raise FedgridFormatError("%s: column '%s': expected %s values, found %s" %
                                     (path, name, col.kind, e)) from None
    df.attrs["units"] = units
    df.attrs["file"] = path
    return units


SPECIAL = {"nan": np.nan, "-nan": np.nan, "inf": np.inf, "+inf": np.inf, "-inf": -np.inf}


def _numbers(s):
    """Cells as float64: NaN stays NaN, `inf` -> inf; any cell that is not a number raises
    naming its value and line (row i is on line i + 2 of the file)."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    text = s.astype("object").where(s.notna(), None)
    low = text.str.strip().str.lower()
    special = low.isin(list(SPECIAL))
    v = pd.to_numeric(text.where(~special), errors="coerce")
    bad = v.isna() & text.notna() & ~special
    if bad.any():
        i = bad.idxmax()
        raise ValueError("'%s' on line %d" % (text[i], i + 2))
    return v.where(~special, low.map(SPECIAL)).astype("float64")


def _convert(s, col):
    if col.kind == "float":
        return _numbers(s)
    if col.kind in ("int", "bool"):
        if pd.api.types.is_integer_dtype(s):
            v = s  # parsed as integers: exact, also beyond 2^53
        else:
            v = _numbers(s)
            fraction = v.notna() & (np.mod(v.fillna(0), 1) != 0) | np.isinf(v)
            if fraction.any():
                i = fraction.idxmax()
                raise ValueError("'%s' on line %d" % (s[i], i + 2))
        if col.kind == "bool":
            if not v.isin([0, 1]).all():
                i = (~v.isin([0, 1])).idxmax()
                raise ValueError("'%s' on line %d (expected 0 or 1)" % (s[i], i + 2))
            return v.astype(bool)
        return v.astype("Int64") if v.isna().any() else v.astype("int64")
    text = s.astype("object").where(s.notna(), None)
    if col.kind == "category":
        return _category(text, col.categories)
    return text.where(text.notna(), "").astype(str)


def _axis_column(s, labels):
    """A sweep axis: labels as an ordered categorical in the sweep file's order; a seed axis
    (all-integer labels) as int64."""
    text = s.astype(str)
    if labels is None:  # the seed axis
        return pd.to_numeric(text, errors="raise").astype("int64")
    return pd.Categorical(text, categories=list(dict.fromkeys(labels)), ordered=True)


NA = ["", "nan", "-nan", "NaN"]  # empty cells, and what diverged runs write


def read_csv(path, file=None, axes=None):
    """One result CSV as a typed DataFrame (attrs['units']: column -> unit)."""
    file = file or os.path.basename(path)
    # Text columns (and sweep axes, whose labels may look like numbers) stay text; the others
    # parse as numbers at C speed, and a column that does not falls back to a checked path.
    text = {c.name: str for c in schema.FILES.get(file, []) if c.kind in ("str", "category")}
    text.update({a: str for a in (axes or {})})
    try:
        df = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=NA)
    except pd.errors.EmptyDataError:
        raise FedgridFormatError("%s: empty file (no header)" % path) from None
    _typed(df, file, path, axes)
    return df


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise FedgridFormatError("%s: not valid JSON: %s" % (path, e)) from None


class Run:
    """One run folder. DataFrames: rounds, clients, layers, plan, partition, availability (None
    when the file is absent); dicts: summary, manifest, wall. Files are read on first use.
    Wall-clock times are in wall (wall.json; .wall_seconds is its total), not in summary:
    summary.json is a result, the same bytes for the same scenario and seed on any --threads.

    Asynchronous runs (`fedbuff`, `fedasync`; .asynchronous is True) have one rounds row per
    server update, numbered by `version` instead of `round` (.step names the column), one
    clients row per job, and no layers or plan (None). A run stopped by a NaN/inf loss or
    parameter has .diverged True (and .complete False); its rounds.csv ends with that row."""

    CSV = ("rounds", "clients", "layers", "plan", "partition", "availability")

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            raise FileNotFoundError("%s: no such run folder" % self.path)
        if not os.path.exists(os.path.join(self.path, "rounds.csv")):
            raise FedgridFormatError("%s: not a FedGrid run folder (no rounds.csv)" % self.path)
        self._cache = {}

    def _file(self, name):
        return os.path.join(self.path, name)

    def __getattr__(self, name):
        if name in Run.CSV:
            if name not in self._cache:
                f = self._file(name + ".csv")
                self._cache[name] = read_csv(f) if os.path.exists(f) else None
            return self._cache[name]
        if name in ("summary", "manifest", "wall"):
            if name not in self._cache:
                f = self._file(name + ".json")
                self._cache[name] = read_json(f) if os.path.exists(f) else None
            return self._cache[name]
        raise AttributeError(name)

    @property
    def wall_seconds(self):
        """Wall-clock seconds of the run (wall.json's wall_seconds), None without wall.json."""
        w = self.wall
        return None if not w or w.get("wall_seconds") is None else float(w["wall_seconds"])

    @property
    def complete(self):
        """True when summary.json exists and says the run is complete."""
        return bool(self.summary and self.summary.get("complete"))

    @property
    def diverged(self):
        """True when summary.json says a loss or parameter became NaN/inf (the run stopped)."""
        return bool(self.summary and self.summary.get("diverged"))

    @property
    def asynchronous(self):
        """True for an asynchronous run (fedbuff, fedasync): rounds.csv rows are server updates
        numbered by `version`; from summary.json's algorithm, else from rounds.csv's header."""
        if "asynchronous" not in self._cache:
            algo = (self.summary or {}).get("algorithm")
            if algo is not None:
                self._cache["asynchronous"] = algo in schema.ASYNC_ALGORITHMS
            else:
                with open(self._file("rounds.csv")) as f:
                    head = f.readline().strip().split(",")
                self._cache["asynchronous"] = "version" in head and "round" not in head
        return self._cache["asynchronous"]

    @property
    def step(self):
        """The rounds.csv column that numbers its rows: `version` (asynchronous) or `round`."""
        return "version" if self.asynchronous else "round"

    @property
    def name(self):
        return os.path.basename(os.path.normpath(self.path))

    def evaluations(self):
        """The rounds with a test evaluation (test_accuracy not NaN)."""
        r = self.rounds
        return r[r["test_accuracy"].notna()] if "test_accuracy" in r else r.iloc[0:0]

    def __repr__(self):
        s = self.summary or {}
        state = "" if self.complete else (", DIVERGED (%s)" % s.get("diverged_in", "?")
                                          if self.diverged else ", INCOMPLETE")
        return "<fedgrid.Run %s: %s, %s %s, %s s virtual%s>" % (
            self.path, s.get("algorithm", "?"), s.get("rounds", "?"),
            "server updates" if self.asynchronous else "rounds", s.get("virtual_time", "?"),
            state)


def load_run(path):
    """A run folder written by `fedgrid run -o DIR` (files load lazily; see fedgrid.Run)."""
    return Run(path)


class Sweep:
    """A sweep folder: index and aggregate (DataFrames; axis columns are ordered categoricals in
    the sweep file's order, the seed axis an integer), meta (sweep.json), axes (names, in run-id
    order), and per-run access: run(id), runs(), rounds (every complete run's rounds.csv, long
    form, with its id and axis columns)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        for f in ("sweep.json", "index.csv"):
            if not os.path.exists(os.path.join(self.path, f)):
                raise FedgridFormatError("%s: not a FedGrid sweep folder (no %s)" % (self.path, f))
        self.meta = read_json(os.path.join(self.path, "sweep.json"))
        try:
            self.axes = [a["name"] for a in self.meta["axes"]]
            labels = {a["name"]: (None if a["kind"] == "seed" else a["labels"])
                      for a in self.meta["axes"]}
        except (KeyError, TypeError):
            raise FedgridFormatError("%s/sweep.json: expected axes [{name, kind, labels}]" %
                                     self.path) from None
        self.seed_axes = [a for a in self.axes if labels[a] is None]
        self.index = read_csv(os.path.join(self.path, "index.csv"), axes=labels)
        agg = os.path.join(self.path, "aggregate.csv")
        self.aggregate = read_csv(agg, axes=labels) if os.path.exists(agg) else None
        self.target_accuracy = self.meta.get("target_accuracy")
        self._runs = {}
        self._rounds = None

    @property
    def name(self):
        return self.meta.get("name") or os.path.basename(os.path.normpath(self.path))

    def run(self, run_id):
        if run_id not in self._runs:
            self._runs[run_id] = Run(os.path.join(self.path, "runs", run_id))
        return self._runs[run_id]

    def runs(self, status="complete"):
        """(index row, Run) of the runs with that status (None: every run with a folder)."""
        out = []
        for _, row in self.index.iterrows():
            if status is not None and row["status"] != status:
                continue
            if os.path.isdir(os.path.join(self.path, "runs", row["id"])):
                out.append((row, self.run(row["id"])))
        return out

    @property
    def rounds(self):
        """rounds.csv of every complete run, one row per run and round, with the index's id,
        axis and algorithm columns in front (axis categoricals keep the sweep order). With
        both round-based and asynchronous runs, `round` is empty (<NA>) in the asynchronous
        runs' rows and `version` in the others (integer columns stay nullable Int64)."""
        if self._rounds is None:
            keys = ["id"] + self.axes + ["algorithm"]
            parts = []
            for row, run in self.runs():
                df = run.rounds.copy()
                for k in reversed(keys):
                    df.insert(0, k, row[k])
                parts.append(df)
            if not parts:
                self._rounds = pd.DataFrame(columns=keys)
            else:
                self._rounds = pd.concat(parts, ignore_index=True)
                for k in keys:  # concat may loosen categoricals to object: restore them
                    if isinstance(self.index[k].dtype, pd.CategoricalDtype):
                        self._rounds[k] = pd.Categorical(
                            self._rounds[k], categories=self.index[k].cat.categories,
                            ordered=self.index[k].cat.ordered)
                units = {}
                for df in parts:
                    units.update(df.attrs.get("units", {}))
                for c in self._rounds.columns:  # a column some runs lack: nullable, typed
                    col = schema.column("rounds.csv", c)
                    if (col is not None and col.kind == "int" and
                            self._rounds[c].dtype.kind == "f"):
                        self._rounds[c] = self._rounds[c].astype("Int64")
                self._rounds.attrs["units"] = units
        return self._rounds

    def __repr__(self):
        counts = self.index["status"].value_counts()
        return "<fedgrid.Sweep %s: %d runs (%s), axes %s>" % (
            self.path, len(self.index), ", ".join("%d %s" % (n, s) for s, n in counts.items()
                                                  if n), ", ".join(self.axes))


def load_sweep(path):
    """A sweep folder written by `fedgrid sweep -o DIR` (see fedgrid.Sweep)."""
    return Sweep(path)


def load(path):
    """A sweep folder (has sweep.json) or a run folder."""
    if os.path.exists(os.path.join(path, "sweep.json")):
        return Sweep(path)
    return Run(path)
