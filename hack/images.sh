#!/usr/bin/env bash
# Builds the container images the lab cluster runs, offline, and saves each
# as an archive that containerd imports (docker save format) into a
# git-ignored cache (default .cache/images):
#
#   pylon.tar    ghcr.io/pylonlb/pylon:dev, from the repository's Dockerfile,
#                on local equivalents of its public bases:
#                  pylonlab/go-builder  busybox + the Go toolchain from the
#                                       Go module proxy + CA certificates
#                  pylonlab/static      passwd/group with nonroot (65532),
#                                       CA certificates, /tmp
#   pause.tar    pylonlab/pause:lab     the pod sandbox image
#   backend.tar  pylonlab/backend:lab   the HTTP backend of test workloads
#
# It also cross-compiles Pylon for arm64 through the same Dockerfile (the
# "binaries" target) as a compile check.
#
# A private Docker engine (Debian's docker.io) is started for the build with
# its own data root (.cache/docker), no bridge and no iptables rules, and
# stopped afterwards; the host's firewall and network are left alone. An
# archive whose inputs did not change is not rebuilt (and no engine starts).
#
# Usage: hack/images.sh [OUT_DIR]   (prints the directory on stdout)
# Any failure stops it with one line saying what could not be built and
# why; the details are in OUT_DIR/build.log.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-${IMAGES_DIR:-$root/.cache/images}}"
cache="$root/.cache/docker"
run="/run/pylon-docker"
sock="$run/docker.sock"
docker=/usr/bin/docker # Debian's client: it speaks BuildKit without the buildx plugin
export DOCKER_HOST="unix://$sock" DOCKER_BUILDKIT=1
mkdir -p "$out"
log="$out/build.log"
: >"$log"

PYLON_IMAGE="${PYLON_IMAGE:-ghcr.io/pylonlb/pylon:dev}"
GO_VERSION="$(go env GOVERSION)" # e.g. go1.26.8
# The bases' tags name the script that made them: a changed recipe rebuilds them.
RECIPE="$(sha256sum "$0" | cut -c1-8)"
BUILDER_IMAGE="pylonlab/go-builder:$GO_VERSION-$RECIPE"
BASE_IMAGE="pylonlab/static:nonroot-$RECIPE"
PAUSE_IMAGE="pylonlab/pause:lab"
BACKEND_IMAGE="pylonlab/backend:lab"

say() { echo "images: $*" >&2; }
fail() {
  echo "images: $*${log:+ (details: $log)}" >&2
  exit 1
}

# stamp FILES...: a hash of the named files' paths and contents.
stamp() { (cd "$root" && sha256sum "$@" | sha256sum | cut -c1-16); }

# fresh NAME STAMP: OUT/NAME.tar was saved from inputs with STAMP.
fresh() { [[ -f "$out/$1.tar" && "$(cat "$out/$1.stamp" 2>/dev/null)" == "$2" ]]; }

engine_pid=""
start_engine() {
  [[ -n "$engine_pid" ]] && return
  command -v dockerd >/dev/null || fail "no Docker engine: dockerd is missing (apt-get install docker.io)"
  [[ -x "$docker" ]] || fail "no Docker client at $docker (apt-get install docker.io)"
  mkdir -p "$cache" "$run"
  if [[ -S "$sock" ]] && "$docker" version >/dev/null 2>&1; then
    return # an engine of an earlier run is still up: use it
  fi
  rm -f "$sock"
  say "starting a private Docker engine (data in $cache)"
  dockerd --data-root "$cache/data" --exec-root "$run/exec" --pidfile "$run/dockerd.pid" \
    -H "unix://$sock" --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
    >>"$out/dockerd.log" 2>&1 &
  engine_pid=$!
  for _ in $(seq 1 150); do
    "$docker" version >/dev/null 2>&1 && return
    kill -0 "$engine_pid" 2>/dev/null || fail "the Docker engine exited at start: $(tail -1 "$out/dockerd.log")"
    sleep 0.2
  done
  fail "the Docker engine did not answer on $sock within 30 s: $(tail -1 "$out/dockerd.log")"
}
stop_engine() {
  [[ -z "$engine_pid" ]] && return
  kill "$engine_pid" 2>/dev/null || true
  wait "$engine_pid" 2>/dev/null || true
}
trap stop_engine EXIT

have_image() { "$docker" image inspect "$1" >/dev/null 2>&1; }

