#!/bin/bash
# A gpupool session as a Slurm batch job, run as the session's user inside the job's
# allocation (its cgroup, its GPUs). gpupool puts the session's values above this text
# (job_script.cpp): GPUPOOL_SESSION, GPUPOOL_USER, GPUPOOL_HOME, GPUPOOL_ROOTFS,
# GPUPOOL_READY_URL, GPUPOOL_ACTIVITY_URL, GPUPOOL_ACTIVITY_SECONDS, GPUPOOL_READY_SECRET, GPUPOOL_TOKEN, GPUPOOL_AUTHORIZED_KEYS,
# GPUPOOL_GPU_DEVICES, GPUPOOL_READY_CA, and for a GPU share GPUPOOL_GPU_MEMORY_LIMIT_MB and
# GPUPOOL_GPU_CAP (the cap library's path on the nodes).
#
# The image's root filesystem runs read-only in a bubblewrap sandbox: a user namespace that
# maps only the user's own uid (no capability, no setuid, nothing the user could not do
# anyway, and no further user namespace), its own PID, IPC and mount namespaces, a fresh /tmp,
# /run and /dev with only the node's GPU device files bound in (the job's device cgroup still
# decides which of them open), and the user's home. A GPU share has the GPU-memory cap
# preloaded into every process, as in gpupool's containers. The node's network is shared, as every job's is: Jupyter and
# sshd listen on free ports of the node, Jupyter behind its token, sshd for the user's keys
# only. The job then tells gpupool those ports, with the session's secret, and lives as long
# as the sandbox does, telling gpupool every GPUPOOL_ACTIVITY_SECONDS how much the session is
# used (for idle reclaim). A job that cannot start the session sends gpupool its sandbox's
# output and why, for `gpupool logs` (this job's own log stays on its node). No secret goes
# on a command line.
set -euo pipefail
umask 077

run=$(mktemp -d "${TMPDIR:-/tmp}/gpupool-job-XXXXXXXX")
sandbox=""
finish() {
  [ -n "$sandbox" ] && kill "$sandbox" 2>/dev/null
  rm -rf "$run"
}
trap finish EXIT
trap 'exit 143' TERM INT
printf 'Authorization: Bearer %s\n' "$GPUPOOL_READY_SECRET" > "$run/ready-headers"
# The gateway's own certificate when it made one; else the system's authorities vouch for it.
ca=()
if [ -n "$GPUPOOL_READY_CA" ]; then
  printf '%s\n' "$GPUPOOL_READY_CA" > "$run/ready-ca.pem"
  ca=(--cacert "$run/ready-ca.pem")
fi
: > "$run/start.log"
reported_ready=false

# Before the session runs: the end of the sandbox's output and why, to gpupool (base64, as
# the log is any bytes), on a best effort. start.log keeps only the sandbox's first 64 KiB
# (a start, not a session's whole output on the node's disk); the job's log has it all.
report_start_failure() {
  [ "$reported_ready" = false ] || return 0
  command -v curl >/dev/null 2>&1 || return 0
  local log
  log=$({ tail -c 16000 "$run/start.log"; printf 'gpupool: %s\n' "$1"; } | base64 -w 0)
  printf '{"session": "%s", "log": "%s"}' "$GPUPOOL_SESSION" "$log" |
    curl -fsS --max-time 10 "${ca[@]}" -X POST -H @"$run/ready-headers" \
      -H 'Content-Type: application/json' --data-binary @- \
      "${GPUPOOL_READY_URL%/ready}/start-failure" >/dev/null 2>&1 || true
}
fail() {
  echo "gpupool: $1" >&2
  report_start_failure "$1"
  exit 1
}
for tool in bwrap curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "this node lacks $tool (docs/slurm.md: nodes)"
done
# Without it a process in the sandbox could make a user namespace of its own and mount over
# what the sandbox holds read-only (the cap's files among them).
# (Read whole first: under pipefail, `grep -q` leaving early would fail the pipe by SIGPIPE.)
no_userns=()
bwrap_help=$(bwrap --help 2>&1 || true)
if [[ $bwrap_help == *--disable-userns* ]]; then
  no_userns=(--disable-userns)
