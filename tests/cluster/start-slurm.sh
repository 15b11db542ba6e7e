#!/usr/bin/env bash
# A single-node SLURM cluster on loopback, for the cluster tests (tests/test_cluster.py).
#
#   sudo tests/cluster/start-slurm.sh      # prints the slurm.conf path when the node is idle
#   sudo tests/cluster/stop-slurm.sh       # ends only the daemons this script started
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge when missing (no
# recommends), writes a slurm.conf for this machine (from `slurmd -C`) under
# $SNAKETUNE_SLURM_DIR (default /tmp/snaketune-slurm), links /etc/slurm/slurm.conf to it
# (srun inside a job reads that path only), and starts munged, slurmctld and slurmd with
# pid files there. No accounting (no slurmdbd): profiles query job states with squeue.
# Running it again while the cluster is up does nothing.
set -euo pipefail

DIR=${SNAKETUNE_SLURM_DIR:-/tmp/snaketune-slurm}
PARTITION=${SNAKETUNE_SLURM_PARTITION:-debug}
CONF_LINK=/etc/slurm/slurm.conf

if [ "$(id -u)" -ne 0 ]; then
    echo "start-slurm.sh: needs root (it installs packages and starts daemons)" >&2
    exit 1
fi

alive() { # pid file, process name: whether that process runs
    [ -f "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$2" ]
}

missing=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$DIR"/{etc,run,log,state,spool,munge}
if [ -e "$CONF_LINK" ] && [ "$(readlink -f "$CONF_LINK")" != "$DIR/etc/slurm.conf" ]; then
    echo "start-slurm.sh: $CONF_LINK exists and is not ours; not touching a real cluster" >&2
    exit 1
fi

# munge: its socket directory must be searchable by all, its key private.
chown munge: "$DIR/munge"
chmod 0755 "$DIR/munge"
if [ ! -f "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chown munge: "$DIR/munge/munge.key"
    chmod 0400 "$DIR/munge/munge.key"
fi
SOCKET="$DIR/munge/munge.socket"
if ! alive "$DIR/munge/munged.pid" munged; then
    runuser -u munge -- munged --socket="$SOCKET" --key-file="$DIR/munge/munge.key" \
        --log-file="$DIR/munge/munged.log" --pid-file="$DIR/munge/munged.pid" \
        --seed-file="$DIR/munge/munged.seed"
fi

HOST=$(hostname -s)
NODE=$(slurmd -C | head -n 1 | sed "s/^NodeName=[^ ]*/NodeName=$HOST/")
cat >"$DIR/etc/slurm.conf.new" <<CONF
ClusterName=snaketune
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MinJobAge=300
ReturnToService=2
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
restart=0
if ! cmp -s "$DIR/etc/slurm.conf.new" "$DIR/etc/slurm.conf"; then
    mv "$DIR/etc/slurm.conf.new" "$DIR/etc/slurm.conf"
    restart=1
else
    rm "$DIR/etc/slurm.conf.new"
fi
mkdir -p /etc/slurm
ln -sfn "$DIR/etc/slurm.conf" "$CONF_LINK"
export SLURM_CONF="$DIR/etc/slurm.conf"

for daemon in slurmctld slurmd; do
    pid="$DIR/run/$daemon.pid"
    if [ "$restart" = 1 ] && alive "$pid" "$daemon"; then
        kill "$(cat "$pid")"
        for _ in $(seq 50); do alive "$pid" "$daemon" || break; sleep 0.1; done
    fi
    alive "$pid" "$daemon" || "$daemon"
done

for _ in $(seq 300); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -n 1 || true)
    case "$state" in
    idle) echo "$SLURM_CONF"; exit 0 ;;
    down* | drain* | drng*) scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
done
echo "start-slurm.sh: the node did not become idle in 60 s (state: ${state:-none}); logs in $DIR/log" >&2
exit 1
