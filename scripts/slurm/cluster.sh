#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for the integration test and for debugging.
#
#   cluster.sh start  [DIR]   bring one up; DIR defaults to a fresh temporary folder
#   cluster.sh stop   [DIR]   cancel its jobs and stop its daemons (safe to repeat)
#   cluster.sh status [DIR]   show its daemons, node and queue
#
# Everything the cluster writes lives under DIR: etc/slurm.conf, state/, spool/,
# run/*.pid, log/*.log, and munge/ (its own munged: socket, pid, log, seed).
# Only the MUNGE key is shared: /etc/munge/munge.key, created when missing.
# stop and status without DIR act on the cluster that is running, if any.
#
# On success, start prints two lines on stdout that a shell can eval:
#   RANK_MODELS_SLURM_DIR=/tmp/rank-models-slurm.XXXXXX
#   SLURM_CONF=/tmp/rank-models-slurm.XXXXXX/etc/slurm.conf
# (DIR/env holds the same as export lines.) Progress and errors go to stderr.
#
# One cluster at a time: start fails (exit 4) while a cluster from another DIR is
# running, naming that DIR; start on the DIR that is already running reuses it.
# The daemons listen on 127.0.0.1-reachable ports RANK_MODELS_SLURM_PORT (slurmctld,
# default 16817) and that + 1 (slurmd), away from a real Slurm's 6817/6818.
#
# Environment: RANK_MODELS_SLURM_PORT, RANK_MODELS_SLURM_TIMEOUT (seconds start
# waits for an idle node, default 60).
#
# Must run as root: slurmd runs jobs as their owner and munged as user munge.
# This machine kind has no init that reaps orphans: a daemon that exits stays a
# zombie with its PID and name, so "running" means: PID from our pid file, present
# in /proc, not in state Z, and with the expected name. Daemons are never found or
# killed by name.
set -euo pipefail

PROG=cluster.sh
CTLD_PORT=${RANK_MODELS_SLURM_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1))
TIMEOUT=${RANK_MODELS_SLURM_TIMEOUT:-60}
PARTITION=debug
KEY=/etc/munge/munge.key
if [[ -d /run && -w /run ]]; then STATE_ROOT=/run; else STATE_ROOT=${TMPDIR:-/tmp}; fi
MARKER=$STATE_ROOT/rank-models-slurm.dir    # names the DIR of the running cluster
LOCK=$STATE_ROOT/rank-models-slurm.lock     # serialises start/stop
export PATH=$PATH:/usr/sbin:/sbin

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "$*"; exit "${EXIT:-1}"; }
usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
now_ms() { date +%s%3N; }

# ---- processes ---------------------------------------------------------------

# alive PIDFILE NAME: prints the PID and succeeds when the daemon is running.
alive() {
  local file=$1 name=$2 pid state comm
  [[ -s $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid && -r /proc/$pid/status ]] || return 1
  state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] || return 1    # a reused PID is not our daemon
  echo "$pid"
}