elif [ -n "$GPUPOOL_GPU_CAP" ]; then
  fail "GPU shares need bubblewrap 0.8 or newer (--disable-userns) on $(hostname)"
fi
[ -d "$GPUPOOL_ROOTFS/usr" ] || fail "the image's root filesystem is not at $GPUPOOL_ROOTFS on $(hostname)"
[ -d "$GPUPOOL_HOME" ] || fail "the home $GPUPOOL_HOME is not on $(hostname)"

user="$GPUPOOL_USER"
uid=$(id -u)
gid=$(id -g)
home="/home/$user"

# A port nothing on this node listens on (bash's /dev/tcp: a refused connection).
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  fail "no free port on $(hostname)"
}
jupyter_port=$(free_port)
ssh_port=$(free_port)
[ "$ssh_port" != "$jupyter_port" ] || ssh_port=$(free_port)

# /run/gpupool/etc in the sandbox (read-only): sshd's and Jupyter's settings; /run/gpupool/state
# (the user's): what sshd writes.
mkdir -p "$run/etc/jupyter" "$run/state"
shell=/bin/bash
[ -x "$GPUPOOL_ROOTFS$shell" ] || shell=/bin/sh
{
  grep -v "^$user:" "$GPUPOOL_ROOTFS/etc/passwd" || true
  echo "$user:x:$uid:$gid:gpupool user:$home:$shell"
} > "$run/passwd"
{
  grep -v "^$user:" "$GPUPOOL_ROOTFS/etc/group" || true
  echo "$user:x:$gid:"
} > "$run/group"
printf '%s\n' "$GPUPOOL_AUTHORIZED_KEYS" > "$run/etc/authorized_keys"
# The settings every session's sshd has (src/core/session_sshd_policy.conf) take the place of
# the include line below when gpupool is built.
cat > "$run/etc/sshd_config" <<CONFIG
Port $ssh_port
HostKey /run/gpupool/state/ssh_host_ed25519_key
PidFile /run/gpupool/state/sshd.pid
AllowUsers $user
AuthorizedKeysFile /run/gpupool/etc/authorized_keys
# The image's files belong to no one the sandbox knows (its root is unmapped), so sshd's
# ownership check of every directory up to / would refuse all keys; the keys file is the
# job's own, in a directory only the user can reach.
StrictModes no
SetEnv CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-} LD_LIBRARY_PATH=/run/gpupool/driver
#@include ../core/session_sshd_policy.conf
CONFIG
printf '{"NotebookApp": {"token": "%s"}}\n' "$GPUPOOL_TOKEN" > "$run/etc/jupyter/jupyter_notebook_config.json"
printf 'Authorization: token %s\n' "$GPUPOOL_TOKEN" > "$run/jupyter-headers"
unset GPUPOOL_TOKEN GPUPOOL_READY_SECRET GPUPOOL_AUTHORIZED_KEYS

devices=()
# The glob is the admin's (--slurm-gpu-devices); unmatched, it stays as written and is skipped.
# shellcheck disable=SC2206
candidates=($GPUPOOL_GPU_DEVICES /dev/nvidiactl /dev/nvidia-uvm /dev/nvidia-uvm-tools)
for device in "${candidates[@]}"; do
  [ -e "$device" ] && devices+=(--dev-bind "$device" "$device")
done

# The node's NVIDIA driver, as the container toolkit gives it to containers: its user-space
# libraries (they must match the kernel module, so they cannot come with the image) under
# /run/gpupool/driver, first on the library path, and nvidia-smi.
driver=()
ldconfig=/sbin/ldconfig
[ -x "$ldconfig" ] || ldconfig=ldconfig
while read -r library; do
  [ -e "$library" ] && driver+=(--ro-bind "$library" "/run/gpupool/driver/${library##*/}")
