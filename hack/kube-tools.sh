#!/usr/bin/env bash
# Builds a real kube-apiserver and etcd from the Go module proxy into a
# git-ignored cache (default .cache/kube/bin), once. There is no prebuilt
# download on our build machines, so integration tests and the lab use these.
#
# Usage: hack/kube-tools.sh [DEST_DIR]   (prints the directory on stdout)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
STAGING_VERSION="${STAGING_VERSION:-v0.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.13}"

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-${KUBE_TOOLS_DIR:-$root/.cache/kube/bin}}"
work="$root/.cache/kube/src"
mkdir -p "$dest" "$work"

log() { echo "kube-tools: $*" >&2; }

staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
  cloud-provider cluster-bootstrap code-generator component-base component-helpers
  controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
  endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
  kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
  sample-apiserver sample-cli-plugin sample-controller streaming)

build_apiserver() {
  local out="$dest/kube-apiserver"
  if [[ -x "$out" && -f "$out.version" && "$(cat "$out.version")" == "$K8S_VERSION" ]]; then
    return
  fi
  log "building kube-apiserver $K8S_VERSION from the Go module proxy (about 8 minutes on 2 cores, once)"
  local mod="$work/apiserver"
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
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  (cd "$mod" && go mod tidy >&2 && CGO_ENABLED=0 go build -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2)
  mv "$out.tmp" "$out"
  echo "$K8S_VERSION" >"$out.version"
}

build_etcd() {
  local out="$dest/etcd"
  if [[ -x "$out" && -f "$out.version" && "$(cat "$out.version")" == "$ETCD_VERSION" ]]; then
    return
  fi
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
  (cd "$mod" && go mod tidy >&2 && CGO_ENABLED=0 go build -o "$out.tmp" . >&2)
  mv "$out.tmp" "$out"
  echo "$ETCD_VERSION" >"$out.version"
}

build_etcd
build_apiserver
echo "$dest"
