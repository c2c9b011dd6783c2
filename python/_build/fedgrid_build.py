"""In-tree PEP 517/660 build backend of the fedgrid Python package: builds its pure-Python wheel
from pyproject.toml's [project] table with the standard library alone, so that
`pip install ./python` needs no download of setuptools (offline machines, Debian 12)."""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # python/
PACKAGE = "fedgrid"
# Fixed timestamp of the archive members: the same sources give the same wheel bytes.
EPOCH = (2020, 1, 1, 0, 0, 0)


def _project():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ImportError:
            raise RuntimeError("building fedgrid needs Python >= 3.11 (tomllib) or tomli")
    with open(os.path.join(HERE, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def _metadata():
    p = _project()
    lines = ["Metadata-Version: 2.1", "Name: " + p["name"], "Version: " + p["version"],
             "Summary: " + p.get("description", "")]
    if "requires-python" in p:
        lines.append("Requires-Python: " + p["requires-python"])
    lines += ["Requires-Dist: " + d for d in p.get("dependencies", [])]
    for extra, deps in p.get("optional-dependencies", {}).items():
        lines.append("Provides-Extra: " + extra)
        lines += ['Requires-Dist: %s; extra == "%s"' % (d, extra) for d in deps]
    return p["name"], p["version"], "\n".join(lines) + "\n"


def _sources():
    """(path inside the archive, absolute path) of the package's .py files, sorted."""
    out = []
    for root, dirs, files in os.walk(os.path.join(HERE, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                full = os.path.join(root, f)
                out.append((os.path.relpath(full, HERE).replace(os.sep, "/"), full))
    return out


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def _write_wheel(wheel_directory, members):
    name, version, metadata = _metadata()
    dist = "%s-%s" % (name.replace("-", "_"), version)
    info = dist + ".dist-info"
    members = list(members) + [
        (info + "/METADATA", metadata.encode()),
        (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: fedgrid_build\nRoot-Is-Purelib: true\n"
                          b"Tag: py3-none-any\n"),
        (info + "/top_level.txt", (PACKAGE + "\n").encode()),
    ]
    record = [_record_line(n, d) for n, d in members] + [info + "/RECORD,,"]
    members.append((info + "/RECORD", ("\n".join(record) + "\n").encode()))
    filename = dist + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for n, d in members:
            zi = zipfile.ZipInfo(n, EPOCH)
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, d)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    members = []
    for arc, full in _sources():
        with open(full, "rb") as f:
            members.append((arc, f.read()))
    return _write_wheel(wheel_directory, members)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """`pip install -e ./python`: a .pth file puts this source folder on sys.path."""
    return _write_wheel(wheel_directory, [("fedgrid_editable.pth", (HERE + "\n").encode())])


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_sdist = get_requires_for_build_wheel


def build_sdist(sdist_directory, config_settings=None):
    name, version, metadata = _metadata()
    base = "%s-%s" % (name.replace("-", "_"), version)
    files = [("pyproject.toml", os.path.join(HERE, "pyproject.toml")),
             ("_build/fedgrid_build.py", os.path.abspath(__file__))] + _sources()
    path = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as t:
        def add(arc, data):
            ti = tarfile.TarInfo("%s/%s" % (base, arc))
            ti.size, ti.mtime, ti.mode = len(data), 1577836800, 0o644
            t.addfile(ti, io.BytesIO(data))
        add("PKG-INFO", metadata.encode())
        for arc, full in files:
            with open(full, "rb") as f:
                add(arc, f.read())
    return base + ".tar.gz"
