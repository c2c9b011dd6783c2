"""The package builds and installs offline: the in-tree backend's wheel (contents, RECORD
hashes), a real `pip install` with no index, the README's Python snippet, the data dictionary
in docs/outputs.md against the schema and against the columns the binary really writes, and
every JSON file of runs and sweeps against the schema's types."""
import base64
import csv
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile


from fedgrid import schema

from conftest import ROOT

PY = os.path.join(ROOT, "python")


def test_wheel_contents_and_record(tmp_path):
    sys.path.insert(0, os.path.join(PY, "_build"))
    try:
        import fedgrid_build
    finally:
        sys.path.pop(0)
    name = fedgrid_build.build_wheel(str(tmp_path))
    assert name == "fedgrid-0.1-py3-none-any.whl"
    z = zipfile.ZipFile(tmp_path / name)
    files = set(z.namelist())
    want = {"fedgrid/" + f for f in os.listdir(os.path.join(PY, "fedgrid")) if f.endswith(".py")}
    assert want <= files and not [f for f in files if "tests" in f or "__pycache__" in f]
    meta = z.read("fedgrid-0.1.dist-info/METADATA").decode()
    assert "Requires-Dist: pandas" in meta and "Name: fedgrid" in meta
    for row in csv.reader(z.read("fedgrid-0.1.dist-info/RECORD").decode().splitlines()):
        if row[1]:
            data = z.read(row[0])
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert row[1] == "sha256=" + digest.decode() and int(row[2]) == len(data)
    again = tmp_path / "again"
    again.mkdir()
    fedgrid_build.build_wheel(str(again))
    assert (again / name).read_bytes() == (tmp_path / name).read_bytes()  # reproducible


def test_pip_install_offline(tmp_path):
    """pip with build isolation and no package index: the backend needs nothing to download."""
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    p = subprocess.run(["/usr/bin/python3", "-m", "pip", "install", "--no-deps", "--target",
                        str(tmp_path / "t"), PY], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    p = subprocess.run(["/usr/bin/python3", "-c", "import fedgrid; print(fedgrid.__file__, "
                        "fedgrid.__version__)"], capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(tmp_path / "t")))
    assert p.returncode == 0 and p.stdout.startswith(str(tmp_path / "t")), p.stdout + p.stderr


