#!/bin/sh
# A session container's init, run by the agent as `sh -c` in every session image (the image
# needs no gpupool files). It starts as root with only CHOWN, SETUID, SETGID, DAC_OVERRIDE
# and FOWNER: adds the user entry, writes ~/.ssh/authorized_keys and a private sshd_config,
# then drops to the user with no capabilities left and runs sshd and Jupyter as the user.
# Inputs (environment): GPUPOOL_USER, GPUPOOL_UID, GPUPOOL_SESSION, GPUPOOL_TOKEN,
# GPUPOOL_AUTHORIZED_KEYS, NVIDIA_VISIBLE_DEVICES.
set -eu
user="$GPUPOOL_USER"; uid="$GPUPOOL_UID"
home="/home/$user"; run=/run/gpupool
shell=/bin/bash; [ -x "$shell" ] || shell=/bin/sh
# The container may be restarted: add only what is missing.
grep -q "^$user:" /etc/passwd || echo "$user:x:$uid:$uid:gpupool user:$home:$shell" >> /etc/passwd
grep -q "^$user:" /etc/group || echo "$user:x:$uid:" >> /etc/group
mkdir -p "$home/.ssh" "$run" /run/sshd
chown "$uid:$uid" "$home" "$home/.ssh" "$run"
chmod 0700 "$home/.ssh" "$run"
printf '%s\n' "$GPUPOOL_AUTHORIZED_KEYS" > "$home/.ssh/authorized_keys"
chown "$uid:$uid" "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"
cat > "$run/sshd_config" <<EOF
Port 2222
HostKey $run/ssh_host_ed25519_key
PidFile $run/sshd.pid
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PubkeyAuthentication yes
AuthenticationMethods publickey
AllowUsers $user
AuthorizedKeysFile .ssh/authorized_keys
PermitUserEnvironment no
X11Forwarding no
SetEnv NVIDIA_VISIBLE_DEVICES=$NVIDIA_VISIBLE_DEVICES
Subsystem sftp internal-sftp
EOF
chown "$uid:$uid" "$run/sshd_config"
export GPUPOOL_RUN="$run" GPUPOOL_HOME="$home"
unset GPUPOOL_AUTHORIZED_KEYS
# The part below runs as the user: single-quoted so that it expands there, not here.
# shellcheck disable=SC2016
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all \
  env HOME="$home" USER="$user" LOGNAME="$user" SHELL="$shell" /bin/sh -c '
set -eu
cd "$HOME"
[ -f "$GPUPOOL_RUN/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$GPUPOOL_RUN/ssh_host_ed25519_key"
/usr/sbin/sshd -f "$GPUPOOL_RUN/sshd_config" -D -e &
token="$GPUPOOL_TOKEN"; unset GPUPOOL_TOKEN
# Debian ships the notebook module without the `jupyter` front command; both work here.
if command -v jupyter >/dev/null 2>&1; then notebook="jupyter notebook"; else notebook="python3 -m notebook"; fi
exec $notebook --no-browser --ip=0.0.0.0 --port=8888 \
  --NotebookApp.base_url="/s/$GPUPOOL_SESSION/" --NotebookApp.token="$token" \
  --NotebookApp.notebook_dir="$HOME"'
