#!/bin/bash
# A real Slurm cluster on one machine, for gpupool's tests: munge, slurmctld and two slurmd
# (gpu1, gpu2) on their own ports, each with two fake A100s that Slurm allocates as GPU GRES,
# announces in CUDA_VISIBLE_DEVICES and fences with its device cgroup (ConstrainDevices), and
# four shards on each GPU (gres/shard) for shares. The fake GPUs are device nodes DIR/dev/gpu0-3
# of the spare consoles /dev/tty20-23 (Debian's Slurm has no NVML plugin, so gres.conf lists
# them), openable by anyone, so that only the cgroup decides who opens them.
#
#   cluster.sh start DIR   writes DIR/slurm.conf, starts the daemons, waits for both nodes
#   cluster.sh stop DIR    stops them
#
# Clients use it with SLURM_CONF=DIR/slurm.conf. The daemons are started by their
# /usr/sbin names: started otherwise, the controller drops every node's GRES.
set -euo pipefail

action=${1:?usage: cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: cluster.sh start|stop DIR}")
ctld_port=${GPUPOOL_SLURMCTLD_PORT:-16817}

stop() {
  for pidfile in "$dir"/*.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

write_config() {
  mkdir -p "$dir/state" "$dir/log"
  cat > "$dir/slurm.conf" <<CONF
ClusterName=gpupool-test
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
SchedulerType=sched/backfill
# A short main scheduling pass so a pending job gets its reason (and its GPUs) within seconds.
SchedulerParameters=sched_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu,shard
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=600
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=gpu1 NodeHostname=$(hostname) NodeAddr=127.0.0.1 Port=16818 CPUs=2 RealMemory=8000 Gres=gpu:a100:2,shard:8 State=UNKNOWN
NodeName=gpu2 NodeHostname=$(hostname) NodeAddr=127.0.0.1 Port=16819 CPUs=2 RealMemory=8000 Gres=gpu:a100:2,shard:8 State=UNKNOWN
PartitionName=gpu Nodes=gpu1,gpu2 Default=YES MaxTime=INFINITE State=UP
CONF
  cat > "$dir/gres.conf" <<CONF
NodeName=gpu1 Name=gpu Type=a100 File=$dir/dev/gpu[0-1]
NodeName=gpu2 Name=gpu Type=a100 File=$dir/dev/gpu[2-3]
NodeName=gpu1 Name=shard Count=4 File=$dir/dev/gpu0
NodeName=gpu1 Name=shard Count=4 File=$dir/dev/gpu1
NodeName=gpu2 Name=shard Count=4 File=$dir/dev/gpu2
NodeName=gpu2 Name=shard Count=4 File=$dir/dev/gpu3
CONF
  cat > "$dir/cgroup.conf" <<CONF
CgroupPlugin=cgroup/v1
ConstrainDevices=yes
CONF
  mkdir -p "$dir/dev"
  for gpu in 0 1 2 3; do
    rm -f "$dir/dev/gpu$gpu"
    mknod -m 0666 "$dir/dev/gpu$gpu" c 4 $((20 + gpu))
  done
}

start() {
  stop
  write_config
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
  fi
  export SLURM_CONF="$dir/slurm.conf"
  /usr/sbin/slurmctld -f "$SLURM_CONF" -i
  for node in gpu1 gpu2; do
    mkdir -p "$dir/spool-$node"
    /usr/sbin/slurmd -f "$SLURM_CONF" -N "$node"
  done
  for _ in $(seq 60); do
    if [ "$(sinfo -h -N -t idle -o %N | sort -u | wc -l)" = 2 ]; then
      echo "slurm: gpu1 and gpu2 idle (SLURM_CONF=$SLURM_CONF)"
      return
    fi
    sleep 0.5
  done
  echo "slurm: nodes did not come up" >&2
  sinfo -N >&2 || true
  tail -20 "$dir"/log/*.log >&2
  exit 1
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