done < <("$ldconfig" -p 2>/dev/null |
  awk '/(libcuda|libnvidia-ml|libnvidia-ptxjitcompiler|libnvidia-nvvm|libcudadebugger)\.so/ {print $NF}' | sort -u)
if smi=$(command -v nvidia-smi 2>/dev/null); then
  driver+=(--ro-bind "$smi" /run/gpupool/driver/bin/nvidia-smi)
fi

# /etc is the image's, entry by entry, on a tmpfs made read-only once they are in: so the
# session's own files (passwd, group, a share's cap) sit among them without being written
# into the image, which may not have a file to bind them over.
etc=()
for entry in "$GPUPOOL_ROOTFS"/etc/* "$GPUPOOL_ROOTFS"/etc/.[!.]*; do
  [ -e "$entry" ] || [ -L "$entry" ] || continue
  name=${entry##*/}
  case "$name" in passwd | group | ld.so.preload | gpupool) continue ;; esac
  if [ -L "$entry" ]; then
    etc+=(--symlink "$(readlink "$entry")" "/etc/$name")
  else
    etc+=(--ro-bind "$entry" "/etc/$name")
  fi
done
etc+=(--ro-bind "$run/passwd" /etc/passwd --ro-bind "$run/group" /etc/group)

# A GPU share: the cap library in every process through /etc/ld.so.preload, its limit in
# /etc/gpupool/gpu-cap.conf, both read-only in the sandbox; the account is the one file its
# processes write, a fresh one each job.
cap=()
cap_env=()
cap_library=/run/gpupool/lib/libgpupool_gpu_cap.so
if [ -n "$GPUPOOL_GPU_CAP" ]; then
  [ -r "$GPUPOOL_GPU_CAP" ] || fail "the GPU-memory cap library is not at $GPUPOOL_GPU_CAP on $(hostname)"
  mkdir -p "$run/cap-etc" "$run/cap"
  : > "$run/cap/account"
  printf 'limit_mb=%s\naccount=/run/gpupool/cap/account\n' "$GPUPOOL_GPU_MEMORY_LIMIT_MB" > "$run/cap-etc/gpu-cap.conf"
  printf '%s\n' "$cap_library" > "$run/ld.so.preload"
  cap=(--ro-bind "$GPUPOOL_GPU_CAP" "$cap_library" --ro-bind "$run/cap-etc" /etc/gpupool
    --ro-bind "$run/ld.so.preload" /etc/ld.so.preload --bind "$run/cap" /run/gpupool/cap)
  cap_env=(--setenv GPUPOOL_GPU_MEMORY_LIMIT_MB "$GPUPOOL_GPU_MEMORY_LIMIT_MB")
fi
etc+=(--remount-ro /etc)

# The part below runs in the sandbox as the user: single-quoted so that it expands there.
# shellcheck disable=SC2016
start='
set -eu
# The loader skips, with a warning, a preload it cannot load (an image whose glibc is too old):
# better no session than one without its cap.
if [ -n "${GPUPOOL_GPU_MEMORY_LIMIT_MB:-}" ] && ! grep -qF /run/gpupool/lib/libgpupool_gpu_cap.so /proc/self/maps; then
  echo "gpupool: the GPU-memory cap library does not load in this image (is its glibc older than 2.17?)" >&2
  exit 1
fi
mkdir -p /run/sshd
cd "$HOME"
if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1; then
  ssh-keygen -q -t ed25519 -N "" -f /run/gpupool/state/ssh_host_ed25519_key
  /usr/sbin/sshd -f /run/gpupool/etc/sshd_config -D -e &
else
  echo "gpupool: this image has no SSH server (openssh-server): no SSH in this session" >&2
