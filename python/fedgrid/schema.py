"""The data dictionary of FedGrid's output files: every column with its type, unit and meaning.

The loaders type columns from it and docs/outputs.md holds its tables (`python3 -m fedgrid.schema`
prints them; a test keeps the two and the binary's real headers in step).

rounds.csv, clients.csv and summary.json differ between round-based runs and asynchronous ones
(`fedbuff`, `fedasync`: one rounds.csv row per server update, one clients.csv row per client
job): each entry says which runs write it (Column.runs: "" every run, "sync" round-based runs
only, "async" asynchronous runs only)."""
from dataclasses import dataclass

# Kinds: int (int64, or pandas' nullable Int64 when cells are empty), float (float64; an empty
# cell or `nan` is NaN), category (pandas categorical; categories in the order listed, then any
# other value found), str, bool (0/1 in the file).
S = "s"  # seconds of virtual (simulated) time
WALL = "s (wall clock)"
VERSIONS = "versions"  # model versions: server updates of an asynchronous run
RUNS = {"": "all", "sync": "round-based", "async": "async"}  # Column.runs as docs/outputs.md says


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    unit: str
    meaning: str
    empty: str = ""  # when the cell is empty (NaN after loading)
    categories: tuple = ()
    runs: str = ""  # "" every run, "sync" round-based runs only, "async" asynchronous runs only


def _c(name, kind, unit, meaning, empty="", categories=(), runs=""):
    return Column(name, kind, unit, meaning, empty, tuple(categories), runs)


def _sync(*a, **k):
    return _c(*a, runs="sync", **k)


def _async(*a, **k):
    return _c(*a, runs="async", **k)


CLIENT_STATUS = ("full", "partial", "dropped", "failed", "offline")
DROP_REASON = ("download", "compute", "incomplete", "upload", "timeout")
RUN_STATUS = ("complete", "diverged", "failed", "incomplete", "missing", "stale", "stopped")
ASYNC_ALGORITHMS = ("fedbuff", "fedasync")
NOT_EVALUATED = ("rounds not evaluated (`evaluation.every`; async: every `evaluation.every` "
                 "server updates and the last one are), and every round of timing-only runs")

ROUNDS = [
    _sync("round", "int", "", "round number, from 1"),
    _async("version", "int", VERSIONS, "the model version this server update made, from 1 (0 is "
           "the initial model)"),
    _c("t_start", "float", S, "virtual time at which the round started (async: the previous "
       "server update; 0 for the first)"),
    _c("t_end", "float", S, "virtual time at which the round ended (deadline rounds: t_start + "
       "deadline; async: the server update)"),
    _c("duration", "float", S, "t_end - t_start"),
    _sync("deadline", "float", S, "the round's deadline T_t (a duration)",
          "the round waits for every client (`fedavg`)"),
    _sync("lr", "float", "", "step size eta_t of the round"),
    _sync("selected", "int", "clients", "clients selected for the round"),
    _sync("full", "int", "clients", "clients that delivered their whole update"),
    _sync("partial", "int", "clients", "clients that delivered part of it (some stages or local "
          "steps)"),
    _sync("dropped", "int", "clients", "clients whose update did not count (see clients.csv "
          "reason)"),
    _async("updates", "int", "updates", "client updates applied by this server update (the "
           "buffer M; 1 for `fedasync`)"),
    _async("mean_staleness", "float", VERSIONS, "mean staleness tau of the updates applied "
           "(version when the server took the update - version the client downloaded)"),
    _async("max_staleness", "int", VERSIONS, "largest staleness of the updates applied"),
    _async("started", "int", "jobs", "client jobs started since the previous server update"),
    _c("failed", "int", "clients", "clients whose device went off during the round (async: jobs "
       "that failed since the previous server update)"),
    _c("offline", "int", "clients", "clients whose device was off when the round started "
       "(async: drawn clients found off since the previous server update)"),
    _c("train_loss", "float", "nats", "mean cross-entropy of the contributing clients' batches "
       "(async: of the updates applied)", "no client contributed; timing-only runs"),
    _c("val_loss", "float", "nats", "cross-entropy on the validation split",
       NOT_EVALUATED + "; runs without validation"),
    _c("val_accuracy", "float", "fraction", "accuracy on the validation split (0-1)",
       NOT_EVALUATED + "; runs without validation"),
    _c("test_loss", "float", "nats", "cross-entropy on the test set", NOT_EVALUATED),
    _c("test_accuracy", "float", "fraction", "accuracy on the test set (0-1)", NOT_EVALUATED),
    _c("bytes_down", "int", "B", "model bytes sent to the selected clients (async: downloads "
       "started since the previous server update)"),
    _c("bytes_up", "int", "B", "update bytes delivered to the server (async: since the previous "
       "server update)"),
]

