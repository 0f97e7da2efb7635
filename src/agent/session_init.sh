#!/bin/sh
# A session container's init, run by the agent as `sh -c` in every session image (the image
# needs no gpupool files). It starts as root with only CHOWN, SETUID, SETGID, DAC_OVERRIDE
# and FOWNER: adds the user entry, writes the authorized keys, sshd's, Jupyter's and
# code-server's settings, then drops to the user with no capabilities left and runs them as
# the user.
# Inputs (environment): GPUPOOL_USER, GPUPOOL_UID, GPUPOOL_SESSION, GPUPOOL_APPS_PATH, GPUPOOL_TOKEN,
# GPUPOOL_AUTHORIZED_KEYS, NVIDIA_VISIBLE_DEVICES; with a GPU share GPUPOOL_GPU_MEMORY_LIMIT_MB
# and GPUPOOL_GPU_CAP (the cap library, mounted read-only by the agent).
#
# Root writes only under /etc/gpupool, a directory of its own the user cannot write to, and
# never through the home or /run/gpupool, where the user could have left a symlink (the
# container may be a restarted one). No secret goes on a command line: Jupyter's token is in
# a settings file only the user can read.
set -eu
user="$GPUPOOL_USER"; uid="$GPUPOOL_UID"; gid="${GPUPOOL_GID:-$GPUPOOL_UID}"
home="/home/$user"; run=/run/gpupool; etc=/etc/gpupool
shell=/bin/bash; [ -x "$shell" ] || shell=/bin/sh
# The container may be restarted: add only what is missing.
grep -q "^$user:" /etc/passwd || echo "$user:x:$uid:$gid:gpupool user:$home:$shell" >> /etc/passwd
# The primary group: the user's own, or the directory's (gidNumber) that colleagues share.
grep -q "^$user:" /etc/group || cut -d: -f3 /etc/group | grep -qx "$gid" ||
  echo "$user:x:$gid:" >> /etc/group

# The container has run before when its settings are there: the engine or the host restarted
# (the agent starts the same container again). Only root writes under $etc, so what is there
# is ours: the agent put today's keys in it before this start, and the keys in the environment
# are those of the first start.
keys="$GPUPOOL_AUTHORIZED_KEYS"
restarted=false
if [ -d "$etc" ] && [ ! -L "$etc" ]; then
  restarted=true
  if [ -f "$etc/authorized_keys" ] && [ ! -L "$etc/authorized_keys" ]; then
    keys="$(cat "$etc/authorized_keys")"
  fi
fi
if [ "$restarted" = true ]; then
  # Like a reboot: the processes are gone and /tmp is emptied, the home is kept. No process of
  # the user's runs yet, and find neither follows symlinks nor leaves this filesystem.
  find /tmp -xdev -mindepth 1 -delete 2>/dev/null || true
  printf '%s\n' "This session's container restarted at $(date -u '+%Y-%m-%d %H:%M:%S UTC') (the engine or the host restarted): running processes and /tmp were lost, your home was kept." > /etc/motd
fi

# A fresh directory each start; whatever a previous start left there is discarded.
rm -rf "$etc"
mkdir -m 0755 "$etc" "$etc/jupyter"
# Why this start cannot go on, where the agent reads it for the session's owner.
fail() {
  printf '%s\n' "$1" > "$etc/start-failure"
  echo "gpupool: $1" >&2
  exit 1
}
umask 022
printf '%s\n' "$keys" > "$etc/authorized_keys"
# The settings every session's sshd has (src/core/session_sshd_policy.conf) take the place of
# the include line below when gpupool is built.
cat > "$etc/sshd_config" <<CONFIG
Port 2222
HostKey $run/ssh_host_ed25519_key
PidFile $run/sshd.pid
AllowUsers $user
AuthorizedKeysFile $etc/authorized_keys
SetEnv NVIDIA_VISIBLE_DEVICES=$NVIDIA_VISIBLE_DEVICES GPUPOOL_SESSION=$GPUPOOL_SESSION GPUPOOL_APPS_PATH=$GPUPOOL_APPS_PATH
#@include ../core/session_sshd_policy.conf
CONFIG
umask 027
# The classic notebook reads the first, JupyterLab (on jupyter_server) the second.
printf '{"NotebookApp": {"token": "%s"}}\n' "$GPUPOOL_TOKEN" > "$etc/jupyter/jupyter_notebook_config.json"
printf '{"ServerApp": {"token": "%s"}, "IdentityProvider": {"token": "%s"}}\n' "$GPUPOOL_TOKEN" "$GPUPOOL_TOKEN" \
  > "$etc/jupyter/jupyter_server_config.json"
