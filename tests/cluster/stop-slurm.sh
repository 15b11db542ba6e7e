#!/usr/bin/env bash
# Stop the cluster tests/cluster/start-slurm.sh started: cancel its jobs, then end
# slurmd, slurmctld and munged by their pid files only (a process of another name is
# left alone), and remove the /etc/slurm/slurm.conf link if it still points at ours.
#   --purge   also remove $SNAKETUNE_SLURM_DIR (state, logs, key)
set -uo pipefail

DIR=${SNAKETUNE_SLURM_DIR:-/tmp/snaketune-slurm}
CONF_LINK=/etc/slurm/slurm.conf

stop() { # pid file, process name
    local pid
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || { rm -f "$1"; return 0; }
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -f "$1"
}

if [ -f "$DIR/run/slurmctld.pid" ]; then
    SLURM_CONF="$DIR/etc/slurm.conf" scancel --full --quiet --user=root 2>/dev/null || true
    sleep 0.5
fi
stop "$DIR/run/slurmd.pid" slurmd
stop "$DIR/run/slurmctld.pid" slurmctld
stop "$DIR/munge/munged.pid" munged
if [ -L "$CONF_LINK" ] && [ "$(readlink -f "$CONF_LINK")" = "$DIR/etc/slurm.conf" ]; then
    rm -f "$CONF_LINK"
fi
if [ "${1:-}" = "--purge" ]; then
    rm -rf "$DIR"
fi
exit 0
