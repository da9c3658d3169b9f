package manifests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAlertRulesUseRealMetrics fails when an alert refers to a metric no
// Pylon code defines (a renamed metric would silently break the alert).
func TestAlertRulesUseRealMetrics(t *testing.T) {
	root := filepath.Join("..", "..")
	rules, err := os.ReadFile(filepath.Join(root, "config", "prometheus", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(rules)
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode rules: %v (%d objects)", err, len(objs))
	}
	defined := map[string]bool{}
	name := regexp.MustCompile(`"(pylon_[a-z0-9_]+)"`)
	err = filepath.WalkDir(filepath.Join(root, "internal"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		for _, m := range name.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`pylon_[a-z0-9_]+`).FindAllString(string(rules), -1)
	if len(used) == 0 {
		t.Fatal("no metric found in the rules")
	}
	for _, m := range used {
		if !defined[m] {
			t.Errorf("alert rule uses metric %s, which no code defines", m)
		}
	}
}