chown "root:$gid" "$etc/jupyter/jupyter_notebook_config.json" "$etc/jupyter/jupyter_server_config.json"
# VS Code in the browser where the image has code-server. It asks for the token in a cookie,
# which only the gateway sends (a password of this value in hashed form: the cookie is
# compared to it as it is); its settings are root's, so no file in the home overrides them.
if command -v code-server >/dev/null 2>&1; then
  cat > "$etc/code-server.yaml" <<CONFIG
bind-addr: 0.0.0.0:13337
auth: password
hashed-password: "$GPUPOOL_TOKEN"
cert: false
disable-telemetry: true
disable-update-check: true
disable-workspace-trust: true
CONFIG
  chown "root:$gid" "$etc/code-server.yaml"
fi
unset GPUPOOL_AUTHORIZED_KEYS GPUPOOL_TOKEN keys

# A GPU share: the cap goes into every process of the session (Jupyter's kernels, SSH logins,
# everything they start) through /etc/ld.so.preload, which no process of the user's can
# change or unset, and reads its limit from a file of root's. The account is the one file the
# session's processes write: a fresh one each start. Each path is removed first, so nothing
# is written through a symlink.
if [ -n "${GPUPOOL_GPU_CAP:-}" ]; then
  cap_run=/run/gpupool-gpu-cap
  umask 022
  printf 'limit_mb=%s\naccount=%s\n' "$GPUPOOL_GPU_MEMORY_LIMIT_MB" "$cap_run/account" > "$etc/gpu-cap.conf"
  rm -rf "$cap_run"
  mkdir -m 0755 "$cap_run"
  : > "$cap_run/account"
  chown "$uid:$gid" "$cap_run/account"
  chmod 0600 "$cap_run/account"
  rm -f /etc/ld.so.preload
  printf '%s\n' "$GPUPOOL_GPU_CAP" > /etc/ld.so.preload
  # The loader skips, with a warning, a preload it cannot load (an image whose glibc is too
  # old): better no session than one without its cap.
  if ! grep -qF "$GPUPOOL_GPU_CAP" /proc/self/maps; then
    fail "the GPU-memory cap library does not load in this image (is its glibc older than 2.17?)"
  fi
  umask 027
fi

# /run is root's, so /run/gpupool is ours to make; the home is the volume's mount point
# itself, which cannot be swapped for a symlink. Neither is followed any deeper.
mkdir -p /run/sshd "$run"
chown "$uid:$gid" "$run"
chmod 0700 "$run"
[ "$(stat -c %u "$home")" = "$uid" ] || chown "$uid:$gid" "$home"
export GPUPOOL_RUN="$run" GPUPOOL_ETC="$etc"
# The part below runs as the user: single-quoted so that it expands there, not here.
# shellcheck disable=SC2016
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all \
  env HOME="$home" USER="$user" LOGNAME="$user" SHELL="$shell" /bin/sh -c '
set -eu
cd "$HOME"
# An image without an SSH server (the catalog says so to its users) runs Jupyter only.
if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1; then
  [ -f "$GPUPOOL_RUN/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$GPUPOOL_RUN/ssh_host_ed25519_key"
  /usr/sbin/sshd -f "$GPUPOOL_ETC/sshd_config" -D -e &
else
  echo "gpupool: this image has no SSH server (openssh-server): no SSH in this session" >&2
fi
if [ -f "$GPUPOOL_ETC/code-server.yaml" ]; then
  code-server --config "$GPUPOOL_ETC/code-server.yaml" "$HOME" > "$GPUPOOL_RUN/code-server.log" 2>&1 &
fi
# The user'"'"'s own ~/.jupyter still applies; ours adds the token.
export JUPYTER_CONFIG_PATH="$GPUPOOL_ETC/jupyter"
# No Quit button: the session ends from gpupool, and a stopped Jupyter would only restart.
# JupyterLab where the image has it, else the classic notebook. Debian ships the notebook
# module without the `jupyter` front command; both work here.
if python3 -c "import jupyterlab" >/dev/null 2>&1; then
  exec python3 -m jupyterlab --no-browser --ip=0.0.0.0 --port=8888 --ServerApp.quit_button=False \
    --ServerApp.base_url="/s/$GPUPOOL_SESSION/" --ServerApp.root_dir="$HOME"
fi
if command -v jupyter >/dev/null 2>&1; then notebook="jupyter notebook"; else notebook="python3 -m notebook"; fi
exec $notebook --no-browser --ip=0.0.0.0 --port=8888 --NotebookApp.quit_button=False \
  --NotebookApp.base_url="/s/$GPUPOOL_SESSION/" --NotebookApp.notebook_dir="$HOME"'
