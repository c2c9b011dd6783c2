"""fedgrid.run: overrides as --set, the loaded result, errors with fedgrid's exit code and
message, finding the binary."""
import os
import stat

import pytest

import fedgrid
from fedgrid.runner import format_value, override_args

from conftest import CI

SCEN = os.path.join(CI, "synthetic-deadline.yaml")


def test_run_with_overrides_returns_the_loaded_run(binary, tmp_path):
    run = fedgrid.run(SCEN, {"algorithm.rounds": 3, "algorithm.name": "salf",
                             "evaluation": {"every": 1, "validation": False}},
                      tmp_path / "a", seed=4, threads=1)
    assert isinstance(run, fedgrid.Run) and run.complete
    assert len(run.rounds) == 3 and run.summary["algorithm"] == "salf"
    assert run.summary["seed"] == 4 and run.rounds["test_accuracy"].notna().all()
    assert run.rounds["val_accuracy"].isna().all()  # validation: false went through as YAML
    # the same overrides as 'key=value' strings give the same bytes
    again = fedgrid.run(SCEN, ["algorithm.rounds=3", "algorithm.name=salf",
                               "evaluation={every: 1, validation: false}"], tmp_path / "b",
                        seed=4, threads=1)
    for f in ("rounds.csv", "clients.csv", "layers.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert again.manifest["seed"] == 4


def test_default_output_folder(binary, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = fedgrid.run(SCEN, {"algorithm.rounds": 2}, binary=binary)
    assert os.path.realpath(run.path) == os.path.realpath(
        tmp_path / "results" / "ci-synthetic-deadline")
    assert len(run.rounds) == 2


def test_bad_input_raises_with_exit_code_and_message(binary, tmp_path):
    with pytest.raises(fedgrid.FedgridInputError) as e:
        fedgrid.run(SCEN, {"algorithm.rounds": 0}, tmp_path / "x")
    err = e.value
    assert err.returncode == 2 and isinstance(err, ValueError)
    assert "key 'algorithm.rounds'" in err.message and "found 0" in err.message
    assert "\n" not in err.message and err.command[0] == binary
    assert not (tmp_path / "x" / "summary.json").exists()
    with pytest.raises(fedgrid.FedgridInputError, match="no-such.yaml"):
        fedgrid.run(os.path.join(CI, "no-such.yaml"), out=tmp_path / "y")


def test_format_value_and_override_args():
    assert format_value(True) == "true" and format_value(0.5) == "0.5"
    assert format_value({"kind": "dirichlet", "alpha": 0.3}) == '{"kind": "dirichlet", ' \
                                                                 '"alpha": 0.3}'
    assert override_args({"a.b": 1, "c": "x y"}) == ["--set", "a.b=1", "--set", "c=x y"]
    with pytest.raises(TypeError):
        override_args("a=1")
    with pytest.raises(TypeError):
        override_args(["a"])


def test_find_binary_order(binary, tmp_path, monkeypatch):
    fake = tmp_path / "fedgrid"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert fedgrid.find_binary(str(fake)) == str(fake)  # the argument first
    monkeypatch.setenv("FEDGRID_BIN", str(fake))
    assert fedgrid.find_binary() == str(fake)  # then $FEDGRID_BIN
    monkeypatch.setenv("FEDGRID_BIN", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"\$FEDGRID_BIN"):
        fedgrid.find_binary()
    monkeypatch.delenv("FEDGRID_BIN")
    fake.chmod(0o644)
    with pytest.raises(FileNotFoundError, match="not an executable"):
        fedgrid.find_binary(str(fake))
