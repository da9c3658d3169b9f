package cli

import (
	"github.com/spf13/cobra"
)

// The commands still to be written: each will get its own file and
// leave this list.
func init() {
	for _, c := range []struct{ use, short string }{
		{"status [SERVICE]", "Show each LoadBalancer Service's addresses, pool, mode and who announces them"},
		{"explain SERVICE", "Explain why a Service has no address or is not announced"},
		{"who-has ADDRESS", "Show the Service holding an address and who announces it"},
		{"validate -f FILE...", "Dry-run a configuration change against the live cluster"},
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
