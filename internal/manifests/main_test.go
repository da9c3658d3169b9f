package manifests_test

import (
	"flag"
	"os"
	"testing"

	"github.com/pylonlb/pylon/internal/testenv"
)

// env is the API server shared by this package's integration tests; nil
// when the binaries are missing.
var env *testenv.Env

func TestMain(m *testing.M) {
	flag.Parse()
	if fuzzing() {
		// Fuzz workers are processes of their own: an API server each
		// would only slow them down.
		os.Exit(m.Run())
	}
	os.Exit(testenv.Main(m, &env))
}

// fuzzing reports whether this process runs a fuzz target.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}
