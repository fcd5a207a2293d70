#!/usr/bin/env bash
# Installs what the Slurm integration test needs (Debian's slurm-wlm and munge),
# only when it is missing. Idempotent: exits 0 at once when the daemons and the
# client commands are already there.
#
#   install.sh           install when missing
#   install.sh --check   only check; exit 5 when something is missing
#
# Exit status: 0 installed or already present; 1 the apt install failed
# (e.g. no network); 2 no root (and no password-less sudo); 3 no apt-get;
# 5 missing (--check). The reason is printed on stderr in every failing case.
set -euo pipefail

CHECK_ONLY=0
case ${1:-} in
  '') ;;
  --check) CHECK_ONLY=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

PACKAGES=(slurm-wlm munge)
# Every command cluster.sh and the test helper call.
NEEDED=(munged mungekey munge unmunge slurmctld slurmd sbatch sinfo squeue scontrol scancel)

log() { printf 'slurm install: %s\n' "$*" >&2; }

missing() {
  local cmd out=()
  for cmd in "${NEEDED[@]}"; do
    # munged, slurmctld and slurmd live in /usr/sbin, which a non-root PATH may lack.
    command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || out+=("$cmd")
  done
  printf '%s\n' "${out[@]}"
}

todo=$(missing)
if [[ -z $todo ]]; then
  log "already installed ($(slurmctld -V 2>/dev/null || /usr/sbin/slurmctld -V 2>/dev/null || echo 'slurm'), $(munged -V 2>/dev/null | head -n1 || /usr/sbin/munged -V 2>/dev/null | head -n1 || echo 'munge'))"
  exit 0
fi
log "missing: $(echo $todo)"
if ((CHECK_ONLY)); then
  log "not installed (--check given; run scripts/slurm/install.sh as root)"
  exit 5
fi

if ! command -v apt-get >/dev/null 2>&1; then
  log "cannot install: apt-get not found (this script knows Debian/Ubuntu only); install ${PACKAGES[*]} by hand"
  exit 3
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    log "cannot install: not root and no password-less sudo (run as root: apt-get install -y ${PACKAGES[*]})"
    exit 2
  fi
fi

APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q
     -o Acquire::Retries=2 -o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30
     -o DPkg::Lock::Timeout=300)

install_pkgs() {
  "${APT[@]}" install -y "${PACKAGES[@]}" >"$aptlog" 2>&1
}

aptlog=$(mktemp)
updatelog=$(mktemp)
trap 'rm -f "$aptlog" "$updatelog"' EXIT
start=$SECONDS

# A fresh machine has empty or stale package lists: try the install as is only
# when apt already knows a candidate, otherwise (or if that fails) update first.
# (The policy is read into a variable first: with pipefail, `grep -q` closing
# the pipe early would make the pipeline fail.)
policy=$(apt-cache policy slurm-wlm munge 2>/dev/null || true)
if [[ $(grep -c 'Candidate: [0-9]' <<<"$policy") -eq 2 ]] && install_pkgs; then
  :
else
  log "apt-get update"
  # apt-get update exits 0 when some index files could not be fetched (it only
  # warns); what it said is kept to explain a failed install below.
  if ! "${APT[@]}" update >"$updatelog" 2>&1; then
    tail -n 15 "$updatelog" >&2
    log "cannot install: apt-get update failed (no network or no reachable mirror?)"
    exit 1
  fi
  log "apt-get install -y ${PACKAGES[*]}"
  if ! install_pkgs; then
    tail -n 15 "$aptlog" >&2
    if grep -qE 'Failed to fetch|Could not connect|Unable to connect|Temporary failure resolving' "$updatelog" "$aptlog"; then
      grep -hE '^(W|E): ' "$updatelog" | head -n 5 >&2 || true
      log "cannot install: package downloads failed (network refused or mirror unreachable)"
    else
      log "cannot install: apt-get install ${PACKAGES[*]} failed"
    fi
    exit 1
  fi
fi

todo=$(missing)
if [[ -n $todo ]]; then
  log "installed ${PACKAGES[*]} but still missing: $(echo $todo)"
  exit 1
fi
log "installed ${PACKAGES[*]} in $((SECONDS - start)) s"
