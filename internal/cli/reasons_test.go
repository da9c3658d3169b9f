package cli

import (
	"testing"

	"github.com/pylonlb/pylon/internal/speaker"
)

// TestEventReasonsAreTheSpeakers: the plugin reads the speakers' events
// by reason without linking the speaker.
func TestEventReasonsAreTheSpeakers(t *testing.T) {
	for got, want := range map[string]string{
		reasonL2Announced:  speaker.ReasonL2Announced,
		reasonL2Skipped:    speaker.ReasonL2Skipped,
		reasonBGPAnnounced: speaker.ReasonBGPAnnounced,
		reasonBGPWithdrawn: speaker.ReasonBGPWithdrawn,
	} {
		if got != want {
			t.Errorf("reason %q, the speaker writes %q", got, want)
		}
	}
}
