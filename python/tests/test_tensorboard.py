"""fedgrid.to_tensorboard: the scalars written (through a writer that records its calls), the
ImportError when no TensorBoard writer imports, and real event files where one does."""
import importlib.util
import math
import os

import pytest

import fedgrid
from fedgrid import tensorboard


def _importable(mod):
    try:
        return importlib.util.find_spec(mod) is not None and __import__(mod) is not None
    except ImportError:
        return False


HAVE_WRITER = _importable("tensorboard") or _importable("tensorboardX")


class Recorder:
    def __init__(self):
        self.calls = []

    def add_scalar(self, tag, value, global_step=None, walltime=None):
        self.calls.append((tag, value, global_step, walltime))


def test_scalars_per_round(runs):
    run = fedgrid.load_run(runs["deadline"])
    w = Recorder()
    fedgrid.to_tensorboard(run, writer=w)
    r = run.rounds
    acc = [c for c in w.calls if c[0] == "accuracy/test"]
    ev = r[r["test_accuracy"].notna()]
    assert [(c[2], c[1], c[3]) for c in acc] == list(zip(ev["round"], ev["test_accuracy"],
                                                         ev["t_end"]))
    assert any(c[0] == "accuracy/validation" for c in w.calls)  # the scenario validates
    dropped = {c[2]: c[1] for c in w.calls if c[0] == "clients/dropped"}
    assert dropped == dict(zip(r["round"], r["dropped"].astype(float)))
    assert all(not math.isnan(c[1]) for c in w.calls)
    timing = fedgrid.load_run(runs["timing"])
    w2 = Recorder()
    tensorboard.write_run(timing, w2)
    tags = {c[0] for c in w2.calls}
    assert "accuracy/test" not in tags and "time/deadline_s" not in tags  # all NaN: skipped
    assert "time/round_duration_s" in tags


@pytest.mark.skipif(HAVE_WRITER, reason="a TensorBoard writer imports here")
def test_import_error_names_both_options(runs):
    with pytest.raises(ImportError, match="torch.utils.tensorboard.*tensorboardX"):
        fedgrid.to_tensorboard(runs["deadline"])


@pytest.mark.skipif(not HAVE_WRITER, reason="neither tensorboard nor tensorboardX is installed "
                    "(Debian 12 packages neither)")
def test_event_files_of_a_sweep(tiny_sweep, tmp_path):
    logdir = fedgrid.to_tensorboard(tiny_sweep, tmp_path / "tb")
    sw = fedgrid.load_sweep(tiny_sweep)
    for rid in sw.index["id"]:
        files = os.listdir(os.path.join(logdir, rid))
        assert any(f.startswith("events.out.tfevents") for f in files), rid
