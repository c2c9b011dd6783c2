"""Exports a run or a sweep to TensorBoard event files (needs torch.utils.tensorboard, i.e. torch
and tensorboard, or tensorboardX): one scalar per rounds.csv column and round."""
import importlib.util
import os

from .load import Run, load

# rounds.csv columns exported, as TensorBoard tags (grouped by the part before '/').
TAGS = [
    ("test_accuracy", "accuracy/test"), ("val_accuracy", "accuracy/validation"),
    ("test_loss", "loss/test"), ("val_loss", "loss/validation"), ("train_loss", "loss/train"),
    ("duration", "time/round_duration_s"), ("deadline", "time/deadline_s"),
    ("t_end", "time/virtual_time_s"), ("lr", "train/lr"),
    ("selected", "clients/selected"), ("full", "clients/full"), ("partial", "clients/partial"),
    ("dropped", "clients/dropped"), ("failed", "clients/failed"), ("offline", "clients/offline"),
    ("bytes_down", "bytes/down"), ("bytes_up", "bytes/up"),
    # asynchronous runs (step = server update)
    ("updates", "async/updates"), ("mean_staleness", "async/mean_staleness"),
    ("max_staleness", "async/max_staleness"), ("started", "async/jobs_started"),
]


def summary_writer_class():
    """SummaryWriter of torch.utils.tensorboard, else of tensorboardX; ImportError if neither."""
    errors = []
    if importlib.util.find_spec("tensorboard") is None:  # torch's writer needs it: skip torch
        errors.append("torch.utils.tensorboard: no module named 'tensorboard'")
    else:
        try:
            from torch.utils.tensorboard import SummaryWriter
            return SummaryWriter
        except ImportError as e:
            errors.append("torch.utils.tensorboard: %s" % e)
    try:
        from tensorboardX import SummaryWriter
        return SummaryWriter
    except ImportError as e:
        errors.append("tensorboardX: %s" % e)
    raise ImportError("fedgrid.to_tensorboard needs torch.utils.tensorboard (packages torch and "
                      "tensorboard) or tensorboardX, and neither imports here (%s). Install one "
                      "of them, or pass writer= an object with add_scalar(tag, value, step, "
                      "walltime)." % "; ".join(errors))


def write_run(run, writer):
    """Adds every finite value of TAGS to `writer`, step = round (asynchronous runs: server
    update, `version`), walltime = its end in virtual seconds (TensorBoard's 'relative' axis then
    shows virtual time); returns the count."""
    r = run.rounds
    n = 0
    for col, tag in TAGS:
        if col not in r:
            continue
        for rnd, t, v in zip(r[run.step], r["t_end"], r[col]):
            if v is None or v != v:  # NaN: not evaluated / no deadline
                continue
            writer.add_scalar(tag, float(v), global_step=int(rnd), walltime=float(t))
            n += 1
    return n


def to_tensorboard(path, logdir=None, writer=None):
    """Writes TensorBoard events for the run or sweep folder `path` into `logdir` (default
    PATH/tensorboard): a run's scalars at its top level, a sweep's complete runs one
    sub-folder each (named by run id, so TensorBoard overlays them). `writer`: for a run, an
    existing SummaryWriter-like object to add to (nothing is opened then). Returns logdir."""
    target = load(path) if isinstance(path, (str, os.PathLike)) else path
    logdir = os.fspath(logdir) if logdir is not None else os.path.join(target.path, "tensorboard")
    if writer is not None:
        if not isinstance(target, Run):
            raise TypeError("writer= is for one run; a sweep writes one folder per run")
        write_run(target, writer)
        return logdir
    Writer = summary_writer_class()
    runs = [(logdir, target)] if isinstance(target, Run) else [
        (os.path.join(logdir, row["id"]), run) for row, run in target.runs()]
    for folder, run in runs:
        w = Writer(log_dir=folder)
        try:
            write_run(run, w)
        finally:
            w.close()
    return logdir

