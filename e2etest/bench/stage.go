package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// PylonBinaries are the binaries labs run from the Pylon binary directory.
var PylonBinaries = []string{"controller", "speaker"}

// StageBinaries copies Pylon's binaries from dir into a new temporary
// directory, written with write(2), and returns it; remove it when done.
//
// Measured memory depends on how a binary got into the page cache: right
// after the Go linker has written it (through mmap), a speaker starts with
// ~4.5 MiB more file-backed RSS than the same file written with write(2),
// read back or evicted (35–36.6 vs 40–41.3 MiB at idle). A container runtime
// writes the binary with write(2) when it unpacks the image, so benchmarks
// run copies: the figures then do not depend on whether `make build` just
// relinked a binary.
func StageBinaries(dir string) (string, error) {
	out, err := os.MkdirTemp("", "pylon-bench-bin-")
	if err != nil {
		return "", fmt.Errorf("stage binaries: %w", err)
	}
	for _, name := range PylonBinaries {
		if err := copyFile(filepath.Join(dir, name), filepath.Join(out, name)); err != nil {
			_ = os.RemoveAll(out)
			return "", fmt.Errorf("stage binaries: %w", err)
		}
	}
	return out, nil
}

// copyFile copies src to a new executable file dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