CLIENTS = [
    _sync("round", "int", "", "round number"),
    _async("job", "int", "", "job number, from 1, in the order jobs started"),
    _c("client", "int", "", "client id, from 0"),
    _c("batch", "int", "samples", "mini-batch size of the client in this round (async: job)"),
    _c("steps", "int", "steps", "local steps planned (round-based runs: only when the scenario "
       "sets `training.local_steps` or `local_epochs`; async: always)"),
    _async("version_down", "int", VERSIONS, "model version the client downloaded"),
    _async("version_up", "int", VERSIONS, "model version when the server took the update",
           "the update was not delivered (failed, offline)"),
    _async("staleness", "int", VERSIONS, "version_up - version_down",
           "the update was not delivered (failed, offline)"),
    _async("t_start", "float", S, "virtual time the job started"),
    _sync("stages_done", "int", "stages", "backward stages that count, from the output side "
          "(K of L)"),
    _c("t_download", "float", S, "virtual time the model download finished",
       "the download did not finish"),
    _c("t_compute", "float", S, "virtual time the local computation ended",
       "the client never finished computing (no download, or failed before)"),
    _c("t_done", "float", S, "virtual time the client was done (delivered, dropped or failed)",
       "offline clients"),
    _c("status", "category", "", "`full`, `partial`, `dropped`, `failed` (device went off "
       "mid-round), `offline` (off at the round's start); async: `full`, `failed`, `offline` "
       "(off when drawn)", categories=CLIENT_STATUS),
    _c("reason", "category", "", "dropped: `download`, `compute` (no stage done), `incomplete` "
       "(the algorithm needs more than what finished), `upload` (late), `timeout` "
       "(`round_timeout`); failed: the phase the device went off in",
       "full, partial and offline clients", DROP_REASON),
    _c("bytes_up", "int", "B", "update bytes delivered (0 if none)"),
    _sync("steps_done", "int", "steps", "local steps finished (only with `steps`)"),
]

LAYERS = [
    _sync("round", "int", "", "round number"),
    _sync("stage", "int", "", "stage index, 0 = input side"),
    _sync("name", "str", "", "stage name from the model file"),
    _sync("contributors", "int", "clients", "clients whose update includes this stage"),
    _sync("expected_p", "float", "probability", "P(no contributor) = prod_u (1 - pi_u) under "
          "the timing model in force (stage-time law, stage costs, availability)",
          "algorithms without deadlines"),
    _sync("updated", "bool", "", "1 if the stage was updated, 0 if it was kept"),
]

PLAN = [
    _sync("round", "int", "", "round number"),
    _sync("client", "int", "", "client id"),
    _sync("batch", "int", "samples", "batch size used (after clamping to [1, shard size])"),
    _sync("planned_batch", "int", "samples", "batch size the batch rule asked for"),
    _sync("deadline", "float", S, "planned deadline of the round", "no deadline (`fedavg`)"),
    _sync("plan", "int", "", "which plan the round used: 0 = the initial one, k = the k-th "
          "re-plan (only with re-planning: adel-fl `replan_every` > 0 or `knowledge: estimated`)"),
]

