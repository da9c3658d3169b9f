#!/usr/bin/env bash
# Builds the Kubernetes binaries Pylon's tests, lab and cluster use from the
# Go module proxy into a git-ignored cache (default .cache/kube/bin), once:
# etcd, and from k8s.io/kubernetes kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy and kubectl. There is no prebuilt
# download on our build machines.
#
# Usage: hack/kube-tools.sh [DEST_DIR]   (prints the directory on stdout)
# A binary that cannot be built stops the script with one line saying which.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
STAGING_VERSION="${STAGING_VERSION:-v0.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.13}"
# RECIPE changes when the way the Kubernetes binaries are built changes, so
# caches made by an older recipe are rebuilt.
RECIPE="r2"

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-${KUBE_TOOLS_DIR:-$root/.cache/kube/bin}}"
work="$root/.cache/kube/src"
mkdir -p "$dest" "$work"

log() { echo "kube-tools: $*" >&2; }
fail() { echo "kube-tools: $*" >&2; exit 1; }

# The k8s.io/* modules k8s.io/kubernetes replaces with ./staging/src/...:
# its go.mod's "=> ./staging" lines.
staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
  cloud-provider cluster-bootstrap code-generator component-base component-helpers
  controller-manager cri-api cri-client cri-streaming csi-translation-lib
  dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
  kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
  pod-security-admission sample-apiserver sample-cli-plugin sample-controller streaming)

kube_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

fresh() { # fresh NAME STAMP: the cached binary was built from STAMP
  [[ -x "$dest/$1" && -f "$dest/$1.version" && "$(cat "$dest/$1.version")" == "$2" ]]
}

build_kube() {
  local stamp="$K8S_VERSION $RECIPE" missing=()
  for c in "${kube_cmds[@]}"; do fresh "$c" "$stamp" || missing+=("$c"); done
  [[ ${#missing[@]} -eq 0 ]] && return
  log "building ${missing[*]} $K8S_VERSION from the Go module proxy (about 10 minutes on 2 cores the first time, once)"
  local mod="$work/kubernetes"
  rm -rf "$mod" && mkdir -p "$mod"
  {
    echo "module pylon.local/kubetools"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    for s in "${staging[@]}"; do echo "replace k8s.io/$s => k8s.io/$s $STAGING_VERSION"; done
  } >"$mod/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in "${missing[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
    printf ')\n'
  } >"$mod/tools.go"
  (cd "$mod" && go mod tidy >&2) || fail "cannot resolve k8s.io/kubernetes $K8S_VERSION from the Go module proxy (go mod tidy failed above)"
  local minor="${K8S_VERSION#v1.}" ldflags=""
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local out="$dest/.tmp-build"
  rm -rf "$out" && mkdir -p "$out"
  for c in "${missing[@]}"; do
    (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$c" "k8s.io/kubernetes/cmd/$c" >&2) ||
      fail "cannot build $c $K8S_VERSION (go build failed above)"
    mv "$out/$c" "$dest/$c"
    echo "$stamp" >"$dest/$c.version"
    log "built $dest/$c"
  done
  rm -rf "$out"
}

build_etcd() {
  local out="$dest/etcd"
  fresh etcd "$ETCD_VERSION" && return
  log "building etcd $ETCD_VERSION from the Go module proxy (about a minute, once)"
  local mod="$work/etcd"
  rm -rf "$mod" && mkdir -p "$mod"
  cat >"$mod/main.go" <<'GO'
// Command etcd runs etcd's server main for Pylon's tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  printf 'module pylon.local/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$mod/go.mod"
  (cd "$mod" && go mod tidy >&2 && CGO_ENABLED=0 go build -o "$out.tmp" . >&2) ||
    fail "cannot build etcd $ETCD_VERSION (go build failed above)"
  mv "$out.tmp" "$out"
  echo "$ETCD_VERSION" >"$out.version"
}

build_etcd
build_kube
echo "$dest"