fi
export JUPYTER_CONFIG_PATH=/run/gpupool/etc/jupyter
if command -v jupyter >/dev/null 2>&1; then notebook="jupyter notebook"; else notebook="python3 -m notebook"; fi
exec $notebook --no-browser --ip=0.0.0.0 --port="$GPUPOOL_JUPYTER_PORT" --NotebookApp.port_retries=0 \
  --NotebookApp.quit_button=False --NotebookApp.base_url="/s/$GPUPOOL_SESSION/" \
  --NotebookApp.notebook_dir="$HOME"'

bwrap --unshare-user "${no_userns[@]}" --uid "$uid" --gid "$gid" --unshare-pid --unshare-ipc \
  --unshare-uts --hostname "$GPUPOOL_SESSION" --die-with-parent --new-session --cap-drop ALL \
  --ro-bind "$GPUPOOL_ROOTFS" / --proc /proc --dev /dev --tmpfs /tmp --tmpfs /run \
  --tmpfs /home --bind "$GPUPOOL_HOME" "$home" --tmpfs /etc "${cap[@]}" "${etc[@]}" \
  --ro-bind "$run/etc" /run/gpupool/etc --bind "$run/state" /run/gpupool/state \
  "${devices[@]}" "${driver[@]}" \
  --clearenv --setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/run/gpupool/driver/bin \
  --setenv LD_LIBRARY_PATH /run/gpupool/driver \
  --setenv HOME "$home" --setenv USER "$user" --setenv LOGNAME "$user" --setenv SHELL "$shell" \
  --setenv LANG C.UTF-8 --setenv CUDA_VISIBLE_DEVICES "${CUDA_VISIBLE_DEVICES:-}" \
  --setenv SLURM_JOB_ID "${SLURM_JOB_ID:-}" --setenv GPUPOOL_SESSION "$GPUPOOL_SESSION" \
  --setenv GPUPOOL_JUPYTER_PORT "$jupyter_port" "${cap_env[@]}" --chdir "$home" \
  /bin/sh -c "$start" > >(tee -p >(head -c 65536 > "$run/start.log")) 2>&1 &
sandbox=$!

# Ready when Jupyter answers; then gpupool hears where.
for _ in $(seq 600); do
  if ! kill -0 "$sandbox" 2>/dev/null; then
    sleep 0.5  # tee's last lines into start.log
    fail "the session's Jupyter stopped before it answered"
  fi
  if curl -fsS -o /dev/null "http://127.0.0.1:$jupyter_port/s/$GPUPOOL_SESSION/api" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
host_key=""
[ -f "$run/state/ssh_host_ed25519_key.pub" ] && host_key=$(cut -d' ' -f1,2 "$run/state/ssh_host_ed25519_key.pub")
[ -f "$run/state/sshd.pid" ] || sleep 1
[ -f "$run/state/sshd.pid" ] || { ssh_port=0; host_key=""; }
printf '{"session": "%s", "jupyter_port": %d, "ssh_port": %d, "ssh_host_key": "%s"}' \
  "$GPUPOOL_SESSION" "$jupyter_port" "$ssh_port" "$host_key" > "$run/ready.json"
for attempt in $(seq 10); do
  curl -fsS "${ca[@]}" -X POST -H @"$run/ready-headers" -H 'Content-Type: application/json' \
    --data-binary @"$run/ready.json" "$GPUPOOL_READY_URL" >/dev/null && break
  [ "$attempt" = 10 ] && fail "gpupool did not take the session's report at $GPUPOOL_READY_URL"
  sleep $((attempt))
done
reported_ready=true
echo "gpupool: session $GPUPOOL_SESSION ready on $(hostname): Jupyter port $jupyter_port, SSH port $ssh_port"

