package cli

import (
	"github.com/spf13/cobra"
)

// The commands still to be written: each will get its own file and
// leave this list.
func init() {
	for _, c := range []struct{ use, short string }{
		{"migrate metallb [-f FILE...]", "Print the Pylon objects equivalent to MetalLB's configuration"},
	} {
		commands = append(commands, func(*Options) *cobra.Command {
			return &cobra.Command{
				Use:   c.use,
				Short: c.short,
				RunE: func(*cobra.Command, []string) error {
					return &ExitError{Code: ExitInvalid, Msg: "not built yet"}
				},
			}
		})
	}
}