PARTITION = [
    _c("client", "int", "", "client id"),
    _c("samples", "int", "samples", "size of the client's shard"),
    _c("label_*", "int", "samples", "samples of label 0, 1, ... C-1 in the shard"),
]

AVAILABILITY = [
    _c("t", "float", S, "virtual time of the change"),
    _c("client", "int", "", "client id"),
    _c("state", "category", "", "`off` or `on`", categories=("off", "on")),
]

INDEX = [
    _c("id", "str", "", "run id, the folder name under runs/"),
    _c("<axis>", "category", "", "one column per sweep axis (seed axis: int), its label for "
       "this run; categories in the sweep file's order"),
    _c("algorithm", "category", "", "algorithm of the run", "the run is not complete"),
    _c("status", "category", "", "`complete`, `diverged` (a NaN/inf loss or parameter stopped "
       "the run: its accuracies are not results; not run again), `failed`, `incomplete` (no "
       "summary.json), `missing`, `stale` (another scenario or seed), `stopped` (checkpoint, "
       "resumable)", categories=RUN_STATUS),
    _c("rounds", "int", "rounds", "rounds done (async: server updates; diverged: up to the "
       "divergence)", "the run is neither complete nor diverged"),
    _c("virtual_time", "float", S, "virtual time at the end of the run",
       "the run is neither complete nor diverged"),
    _c("final_test_accuracy", "float", "fraction", "test accuracy of the last evaluation",
       "not complete; timing-only"),
    _c("time_limit", "float", S, "the sweep's `time_limit` (default: the scenario's "
       "time_budget)", "no time budget"),
    _c("test_accuracy_at_limit", "float", "fraction", "test accuracy of the last evaluation at "
       "or before time_limit", "not complete; timing-only"),
    _c("time_to_target", "float", S, "t_end of the first round whose test accuracy reached the "
       "sweep's target_accuracy", "never reached; no target; not complete"),
    _c("heterogeneity", "float", "", "coefficient of variation of the client speeds "
       "(summary.json's `speed_cv`)", "neither complete nor diverged"),
    _c("wall_seconds", "float", WALL, "wall-clock time of the run (wall.json)",
       "not complete"),
]

AGG_METRICS = [c for c in INDEX if c.name in (
    "final_test_accuracy", "test_accuracy_at_limit", "time_to_target", "virtual_time", "rounds",
    "heterogeneity", "wall_seconds")]
AGGREGATE = [
    _c("<axis>", "category", "", "one column per non-seed axis: its label"),
    _c("algorithm", "category", "", "algorithm of the group's runs (`mixed` if they differ)",
       "no complete run"),
    _c("runs", "int", "runs", "complete runs in the group"),
    _c("planned", "int", "runs", "runs in the group"),
    _c("reached", "int", "runs", "complete runs that reached target_accuracy"),
] + [c2 for c in AGG_METRICS for c2 in (
    _c(c.name + "_mean", "float", c.unit, "mean over the group's complete runs of " + c.name,
       "no run has a value"),
    _c(c.name + "_ci95", "float", c.unit, "Student-t 95% half-width over those runs (0 if "
       "they are equal)", "fewer than 2 values"))]