def readme_snippet():
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text[text.index("\n## Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_snippet_runs(tiny_sweep, tmp_path):
    """The README's snippet, on the tiny sweep in place of the folder it names."""
    code = readme_snippet()
    folder = re.search(r'load_sweep\("([^"]+)"\)', code).group(1)
    os.makedirs(tmp_path / os.path.dirname(folder), exist_ok=True)
    os.symlink(tiny_sweep, tmp_path / folder)
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       cwd=tmp_path, env=dict(os.environ, PYTHONPATH=PY, MPLBACKEND="Agg"),
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    pngs = glob.glob(str(tmp_path / "**" / "*.png"), recursive=True)
    assert pngs and all(os.path.getsize(f) > 5000 for f in pngs)


def test_outputs_doc_holds_the_dictionary():
    doc = open(os.path.join(ROOT, "docs", "outputs.md")).read()
    for f in schema.FILES:
        assert schema.markdown(f) in doc, "docs/outputs.md: the table of %s is not today's " \
            "(python3 -m fedgrid.schema prints it)" % f


def written_columns(folder):
    out = {}
    for f in glob.glob(os.path.join(folder, "*.csv")):
        with open(f) as fh:
            out[os.path.basename(f)] = next(csv.reader(fh))
    for f in glob.glob(os.path.join(folder, "*.json")):
        out[os.path.basename(f)] = list(json.load(open(f)))
    return out


def test_every_written_column_is_in_the_dictionary(runs, tiny_sweep, mixed_sweep):
    """Round-based, asynchronous and diverged runs, and two sweeps (one with diverged runs):
    every column and key is in the dictionary, marked for the kind of run that writes it."""
    folders = list(runs.values()) + [tiny_sweep, mixed_sweep] + glob.glob(
        os.path.join(tiny_sweep, "runs", "*"))[:1]
    assert {"async", "fedasync", "diverged"} <= set(runs)
    seen = {}
    axes = ["algorithm.name", "platform", "seed", "scenario", "training.lr"]
    for folder in folders:
        written = written_columns(folder)
        summary = json.load(open(os.path.join(folder, "summary.json"))) \
            if "summary.json" in written else {}
        asynchronous = summary.get("algorithm") in schema.ASYNC_ALGORITHMS
        for f, cols in written.items():
            assert f in schema.FILES, "%s: a file the dictionary does not describe" % f
            for c in cols:
                if f in ("index.csv", "aggregate.csv") and c in axes:
                    continue
                col = schema.column(f, c)
                assert col is not None, "%s: column %s is not in fedgrid/schema.py (nor " \
                    "docs/outputs.md)" % (f, c)
                assert col.runs != ("sync" if asynchronous else "async"), \
                    "%s of %s: %s is marked %s-only" % (f, folder, c, col.runs)
                seen.setdefault(f, set()).add(c)
        if "rounds.csv" in written:  # and a run writes every column of its kind
            for f in ("rounds.csv", "clients.csv"):
                want = {c.name for c in schema.columns(f, asynchronous) if c.name not in
                        ("steps", "steps_done")}
                assert want <= set(written[f]), (folder, f, want - set(written[f]))
    for f, cols in schema.FILES.items():  # and the dictionary lists nothing that is not written
        for c in cols:
            if c.name in ("<axis>", "label_*", "stopped_by"):
                continue
            assert c.name in seen.get(f, ()), "%s: %s listed but never written" % (f, c.name)


JSON_TYPES = {"number": (int, float), "integer": (int,), "string": (str,), "boolean": (bool,),
              "array": (list,), "object": (dict,)}


def strict_json(path):
    """The file parsed by Python's json, refusing NaN/Infinity (not JSON) and duplicate keys."""
    def no_constant(name):
        raise ValueError("%s: %s is not JSON" % (path, name))

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), "%s: duplicate keys %s" % (path, keys)
        return dict(pairs)
    with open(path) as f:
        text = f.read()
    assert text.endswith("}\n"), path
    return json.loads(text, parse_constant=no_constant, object_pairs_hook=no_duplicates), text


def test_json_files_parse_and_match_the_schema(runs, tiny_sweep, mixed_sweep):
    """summary.json, manifest.json, wall.json of round-based, asynchronous and diverged runs and
    sweep.json of two sweeps: valid JSON, keys in the dictionary's order with its types (null
    only where it says when), every key a run of that kind writes present."""
    folders = list(runs.values()) + [tiny_sweep, mixed_sweep] + glob.glob(
        os.path.join(mixed_sweep, "runs", "*"))
    checked = set()
    for folder in folders:
        summary = strict_json(os.path.join(folder, "summary.json"))[0] \
            if os.path.exists(os.path.join(folder, "summary.json")) else {}
        asynchronous = summary.get("algorithm") in schema.ASYNC_ALGORITHMS
        for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
            f = os.path.basename(path)
            data, text = strict_json(path)
            assert isinstance(data, dict), path
            order = [c.name for c in schema.FILES[f]]
            assert [k for k in order if k in data] == list(data), \
                "%s: keys not in the dictionary's order: %s" % (path, list(data))
            for key, value in data.items():
                col = schema.column(f, key)
                if value is None:
                    assert col.empty.startswith("null"), "%s: %s is null" % (path, key)
                    continue
                types = JSON_TYPES[col.kind]
                assert isinstance(value, types) and (col.kind == "boolean") == \
                    isinstance(value, bool), "%s: %s = %r is not %s" % (path, key, value, col.kind)
                if col.kind == "number":  # written with a fraction or an exponent
                    assert re.search(r'"%s": -?[0-9.]+(\.[0-9]+|e[-+]?[0-9]+)' % key, text), \
                        (path, key)
            want = {c.name for c in schema.columns(f, asynchronous if f == "summary.json"
                                                    else None)} - set(schema.OPTIONAL_KEYS)
            assert want <= set(data), (path, want - set(data))
            checked.add((f, asynchronous if f == "summary.json" else None))
            if f == "sweep.json":
                assert all(set(a) == {"name", "kind", "labels"} for a in data["axes"]), path
            if f == "summary.json":  # the deprecated aliases hold the new names' values
                assert data["m"] == data["batch_factor"], path
                assert data["heterogeneity"] == data["speed_cv"], path
    assert checked >= {("summary.json", False), ("summary.json", True), ("manifest.json", None),
                       ("wall.json", None), ("sweep.json", None)}, checked