# Then, while it runs, its signs of use as an agent measures a container's (model/idle.hpp).
# The CPU time of the sandbox's processes (bwrap's descendants, with what their reaped children
# used), in clock ticks.
sandbox_ticks() {
  # (A process may end between the glob and its read.)
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$sandbox" '
    {
      pid = $1
      rest = substr($0, match($0, /\) [^)]*$/) + 2)  # after the command name, which may hold spaces
      split(rest, field, " ")
      parent[pid] = field[2]
      ticks[pid] = field[12] + field[13] + field[14] + field[15]
    }
    END {
      for (pid in parent) {
        up = pid
        for (depth = 0; depth < 64 && up != root && up > 1; depth++) up = parent[up]
        if (up == root) total += ticks[pid]
      }
      print total + 0
    }'
}
# Occurrences of a pattern in a text.
count() { awk -v pattern="$1" '{ n += gsub(pattern, "") } END { print n + 0 }' <<< "$2"; }
# Established connections to the session's sshd (the node's network is the job's).
ssh_connections() {
  awk -v port="$(printf ':%04X' "$ssh_port")" '$4 == "01" && substr($2, length($2) - 4) == port { n++ }
    END { print n + 0 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
# The busiest of the job's whole GPUs, in percent; nothing for a share (its GPU is others' too)
# or without nvidia-smi.
gpu_utilization() {
  [ -z "$GPUPOOL_GPU_CAP" ] && [ -n "${CUDA_VISIBLE_DEVICES:-}" ] && [ -n "${smi:-}" ] || return 0
  "$smi" --query-gpu=utilization.gpu --format=csv,noheader,nounits -i "$CUDA_VISIBLE_DEVICES" 2>/dev/null |
    sort -n | tail -1 | tr -dc 0-9
}
jupyter_api="http://127.0.0.1:$jupyter_port/s/$GPUPOOL_SESSION/api"
hz=$(getconf CLK_TCK)
last_ticks=$(sandbox_ticks)
last_at=$(date +%s%3N)
report_activity() {
  local ticks now cpu kernels terminals latest quiet="" gpu
  ticks=$(sandbox_ticks)
  now=$(date +%s%3N)
  cpu=$(awk -v used="$((ticks - last_ticks))" -v hz="$hz" -v ms="$((now - last_at))" \
    'BEGIN { printf "%.3f", (ms > 0 ? used / hz / (ms / 1000) : 0) }')
  last_ticks=$ticks
  last_at=$now
  local jupyter='"kernels": 0, "busy_kernels": 0, "terminals": 0'
  if kernels=$(curl -fsS -H @"$run/jupyter-headers" "$jupyter_api/kernels" 2>/dev/null) &&
    terminals=$(curl -fsS -H @"$run/jupyter-headers" "$jupyter_api/terminals" 2>/dev/null); then
    jupyter="\"kernels\": $(count '"execution_state"' "$kernels"), \"busy_kernels\": $(count '"execution_state": *"busy"' "$kernels"), \"terminals\": $(count '"name"' "$terminals")"
    latest=$(printf '%s\n%s\n' "$kernels" "$terminals" | grep -o '"last_activity": *"[^"]*"' | cut -d'"' -f4 |
      while read -r stamp; do date -d "$stamp" +%s%3N; done | sort -n | tail -1 || true)
    [ -n "$latest" ] && quiet=", \"jupyter_quiet_millis\": $((now > latest ? now - latest : 0))"
  fi
  gpu=$(gpu_utilization || true)
  printf '{"session": "%s", "activity": {"cpu_cores": %s, %s%s, "ssh_connections": %d%s}}' \
    "$GPUPOOL_SESSION" "$cpu" "$jupyter" "$quiet" "$(ssh_connections)" \
    "${gpu:+, \"gpu_utilization_percent\": $gpu}" > "$run/activity.json"
  curl -fsS "${ca[@]}" -X POST -H @"$run/ready-headers" -H 'Content-Type: application/json' \
    --data-binary @"$run/activity.json" "$GPUPOOL_ACTIVITY_URL" >/dev/null 2>&1 || true
}
while kill -0 "$sandbox" 2>/dev/null; do
  # In the background, so that a TERM from Slurm is acted on at once.
  sleep "$GPUPOOL_ACTIVITY_SECONDS" &
  wait $! || true
  kill -0 "$sandbox" 2>/dev/null && report_activity
done
wait "$sandbox"
