package bench

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStageBinariesCopiesExecutables(t *testing.T) {
	src := t.TempDir()
	for _, name := range PylonBinaries {
		if err := os.WriteFile(filepath.Join(src, name), []byte("#!/bin/true\n"+name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := StageBinaries(src)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, name := range PylonBinaries {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(dir, name))
		if string(got) != "#!/bin/true\n"+name || st.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: content %q, mode %v", name, got, st.Mode())
		}
	}
	if _, err := StageBinaries(t.TempDir()); err == nil {
		t.Error("staging from a directory without binaries succeeded")
	}
}