# JSON files: keys with their JSON type (number, integer, string, boolean, array, object); null
# stands for "no value" (the `empty when` column says when).
SUMMARY = [
    _c("complete", "boolean", "", "false when the run was stopped by a signal (resumable) or "
       "diverged"),
    _c("diverged", "boolean", "", "true: a loss or a parameter became NaN or infinite and the "
       "run stopped there (exit 3); only present then"),
    _c("diverged_round", "integer", "rounds", "the round (async: server update) after which "
       "it was found, the last row of rounds.csv; only present when diverged"),
    _c("diverged_in", "string", "", "what was not finite first: `train_loss`, `parameters`, "
       "`val_loss` or `test_loss`; only present when diverged"),
    _c("stopped_by", "string", "", "`SIGINT` or `SIGTERM`; only present when stopped"),
    _c("scenario", "string", "", "scenario name"),
    _c("seed", "integer", "", "the run's seed"),
    _c("algorithm", "string", "", "algorithm name"),
    _c("aggregation", "string", "", "aggregation rule (`code`, `plain`, `exchangeable`, `inclusion`, `hajek`)"),
    _c("clients", "integer", "clients", "clients in the population"),
    _c("clients_per_round", "integer", "clients", "clients selected per round (async: the "
       "population, or the host slots)"),
    _c("stages", "integer", "stages", "model stages L"),
    _c("params", "integer", "", "model parameters"),
    _c("rounds", "integer", "rounds", "rounds done (async: server updates)"),
    _c("virtual_time", "number", S, "virtual time at the end"),
    _c("batch_factor", "number", "", "batch factor m of the paper's batch rule (1 unless "
       "planned)"),
    _c("m", "number", "", "deprecated alias of `batch_factor` (kept for one release)"),
    _c("final_test_accuracy", "number", "fraction", "test accuracy of the last evaluation",
       "null: no evaluation (timing-only)"),
    _c("final_test_loss", "number", "nats", "test loss of the last evaluation",
       "null: same, or not finite (diverged)"),
    _c("final_val_accuracy", "number", "fraction", "validation accuracy of the last evaluation",
       "null: no validation"),
    _c("final_evaluation_round", "integer", "rounds", "the round (async: server update) of the "
       "last evaluation, the one the final_* values come from", "null: no evaluation "
       "(timing-only)"),
    _c("final_evaluation_time", "number", S, "virtual time of the last evaluation (its round's "
       "t_end)", "null: no evaluation (timing-only)"),
    _c("test_accuracy_at_budget", "number", "fraction", "test accuracy of the last evaluation at "
       "or before `algorithm.time_budget` (t_end <= T_max)", "null: no time budget, or no "
       "evaluation by then"),
    _c("test_loss_at_budget", "number", "nats", "test loss of that evaluation", "null: same, or "
       "not finite"),
    _c("time_to_target", "number", S, "virtual time (t_end) of the first evaluation whose test "
       "accuracy reached `evaluation.target_accuracy`", "null: no target set, or never reached"),
    _c("platform", "string", "", "platform file name (`platform.xml` when generated, "
       "`host-slots` with `clients_per_round` below the population)"),
    _c("speed_cv", "number", "", "coefficient of variation of the client speeds (standard "
       "deviation / mean)"),
    _c("heterogeneity", "number", "", "deprecated alias of `speed_cv` (kept for one release)"),
    _async("concurrency", "integer", "jobs", "client jobs in flight at any time (C)"),
    _async("buffer", "integer", "updates", "client updates per server update (M; 1 for "
           "`fedasync`)"),
    _async("jobs", "integer", "jobs", "client jobs started (offline draws included)"),
]
# Keys summary.json has only in some runs (stopped, diverged): not in every complete run.
OPTIONAL_KEYS = ("stopped_by", "diverged", "diverged_round", "diverged_in")
MANIFEST = [
    _c("fedgrid_version", "string", "", "FedGrid version (the project version in "
       "CMakeLists.txt)"),
    _c("git_revision", "string", "", "git revision of the build"),
    _c("simgrid_version", "string", "", "SimGrid version"),
    _c("eigen_version", "string", "", "Eigen version"),
    _c("command", "string", "", "the command line"),
    _c("scenario_file", "string", "", "scenario file (as given)"),
    _c("model_file", "string", "", "model file (resolved)"),
    _c("seed", "integer", "", "seed"),
    _c("threads", "integer", "threads", "math threads"),
    _c("build", "string", "", "compiler, build type and flags, `portable=ON/OFF`, instruction set, "
       "git revision, SimGrid and Eigen versions (what `fedgrid --version` prints)"),
    _c("portable", "boolean", "", "true: built with -DFEDGRID_PORTABLE=ON, result bytes are the "
       "same on any x86-64 CPU; false: -march=native, the same on CPUs with this instruction set"),
    _c("cpu", "string", "", "the CPU model (/proc/cpuinfo)"),
    _c("host", "string", "", "host name"),
    _c("started", "string", "", "UTC time the run started, ISO 8601 (resumed runs keep the "
       "first start)"),
    _c("resolved_scenario", "object", "", "the scenario after --set overrides (mappings -> "
       "objects, lists -> arrays, scalars -> numbers, booleans, null or strings by their YAML "
       "form) with the default of every key the loader read and the file left out, and `seed` "
       "the seed in force (`--seed` replaces the file's)"),
]
WALL_JSON = [
    _c("wall_seconds", "number", WALL, "the whole run after data loading"),
    _c("load_seconds", "number", WALL, "data loading"),
    _c("setup_seconds", "number", WALL, "building the platform and actors"),
    _c("run_seconds", "number", WALL, "the simulation"),
    _c("gradient_seconds", "number", WALL, "simulation thread waiting for or helping gradients"),
    _c("evaluation_seconds", "number", WALL, "same for evaluations"),
    _c("simulation_seconds", "number", WALL, "everything else: SimGrid, protocol, records"),
    _c("record_seconds", "number", WALL, "writing records"),
    _c("gradient_cpu_seconds", "number", "s (CPU)", "gradient time summed over math threads"),
    _c("evaluation_cpu_seconds", "number", "s (CPU)", "evaluation time summed over threads"),
    _c("gradients", "integer", "", "client updates computed"),
    _c("threads", "integer", "threads", "math threads"),
]
SWEEP_JSON = [
    _c("name", "string", "", "sweep name"),
    _c("sweep_file", "string", "", "absolute path of the sweep file"),
    _c("target_accuracy", "number", "fraction", "target of time_to_target", "null: none"),
    _c("runs", "integer", "runs", "runs in the sweep"),
    _c("axes", "array", "", "`{name, kind (grid, zip, seed), labels}` per axis, in the order "
       "of the run ids; labels in the sweep file's order"),
]

