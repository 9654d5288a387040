#!/usr/bin/env bash
# Makes Docker usable for the deploy test on a machine without registry access:
#   1. starts dockerd (as root) when no daemon answers;
#   2. provides the image tag node:20-bookworm-slim: the real one when it is already there, else a local stand-in
#      built from a `debootstrap --variant=minbase bookworm` root filesystem plus this machine's Node 20 and npm,
#      with the `node` user (uid 1000) of the official image. The stand-in is cached as a tarball, so later runs
#      only `docker load` it (or find it in the daemon's store).
#      When this machine reaches the npm registry through a TLS-inspecting proxy ($NODE_EXTRA_CA_CERTS set), the
#      stand-in carries that CA bundle and variable too, as a company's base image would; its hash is part of the
#      cache key, so a changed bundle gives a fresh stand-in.
# Needs: docker.io and debootstrap (apt-get install docker.io debootstrap). Cache: $LATHE_DOCKER_CACHE
# (default /var/cache/lathe-deploy). Prints one line per step with its seconds.
set -euo pipefail
CACHE=${LATHE_DOCKER_CACHE:-/var/cache/lathe-deploy}
TAG=node:20-bookworm-slim
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
step() { echo "docker-standin: $*"; }
t0=$(date +%s)

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { step "dockerd is not installed (apt-get install docker.io)"; exit 3; }
  [ "$(id -u)" = 0 ] || { step "dockerd must be started as root"; exit 3; }
  step "starting dockerd (log: $CACHE/dockerd.log)"
  mkdir -p "$CACHE"
  nohup dockerd >"$CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { step "dockerd did not start; see $CACHE/dockerd.log"; tail -5 "$CACHE/dockerd.log"; exit 3; }
fi
step "daemon up ($(( $(date +%s) - t0 )) s)"

NODE_VERSION=$(node -v)
CA=${NODE_EXTRA_CA_CERTS:-}
[ -n "$CA" ] && [ -f "$CA" ] || CA=
KEY="$NODE_VERSION-$( [ -n "$CA" ] && sha256sum "$CA" | cut -c1-12 || echo noca)"
if docker image inspect "$TAG" >/dev/null 2>&1; then
  have=$(docker image inspect -f '{{index .Config.Labels "lathe.standin"}}' "$TAG")
  if [ -z "$have" ]; then step "$TAG present (official image)"; exit 0; fi
  if [ "$have" = "$KEY" ]; then step "$TAG present (lathe stand-in $KEY)"; exit 0; fi
  step "stand-in $have is stale (now $KEY): rebuilding"
  docker rmi -f "$TAG" >/dev/null
fi
case "$NODE_VERSION" in v20.*) ;; *) step "this machine's Node is $NODE_VERSION; the stand-in needs Node 20"; exit 3 ;; esac
ARCHIVE="$CACHE/node20-bookworm-slim-standin-$KEY.tar"
if [ -f "$ARCHIVE" ]; then
  docker load -q -i "$ARCHIVE" >/dev/null
  step "stand-in loaded from $ARCHIVE ($(( $(date +%s) - t0 )) s)"
  exit 0
fi

command -v debootstrap >/dev/null || { step "debootstrap is not installed (apt-get install debootstrap)"; exit 3; }
mkdir -p "$CACHE"
ROOTFS="$CACHE/rootfs"
if [ ! -x "$ROOTFS/bin/sh" ]; then
  rm -rf "$ROOTFS.tmp"
  step "debootstrap --variant=minbase bookworm (a few minutes, once)"
  debootstrap --variant=minbase bookworm "$ROOTFS.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; exit 3; }
  mv "$ROOTFS.tmp" "$ROOTFS"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -a "$ROOTFS" "$WORK/root"
R="$WORK/root"
# Node and npm where the official image has them.
install -m 755 "$(readlink -f "$(command -v node)")" "$R/usr/local/bin/node"
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$R/usr/local/lib/node_modules"
cp -a "$NPM_DIR" "$R/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$R/usr/local/bin/npx"
# The official image's user: node, uid/gid 1000, home /home/node.
echo 'node:x:1000:' >>"$R/etc/group"
echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$R/etc/passwd"
echo 'node:*:19000:0:99999:7:::' >>"$R/etc/shadow"
mkdir -p "$R/home/node" && chown 1000:1000 "$R/home/node"
CHANGES=()
if [ -n "$CA" ]; then
  mkdir -p "$R/etc/ssl/certs" && cp "$CA" "$R/etc/ssl/certs/lathe-extra-ca.crt"
  CHANGES+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/lathe-extra-ca.crt')
fi
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb "$R"/usr/share/doc/* "$R"/usr/share/man/*
tar -C "$R" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${NODE_VERSION#v}" \
  --change "LABEL lathe.standin=$KEY" "${CHANGES[@]}" \
  --change 'CMD ["node"]' - "$TAG" >/dev/null
docker save -o "$ARCHIVE.tmp" "$TAG" && mv "$ARCHIVE.tmp" "$ARCHIVE"
step "stand-in $TAG built from debootstrap + Node $NODE_VERSION, cached in $ARCHIVE ($(( $(date +%s) - t0 )) s)"