# pid_alive PID: running and not a zombie.
pid_alive() {
  local state
  state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# stop_pid PID LABEL: TERM, wait up to 10 s, then KILL and wait up to 5 s more.
stop_pid() {
  local pid=$1 label=$2 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
  log "$label (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
  log "$label (pid $pid) is still running after SIGKILL"
  return 1
}

# ---- layout ------------------------------------------------------------------

set_dir() {
  DIR=$1
  [[ $DIR == /* ]] || DIR=$PWD/$DIR
  DIR=${DIR%/}
  [[ $DIR =~ ^[A-Za-z0-9_./+-]+$ ]] || EXIT=2 die "DIR must be a plain path (letters, digits, _ . / + -): $DIR"
  CONF=$DIR/etc/slurm.conf
  MUNGE_DIR=$DIR/munge
  SOCKET=$MUNGE_DIR/munge.socket.2
  MUNGED_PID=$MUNGE_DIR/munged.pid
  CTLD_PID=$DIR/run/slurmctld.pid
  SLURMD_PID=$DIR/run/slurmd.pid
  export SLURM_CONF=$CONF
}

marker_dir() { [[ -s $MARKER ]] && head -n1 "$MARKER" || true; }

# Any of this DIR's daemons running?
any_alive() {
  alive "$MUNGED_PID" munged >/dev/null || alive "$CTLD_PID" slurmctld >/dev/null ||
    alive "$SLURMD_PID" slurmd >/dev/null
}
all_alive() {
  alive "$MUNGED_PID" munged >/dev/null && alive "$CTLD_PID" slurmctld >/dev/null &&
    alive "$SLURMD_PID" slurmd >/dev/null
}

port_busy() {
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

tail_logs() {
  local f
  for f in "$DIR"/log/*.out "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" "$MUNGE_DIR/munged.log"; do
    [[ -s $f ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 25 "$f" >&2
  done
}

node_name() { awk '{ sub(/^NodeName=/, "", $1); print $1; exit }' "$DIR/etc/node.line"; }

# ---- start ----
# Every daemon is started with fd 9 (the start/stop lock) closed, and with its
# standard streams on files in DIR/log: a daemon that inherited the lock would hold
# it for as long as it runs, and one that inherited a caller's pipe would keep that
# caller (e.g. a test runner waiting for end of output) waiting.---------------------------------------------------------------

ensure_key() {
  if [[ ! -s $KEY ]]; then
    log "creating the MUNGE key $KEY"
    install -d -o munge -g munge -m 0700 /etc/munge
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile="$KEY" --force
    else
      dd if=/dev/urandom of="$KEY" bs=1 count=1024 status=none
    fi
  fi
  # munged refuses a key that it does not own or that others can read.
  if [[ $(stat -c '%U %a' "$KEY") != 'munge 400' ]]; then
    chown munge:munge "$KEY"
    chmod 0400 "$KEY"
  fi
}

write_conf() {
  local node host
  # The node line comes from slurmd itself, so the declared CPUs and memory equal
  # what slurmd detects (a mismatch drains the node).
  node=$(slurmd -C 2>/dev/null | grep -m1 '^NodeName=') || die "slurmd -C printed no NodeName= line"
  printf '%s\n' "$node" >"$DIR/etc/node.line"
  host=$(node_name)
  cat >"$CONF" <<CONF
# Written by scripts/slurm/cluster.sh for a throw-away single-node test cluster.
ClusterName=rankmodels
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no accounting daemon.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Schedule array tasks at once rather than every few seconds.
SchedulerParameters=batch_sched_delay=0
# Keeps sbatch --wait polling every 2 s instead of backing off to 32 s.
MinJobAge=4
KillWait=5
ReturnToService=2
MailProg=/bin/true
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munged() {
  local i
  # Socket, pid, log and seed in DIR/munge, owned by munge; munged rejects
  # directories that others can write to.
  install -d -o munge -g munge -m 0755 "$MUNGE_DIR"
  runuser -u munge -- test -w "$MUNGE_DIR" ||
    die "user munge cannot reach $MUNGE_DIR (a parent directory is closed to others); use a DIR under /tmp"
  rm -f "$SOCKET" "$SOCKET.lock" "$MUNGED_PID"
  runuser -u munge -- munged --socket="$SOCKET" --key-file="$KEY" --pid-file="$MUNGED_PID" \
    --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" \
    </dev/null >>"$DIR/log/munged.out" 2>&1 9>&- ||
    { tail_logs; die "munged failed to start"; }
  for ((i = 0; i < 100; i++)); do
    if munge -n -S "$SOCKET" 2>/dev/null | unmunge -S "$SOCKET" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  tail_logs
  die "munged does not answer on $SOCKET"
}

# A daemon forks and returns before it has bound its port, so a failure shows only
# as a daemon that goes away: give it GRACE_MS to write its pid file, then stop
# waiting as soon as it is gone.
GRACE_MS=3000

wait_ctld() {
  local t0 deadline
  t0=$(now_ms); deadline=$((t0 + TIMEOUT * 1000))
  while (($(now_ms) < deadline)); do
    scontrol ping 2>/dev/null | grep -q 'is UP' && return 0
    if ! alive "$CTLD_PID" slurmctld >/dev/null && (($(now_ms) - t0 > GRACE_MS)); then
      log "slurmctld is not running"; return 1
    fi
    sleep 0.1
  done
  log "slurmctld did not answer within ${TIMEOUT}s"
  return 1
}

wait_idle() {
  local host state= t0 deadline last_resume=0
  host=$(node_name)
  t0=$(now_ms); deadline=$((t0 + TIMEOUT * 1000))
  while (($(now_ms) < deadline)); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -n1) || state=
    case $state in
      idle) return 0 ;;
      down* | drain* | fail*)
        # ReturnToService=2 should bring it back on registration; nudge it if not.
        if (($(now_ms) - last_resume > 2000)); then
          scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
          last_resume=$(now_ms)
        fi ;;
    esac
    if ! alive "$SLURMD_PID" slurmd >/dev/null && (($(now_ms) - t0 > GRACE_MS)); then
      log "slurmd is not running (node $host is '${state:-unknown}')"; return 1
    fi
    sleep 0.1
  done
  log "node $host is '${state:-unknown}', not idle, after ${TIMEOUT}s"
  sinfo -N -l >&2 2>/dev/null || true
  scontrol show node "$host" 2>/dev/null | grep -E 'State|Reason' >&2 || true
  return 1
}

fail_start() {
  log "$1"
  tail_logs
  log "stopping what was started; logs stay in $DIR/log and $MUNGE_DIR"
  do_stop >/dev/null 2>&1 || true
  exit 1
}

print_env() {
  printf 'RANK_MODELS_SLURM_DIR=%s\nSLURM_CONF=%s\n' "$DIR" "$CONF"
}

do_start() {
  local t0 other bin missing=()
  t0=$(now_ms)
  [[ $(id -u) -eq 0 ]] || EXIT=2 die "must run as root (slurmd and munged need it)"
  for bin in munged munge unmunge slurmctld slurmd sinfo scontrol squeue scancel sbatch runuser; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
  done
  ((${#missing[@]} == 0)) || EXIT=3 die "not installed: ${missing[*]} (run scripts/slurm/install.sh)"
  id munge >/dev/null 2>&1 || EXIT=3 die "no user munge (run scripts/slurm/install.sh)"

  if [[ -z ${1:-} ]]; then
    set_dir "$(mktemp -d "${TMPDIR:-/tmp}/rank-models-slurm.XXXXXX")"
  else
    set_dir "$1"
  fi

  other=$(marker_dir)
  if [[ -n $other && $other != "$DIR" ]]; then
    if (set_dir "$other" && any_alive); then
      EXIT=4 die "a cluster from $other is running; stop it first: $0 stop $other"
    fi
    rm -f "$MARKER"
  fi
  if all_alive && scontrol ping 2>/dev/null | grep -q 'is UP'; then
    log "already running from $DIR: reusing it"
    wait_idle || fail_start "the running cluster's node did not become idle"
    printf '%s\n' "$DIR" >"$MARKER"
    print_env
    return 0
  fi
  if any_alive; then
    log "a partly running cluster in $DIR: stopping it first"
    do_stop
  fi
  for port in "$CTLD_PORT" "$SLURMD_PORT"; do
    port_busy "$port" && EXIT=4 die "port $port is already in use (another Slurm?); set RANK_MODELS_SLURM_PORT to another base port"
  done

  install -d -m 0755 "$DIR" "$DIR/etc" "$DIR/run" "$DIR/log"
  install -d -m 0700 "$DIR/state" "$DIR/spool"
  ensure_key
  write_conf
  printf 'export RANK_MODELS_SLURM_DIR=%s\nexport SLURM_CONF=%s\n' "$DIR" "$CONF" >"$DIR/env"
  printf '%s\n' "$DIR" >"$MARKER"

  start_munged
  slurmctld -f "$CONF" </dev/null >>"$DIR/log/slurmctld.out" 2>&1 9>&- || fail_start "slurmctld failed to start"
  wait_ctld || fail_start "slurmctld did not come up"
  slurmd -f "$CONF" </dev/null >>"$DIR/log/slurmd.out" 2>&1 9>&- || fail_start "slurmd failed to start"
  wait_idle || fail_start "the node did not become idle"
  log "cluster up in $(($(now_ms) - t0)) ms: $DIR (node $(node_name), slurmctld port $CTLD_PORT)"
  print_env
}

# ---- stop --------------------------------------------------------------------

# Leftovers of jobs, found only when slurmd died mid-job (a normal stop cancels
# the jobs first): this cluster's slurmstepd processes (each keeps a file inside
# DIR open), processes started from a batch script in DIR/spool, and all their
# descendants.
leftovers() {
  local f pid roots=()
  for f in $(grep -lx slurmstepd /proc/[0-9]*/comm 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/comm}
    pid_alive "$pid" || continue
    if ls -l "/proc/$pid/fd/" 2>/dev/null | grep -q -- "-> $DIR/"; then roots+=("$pid"); fi
  done
  for f in $(grep -lF -- "$DIR/spool/" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [[ $pid != "$$" && $pid != "$BASHPID" ]] && pid_alive "$pid" && roots+=("$pid")
  done
  ((${#roots[@]})) || return 0
  ps -e -o pid=,ppid= | awk -v roots="${roots[*]}" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = split(roots, queue, " ")
      for (i = 1; i <= n; i++) {
        p = queue[i]
        if (p in seen) continue
        seen[p] = 1; print p
        m = split(kids[p], k, " ")
        for (j = 1; j <= m; j++) queue[++n] = k[j]
      }
    }'
}

wait_gone() { # wait_gone SECONDS PID...: succeeds when none of them runs
  local deadline=$(($(now_ms) + $1 * 1000)) pid left
  shift
  while :; do
    left=0
    for pid in "$@"; do pid_alive "$pid" && left=1; done
    ((left)) || return 0
    (($(now_ms) < deadline)) || return 1
    sleep 0.1
  done
}

do_stop() {
  local pid failed=0 t0 deadline pids
  t0=$(now_ms)
  if alive "$CTLD_PID" slurmctld >/dev/null && [[ -n $(timeout 10 squeue -h -o %i 2>/dev/null) ]]; then
    # Cancel every job first: a stop would otherwise leave job processes behind.
    log "cancelling jobs"
    timeout 10 scancel --partition="$PARTITION" 2>/dev/null || true
    # Without slurmd the jobs stay "completing"; their processes are killed below.
    if alive "$SLURMD_PID" slurmd >/dev/null; then
      deadline=$(($(now_ms) + 15000))
      while (($(now_ms) < deadline)) && [[ -n $(timeout 5 squeue -h -o %i 2>/dev/null) ]]; do sleep 0.2; done
    fi
  fi
  if pid=$(alive "$SLURMD_PID" slurmd); then stop_pid "$pid" slurmd || failed=1; fi
  pids=$(leftovers)
  if [[ -n $pids ]]; then
    log "killing leftover job processes: $(echo $pids)"
    kill -TERM $pids 2>/dev/null || true
    wait_gone 2 $pids || { kill -KILL $pids 2>/dev/null || true; wait_gone 5 $pids || failed=1; }
  fi
  if pid=$(alive "$CTLD_PID" slurmctld); then stop_pid "$pid" slurmctld || failed=1; fi
  if pid=$(alive "$MUNGED_PID" munged); then stop_pid "$pid" munged || failed=1; fi
  ((failed)) && die "some processes of $DIR did not stop"
  rm -f "$CTLD_PID" "$SLURMD_PID" "$MUNGED_PID" "$SOCKET" "$SOCKET.lock"
  [[ $(marker_dir) == "$DIR" ]] && rm -f "$MARKER"
  log "stopped $DIR in $(($(now_ms) - t0)) ms"
}

# ---- status ------------------------------------------------------------------

do_status() {
  local n=0 pid name file
  for name in munged slurmctld slurmd; do
    case $name in
      munged) file=$MUNGED_PID ;; slurmctld) file=$CTLD_PID ;; slurmd) file=$SLURMD_PID ;;
    esac
    if pid=$(alive "$file" "$name"); then
      printf '%-10s running (pid %s)\n' "$name" "$pid"; n=$((n + 1))
    else
      printf '%-10s stopped\n' "$name"
    fi
  done
  printf 'dir        %s\n' "$DIR"
  if ((n == 3)); then
    sinfo -N -o '%N %T %c %m' 2>/dev/null || true
    squeue 2>/dev/null || true
    return 0
  fi
  ((n == 0)) && return 3
  return 1
}

# ---- main --------------------------------------------------------------------

cmd=${1:-}
shift || true
(($# <= 1)) || usage
case $cmd in
  start)
    exec 9>"$LOCK"; flock -w 120 9 || die "another start/stop holds $LOCK"
    do_start "${1:-}" ;;
  stop | status)
    if [[ -n ${1:-} ]]; then
      set_dir "$1"
    else
      d=$(marker_dir)
      [[ -n $d ]] || { log "no cluster is running (and no DIR given)"; [[ $cmd == stop ]] && exit 0 || exit 3; }
      set_dir "$d"
    fi
    if [[ $cmd == stop ]]; then
      exec 9>"$LOCK"; flock -w 120 9 || die "another start/stop holds $LOCK"
      do_stop
    else
      do_status
    fi ;;
  *) usage ;;
esac
