"""Shared fixtures: small real runs and sweeps of the fedgrid binary (test-sized scenarios of
scenarios/ci, under a second each), made once per test session in a temporary folder."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))  # this checkout's package, installed or not

import fedgrid  # noqa: E402

CI = os.path.join(ROOT, "scenarios", "ci")
# name: (scenario, overrides): deadline rounds (with a target accuracy), device churn
# (failed/offline, availability.csv), local steps (steps columns), timing-only wait-for-all (no
# accuracy, no deadline), asynchronous FedBuff (5 server updates, a target accuracy),
# asynchronous FedAsync with device churn, a run that diverges (lr 1e6: NaN loss, exit 3),
# re-planning (plan.csv's plan column).
RUNS = {
    "deadline": ("synthetic-deadline.yaml", {"evaluation.every": 4,
                                             "evaluation.target_accuracy": 0.6}),
    "failures": ("failures.yaml", {}),
    "local": ("local-steps.yaml", {}),
    "timing": ("fedavg-timing.yaml", {"algorithm.rounds": 20}),
    "replanning": ("replanning.yaml", {"algorithm.rounds": 20, "algorithm.time_budget": 80}),
    "async": ("async.yaml", {"algorithm.rounds": 5, "evaluation.target_accuracy": 0.3}),
    "fedasync": ("failures.yaml", {"algorithm": {"name": "fedasync", "rounds": 40,
                                                 "concurrency": 10},
                                   "training.momentum": None, "evaluation.every": 10}),
    "diverged": ("synthetic-deadline.yaml", {"training.lr": 1e6}),
}


@pytest.fixture(scope="session")
def binary():
    """$FEDGRID_BIN (scripts/test.sh sets it: must exist), else build/fedgrid if built."""
    try:
        return fedgrid.find_binary()
    except FileNotFoundError as e:
        if os.environ.get("FEDGRID_BIN"):
            raise
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def runs(binary, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for key, (scen, sets) in RUNS.items():
        out[key] = str(base / key)
        fedgrid.run(os.path.join(CI, scen), sets, out[key], binary=binary, threads=1,
                    on_diverged="return")
    return out


SWEEP_FEW = """# 2 algorithms x 3 platforms listed out of alphabetical order x 2 seeds
name: few-seeds
base: {base}
target_accuracy: 0.9
set: {{algorithm.rounds: 8, algorithm.time_budget: 4}}
grid:
  algorithm.name: [salf, fedavg-deadline]
  seed: [1, 2]
zip:
  platform:
    label: [wide, homogeneous, two-tier]
    platform.generate.speed:
      - {{dist: uniform, min: 40, max: 800}}
      - {{dist: constant, value: 220}}
      - {{dist: two_tier, value: 268.29, slow_factor: 10, slow_fraction: 0.2}}
"""


def sweep(binary, out, spec, *extra):
    p = subprocess.run([binary, "sweep", spec, "-o", out, "-j", "2", "--quiet"] + list(extra),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return out


@pytest.fixture(scope="session")
def tiny_sweep(binary, tmp_path_factory):
    """tests/sim/sweeps/tiny.yaml (2 algorithms x 2 platforms x 3 seeds), 6 rounds a run."""
    out = str(tmp_path_factory.mktemp("tiny"))
    return sweep(binary, out, os.path.join(ROOT, "tests", "sim", "sweeps", "tiny.yaml"),
                 "--set", "algorithm.rounds=6")


@pytest.fixture(scope="session")
def few_sweep(binary, tmp_path_factory):
    d = tmp_path_factory.mktemp("few")
    spec = d / "few.yaml"
    spec.write_text(SWEEP_FEW.format(base=os.path.join(CI, "synthetic-deadline.yaml")))
    return sweep(binary, str(d / "out"), str(spec))


SWEEP_MIXED = """# a round-based and an asynchronous scenario x a sane and a diverging step size x 2 seeds
name: mixed
base: [{deadline}, {asynchronous}]
set: {{algorithm.rounds: 8}}
grid:
  training.lr: {{normal: 0.1, huge: 1.0e6}}
  seed: [1, 2]
"""


@pytest.fixture(scope="session")
def mixed_sweep(binary, tmp_path_factory):
    """fedavg-deadline and fedbuff, 2 seeds, 8 rounds / server updates; the lr=1e6 half
    diverges (index.csv status `diverged`)."""
    d = tmp_path_factory.mktemp("mixed")
    spec = d / "mixed.yaml"
    spec.write_text(SWEEP_MIXED.format(deadline=os.path.join(CI, "synthetic-deadline.yaml"),
                                       asynchronous=os.path.join(CI, "async.yaml")))
    return sweep(binary, str(d / "out"), str(spec))