FILES = {
    "rounds.csv": ROUNDS, "clients.csv": CLIENTS, "layers.csv": LAYERS, "plan.csv": PLAN,
    "partition.csv": PARTITION, "availability.csv": AVAILABILITY, "index.csv": INDEX,
    "aggregate.csv": AGGREGATE, "summary.json": SUMMARY, "manifest.json": MANIFEST,
    "wall.json": WALL_JSON, "sweep.json": SWEEP_JSON,
}


def column(file, name):
    """The Column of `name` in `file` (patterns label_*, <axis> match), or None."""
    for c in FILES[file]:
        if c.name == name or (c.name.endswith("*") and name.startswith(c.name[:-1])):
            return c
    return None


def columns(file, asynchronous=None):
    """The entries of `file` a run writes: every one (None), a round-based run's (False) or an
    asynchronous run's (True)."""
    if asynchronous is None:
        return list(FILES[file])
    skip = "sync" if asynchronous else "async"
    return [c for c in FILES[file] if c.runs != skip]


def markdown(file):
    """The data-dictionary table of one file, as in docs/outputs.md; files whose entries differ
    between round-based and asynchronous runs get a `runs` column (all, round-based, async)."""
    head = "key" if file.endswith(".json") else "column"
    split = any(c.runs for c in FILES[file])
    cols = [head, "type", "unit"] + (["runs"] if split else []) + ["meaning",
                                                                           "empty when"]
    lines = ["| %s |" % " | ".join(cols), "|---" * len(cols) + "|"]
    for c in FILES[file]:
        cells = ["`%s`" % c.name, c.kind, c.unit or "-"] + ([RUNS[c.runs]] if split else []) + [
            c.meaning, c.empty or "never"]
        lines.append("| %s |" % " | ".join(cells))
    return "\n".join(lines)


if __name__ == "__main__":
    for f in FILES:
        print("### %s\n\n%s\n" % (f, markdown(f)))
