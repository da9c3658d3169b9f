#!/usr/bin/env bash
# Builds the helper binaries Pylon's manifests need (kustomize, helm) from
# the Go module proxy into a git-ignored cache (default .cache/tools/bin),
# once per version. Each tool gets its own throwaway module under
# .cache/tools/src so its dependencies never touch Pylon's go.mod.
#
# Usage: hack/tools.sh [DEST_DIR]   (prints the directory on stdout)
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.2}"
HELM_VERSION="${HELM_VERSION:-v4.3.1}"

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-${TOOLS_DIR:-$root/.cache/tools/bin}}"
work="$root/.cache/tools/src"
mkdir -p "$dest" "$work"

log() { echo "tools: $*" >&2; }

# build NAME MODULE VERSION PACKAGE: builds PACKAGE of MODULE@VERSION into
# $dest/NAME unless that version is already there.
build() {
  local name="$1" module="$2" version="$3" pkg="$4"
  local out="$dest/$name"
  if [[ -x "$out" && -f "$out.version" && "$(cat "$out.version")" == "$version" ]]; then
    log "$name $version is cached in $dest"
    return
  fi
  log "building $name $version from the Go module proxy (a minute or two, once)"
  local mod="$work/$name"
  rm -rf "$mod" && mkdir -p "$mod"
  printf 'module pylon.local/tools/%s\n\ngo 1.26\n\nrequire %s %s\n' "$name" "$module" "$version" >"$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$mod/tools.go"
  (cd "$mod" && go mod tidy >&2 && CGO_ENABLED=0 go build -trimpath -o "$out.tmp" "$pkg" >&2)
  mv "$out.tmp" "$out"
  echo "$version" >"$out.version"
  log "built $out"
}

build kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5
build helm helm.sh/helm/v4 "$HELM_VERSION" helm.sh/helm/v4/cmd/helm
echo "$dest"
