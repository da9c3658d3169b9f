package crddoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeTableIsCurrent fails when README.md's CRD field table does not
// match the CRDs: run `make generate`.
func TestReadmeTableIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	table, err := Table(filepath.Join(root, "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Splice(string(readme), table)
	if err != nil {
		t.Fatal(err)
	}
	if want != string(readme) {
		t.Error("README.md's CRD field table is stale: run `make generate`")
	}
	for _, field := range []string{"`spec.addresses`", "`spec.peerASN`", "`spec.aggregationLength`", "`spec.communities[].value`", "`status.node`"} {
		if !strings.Contains(table, field) {
			t.Errorf("table lacks %s", field)
		}
	}
}
