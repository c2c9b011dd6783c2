#!/usr/bin/env bash
# Runs a 4-task sweep (tests/sim/sweeps/slurm.yaml) as a real Slurm array job: installs slurm-wlm
# and munge if missing, starts munged (unless one answers already), a private slurmctld + slurmd
# (config, state and logs in a temporary folder, ports 16817/16818), submits the array emitted by
# `fedgrid sweep --emit slurm`, waits (bounded), collects and checks index.csv. The daemons it
# started are always stopped (trap). Needs root. usage: slurm_test.sh FEDGRID REPO_ROOT
set -euo pipefail
FEDGRID="$(readlink -f "$1")"
ROOT="$(readlink -f "$2")"
LIMIT=120 # seconds for the whole test once the packages are installed

if [ "$(id -u)" -ne 0 ]; then
  echo "slurm_test: needs root to start munged, slurmctld and slurmd; skipped"
  exit 77
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm_test: installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq slurm-wlm munge >/dev/null ||
    { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq slurm-wlm munge >/dev/null; }
fi

tmp="$(mktemp -d /tmp/fedgrid-slurm.XXXXXX)"
started_munged=""
job=""
cleanup() {
  status=$?
  set +e
  [ -n "$job" ] && scancel "$job" 2>/dev/null
  for d in slurmd slurmctld; do
    if [ -f "$tmp/$d.pid" ]; then
      pid="$(cat "$tmp/$d.pid")"
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
  done
  [ -n "$started_munged" ] && kill "$started_munged" 2>/dev/null
  if [ $status -ne 0 ]; then
    for f in "$tmp"/slurmctld.log "$tmp"/slurmd.log "$tmp"/sweep/logs/*; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
    done
  fi
  rm -rf "$tmp"
  exit $status
}
trap cleanup EXIT
trap 'exit 1' INT TERM
start=$SECONDS
elapsed() { echo $((SECONDS - start)); }

# munge (a running munged is reused and left alone)
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge: /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
  chmod 400 /etc/munge/munge.key
  runuser -u munge -- munged --force
  for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  started_munged="$(cat /run/munge/munged.pid)"
  munge -n | unmunge | grep -q Success || { echo "slurm_test: munge does not work"; exit 1; }
fi

# a private single-node cluster
host="$(hostname -s)"
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
mkdir -p "$tmp/state" "$tmp/spool"
cat >"$tmp/slurm.conf" <<EOF
ClusterName=fedgridtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) RealMemory=$((mem_mb * 9 / 10)) State=UNKNOWN
PartitionName=fedgrid Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
until [ "$(sinfo -h -o %T 2>/dev/null)" = "idle" ]; do
  [ "$(elapsed)" -lt 30 ] || { echo "slurm_test: node not idle after 30 s"; sinfo || true; exit 1; }
  sleep 0.5
done
echo "slurm_test: slurmctld + slurmd up after $(elapsed) s"

# emit, submit, wait, collect
sweep="$ROOT/tests/sim/sweeps/slurm.yaml"
out="$tmp/sweep"
"$FEDGRID" sweep "$sweep" -o "$out" --emit slurm
grep -q "^#SBATCH --array=0-3$" "$out/sweep.sbatch" || { cat "$out/sweep.sbatch"; exit 1; }
job="$(sbatch --parsable "$out/sweep.sbatch")"
echo "slurm_test: submitted array job $job"
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
  [ "$(elapsed)" -lt "$LIMIT" ] || { echo "slurm_test: job $job still queued after $LIMIT s"; squeue; exit 1; }
  sleep 1
done
echo "slurm_test: array finished after $(elapsed) s"
for i in 0 1 2 3; do
  [ -f "$out/logs/slurm-${job}_$i.log" ] || { echo "slurm_test: no Slurm log for task $i"; ls "$out/logs"; exit 1; }
done
"$FEDGRID" sweep "$sweep" -o "$out" --collect
python3 - "$out" <<'EOF'
import csv, json, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "index.csv"))))
assert [r["id"] for r in rows] == ["seed%d" % s for s in (1, 2, 3, 4)], rows
for r in rows:
    s = json.load(open(os.path.join(out, "runs", r["id"], "summary.json")))
    assert r["status"] == "complete" and r["rounds"] == "50" and s["rounds"] == 50, r
    assert s["seed"] == int(r["seed"]) and abs(float(r["virtual_time"]) - s["virtual_time"]) < 1e-6
assert len({r["virtual_time"] for r in rows}) == 4, "four seeds should give four run times"
agg = list(csv.DictReader(open(os.path.join(out, "aggregate.csv"))))
assert len(agg) == 1 and agg[0]["runs"] == "4", agg
print("slurm_test: index.csv has 4 complete runs; mean virtual time %s s" % agg[0]["virtual_time_mean"])
EOF
# Resubmitting emits nothing: every run is complete.
"$FEDGRID" sweep "$sweep" -o "$out" --emit slurm | grep -q "4 complete, 0 written"
echo "slurm_test: passed in $(elapsed) s"
