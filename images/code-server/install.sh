#!/bin/sh
# Installs code-server into $1 (a folder of its own) inside a Debian or Ubuntu image with
# nodejs and npm, a C++ compiler, python3, libkrb5-dev and ripgrep. Run by build.sh in the
# first stage of its Dockerfile.
#
# code-server's own install script (npm's postinstall) is not used: it runs a nested
# `npm install` that a global install misdirects, and VS Code's ripgrep module downloads its
# binary from outside the npm registry at install. So the packages are installed without
# their scripts, the native modules are built from source here, and ripgrep is the
# distribution's.
set -eu
prefix="$1"
version="${CODE_SERVER_VERSION:-4.89.1}"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != 18 ]; then
  echo "code-server $version needs Node.js 18; this image's distribution has $node_major (Debian 12 and Ubuntu 24.04 have 18)" >&2
  exit 1
fi
mkdir -p "$prefix"
cd "$prefix"
npm_install() { npm install --omit=dev --legacy-peer-deps --ignore-scripts --no-audit --no-fund "$@"; }

npm_install "code-server@$version"
app="$prefix/node_modules/code-server"
npm rebuild argon2

cd "$app/lib/vscode"
npm_install
# kerberos's pinned node-addon-api predates Node 18.20's stricter finalizer type.
CXXFLAGS=-fpermissive npm rebuild node-pty @vscode/spdlog native-watchdog kerberos
# What code-server's postinstall does besides installing.
ln -sfn node_modules node_modules.asar
ln -sfn code-server-linux.sh bin/remote-cli/code-server
ln -sfn browser-linux.sh bin/helpers/browser.sh
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sfn "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg

cd extensions
npm_install
node ./postinstall.mjs >/dev/null
"$prefix/node_modules/.bin/code-server" --version
