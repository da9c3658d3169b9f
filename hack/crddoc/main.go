// Command crddoc refreshes the CRD field table in README.md from
// config/crd/bases.
package main

import (
	"fmt"
	"os"

	"github.com/pylonlb/pylon/internal/crddoc"
)

func main() {
	table, err := crddoc.Table("config/crd/bases")
	if err == nil {
		var doc []byte
		if doc, err = os.ReadFile("README.md"); err == nil {
			var out string
			if out, err = crddoc.Splice(string(doc), table); err == nil {
				err = os.WriteFile("README.md", []byte(out), 0o644)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crddoc:", err)
		os.Exit(1)
	}
}
