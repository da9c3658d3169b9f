// Package manifests renders and checks Pylon's deployable manifests: the
// kustomize bases under config/, the all-in-one config/manifests/pylon.yaml
// and the Helm chart under charts/pylon.
//
// Rendering uses the kustomize and helm binaries that hack/tools.sh builds
// into .cache/tools/bin (or the paths in $KUSTOMIZE and $HELM); the project
// never links them. Generated lists every file that `make generate`
// derives, so hack/manifests writes them and a test compares them with the
// checked-in copies. Decode turns rendered multi-document YAML into
// unstructured objects for tests and the lab.
package manifests
