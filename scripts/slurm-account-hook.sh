#!/bin/bash
# gpupool's account hook for a Slurm cluster whose accounts are local to each machine (a
# one-machine cluster, or nodes that share /etc/passwd by configuration management):
#
#   slurm-account-hook.sh USER UID HOME
#
# makes the Unix account USER with uid and primary group UID (the same every time for the
# same gpupool user), a login shell, and its home HOME (mode 0700) where jobs find it.
# gpupool runs it (`gpupool server --slurm-account-hook`) when a session's user has no account
# yet. A site with LDAP or sssd runs its own program instead, taking the same three arguments.
set -euo pipefail

user=${1:?usage: slurm-account-hook.sh USER UID HOME}
uid=${2:?usage: slurm-account-hook.sh USER UID HOME}
home=${3:?usage: slurm-account-hook.sh USER UID HOME}
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || { echo "not an account name: $user" >&2; exit 2; }
if ! [[ "$uid" =~ ^[0-9]{4,10}$ ]]; then
  echo "not a user's uid: $uid" >&2
  exit 2
fi
[[ "$home" == /* ]] || { echo "not an absolute home: $home" >&2; exit 2; }

if ! getent passwd "$user" >/dev/null; then
  if getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; then
    echo "uid $uid is taken on $(hostname): choose another --slurm-uid-base" >&2
    exit 1
  fi
  groupadd --gid "$uid" "$user"
  useradd --uid "$uid" --gid "$uid" --no-create-home --home-dir "$home" --shell /bin/bash "$user"
fi
# The home: made, never taken over (a path that exists as something else is left alone).
if [ ! -e "$home" ]; then
  install -d -m 0700 -o "$uid" -g "$uid" "$home"
fi