# build_bases builds the offline stand-ins for golang:1.26 and
# gcr.io/distroless/static-debian12:nonroot, once.
build_bases() {
  local ctx="$out/ctx"
  if ! have_image "$BUILDER_IMAGE"; then
    say "building $BUILDER_IMAGE (busybox and $GO_VERSION from the Go module proxy)"
    local tc dir
    tc="golang.org/toolchain@v0.0.1-$GO_VERSION.linux-amd64"
    dir="$(go mod download -json "$tc" 2>>"$log" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$dir" ]] || fail "cannot build $BUILDER_IMAGE: the Go module proxy did not serve $tc"
    [[ -x /bin/busybox ]] || fail "cannot build $BUILDER_IMAGE: /bin/busybox is missing (apt-get install busybox-static)"
    rm -rf "$ctx" && mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/usr/local"
    cp /bin/busybox "$ctx/rootfs/bin/busybox"
    for a in $(/bin/busybox --list); do [[ "$a" == busybox ]] || ln -s busybox "$ctx/rootfs/bin/$a"; done
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
    cp -r "$dir" "$ctx/rootfs/usr/local/go"
    chmod -R u+w "$ctx/rootfs/usr/local/go"
    chmod +x "$ctx/rootfs/usr/local/go/bin/"* "$ctx/rootfs/usr/local/go/pkg/tool/"*/*
    chmod 1777 "$ctx/rootfs/tmp"
    cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/go/bin:/go/bin:/bin GOPATH=/go GOTOOLCHAIN=local HOME=/root
WORKDIR /src
DOCKERFILE
    "$docker" build -t "$BUILDER_IMAGE" "$ctx" >>"$log" 2>&1 || fail "cannot build $BUILDER_IMAGE: docker build failed"
  fi
  if ! have_image "$BASE_IMAGE"; then
    say "building $BASE_IMAGE"
    rm -rf "$ctx" && mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/tmp" "$ctx/rootfs/home/nonroot"
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$ctx/rootfs/etc/group"
    chmod 1777 "$ctx/rootfs/tmp"
    chown 65532:65532 "$ctx/rootfs/home/nonroot"
    printf 'FROM scratch\nCOPY rootfs/ /\nUSER 65532:65532\nWORKDIR /home/nonroot\n' >"$ctx/Dockerfile"
    "$docker" build -t "$BASE_IMAGE" "$ctx" >>"$log" 2>&1 || fail "cannot build $BASE_IMAGE: docker build failed"
  fi
  rm -rf "$ctx"
}

save() { # save NAME IMAGE STAMP
  "$docker" save -o "$out/$1.tar.tmp" "$2" >>"$log" 2>&1 || fail "cannot save $2: docker save failed"
  mv "$out/$1.tar.tmp" "$out/$1.tar"
  echo "$3" >"$out/$1.stamp"
}

build_pylon() {
  local s
  s="$(stamp Dockerfile .dockerignore go.mod go.sum $(cd "$root" && git ls-files -co --exclude-standard api internal controller speaker | grep -v -e '_test\.go$' -e '/testdata/'))"
  s="$s-$GO_VERSION-$RECIPE"
  fresh pylon "$s" && return
  start_engine
  build_bases
  say "building $PYLON_IMAGE from the Dockerfile (first build: a few minutes)"
  "$docker" build --network host --build-arg BUILDER_IMAGE="$BUILDER_IMAGE" --build-arg BASE_IMAGE="$BASE_IMAGE" \
    -t "$PYLON_IMAGE" "$root" >>"$log" 2>&1 || fail "cannot build $PYLON_IMAGE: docker build of the Dockerfile failed"
  say "cross-compiling Pylon for arm64 (Dockerfile target binaries)"
  rm -rf "$out/arm64"
  "$docker" build --network host --platform linux/arm64 --target binaries -o "type=local,dest=$out/arm64" \
    --build-arg BUILDER_IMAGE="$BUILDER_IMAGE" "$root" >>"$log" 2>&1 || fail "cannot cross-compile Pylon for arm64: docker build failed"
  for b in controller speaker; do
    # ELF e_machine (bytes 18-19, little endian): 0xb7 is AArch64.
    [[ "$(od -An -tx1 -j18 -N2 "$out/arm64/$b" | tr -d ' ')" == "b700" ]] || fail "cannot cross-compile Pylon for arm64: $out/arm64/$b is not an arm64 binary"
  done
  save pylon "$PYLON_IMAGE" "$s"
}

# build_small NAME IMAGE: a one-binary image from e2etest/images/NAME.
build_small() {
  local name="$1" image="$2" s ctx="$out/ctx-$1"
  s="$(stamp e2etest/images/"$name"/Dockerfile e2etest/images/"$name"/main.go go.mod)-$GO_VERSION"
  fresh "$name" "$s" && return
  start_engine
  say "building $image"
  rm -rf "$ctx" && mkdir -p "$ctx"
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$ctx/$name" "./e2etest/images/$name") >>"$log" 2>&1 ||
    fail "cannot build $image: go build of e2etest/images/$name failed"
  cp "$root/e2etest/images/$name/Dockerfile" "$ctx/"
  "$docker" build -t "$image" "$ctx" >>"$log" 2>&1 || fail "cannot build $image: docker build failed"
  rm -rf "$ctx"
  save "$name" "$image" "$s"
}

build_small pause "$PAUSE_IMAGE"
build_small backend "$BACKEND_IMAGE"
build_pylon
echo "$out"
