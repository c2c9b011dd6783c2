"""FedGrid from Python: load a run or a sweep into pandas DataFrames, start runs, plot, export
to TensorBoard. Column types and units: fedgrid.schema (docs/outputs.md)."""
from .load import FedgridFormatError, Run, Sweep, load, load_run, load_sweep, read_csv
from .runner import (DivergedWarning, FedgridDivergedError, FedgridError, FedgridInputError,
                     find_binary, run)
from .tensorboard import to_tensorboard

__version__ = "0.1"
__all__ = ["load_run", "load_sweep", "load", "read_csv", "run", "find_binary", "to_tensorboard",
           "Run", "Sweep", "FedgridError", "FedgridInputError", "FedgridDivergedError",
           "DivergedWarning", "FedgridFormatError"]


def __getattr__(name):  # fedgrid.plot imports matplotlib only when used
    if name == "plot":
        import importlib
        return importlib.import_module(".plot", __name__)
    raise AttributeError("module 'fedgrid' has no attribute %r" % name)
