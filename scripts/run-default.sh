#!/usr/bin/env bash
# `make run`: the main job on an embedded default. Until the server exists this inventories the
# machine's own root filesystem and, when a Docker engine answers, every local image.
set -uo pipefail
moat=${1:-build/moat}

echo "== moat rootfs / (this machine)"
"$moat" rootfs / --scanners none --format table
status=$?

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  images=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' || true)
  if [ -z "$images" ]; then
    echo "== docker engine reachable, no tagged local images"
  fi
  for image in $images; do
    echo "== moat image $image"
    "$moat" image --image-src docker "$image" --scanners none --format table || status=2
  done
else
  echo "== no docker engine reachable at ${DOCKER_HOST:-/var/run/docker.sock}: local images skipped"
fi
exit $status
