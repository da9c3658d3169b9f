package bgp

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// gobgpHandler adapts gobgp's logging to ours. gobgp logs every peer
// transition and configuration step at Info, so its Info records become
// Debug; Warn and Error pass through. All records get component=gobgp.
// Setting mute drops everything (used while stopping, when gobgp reports
// its own second StopBgp as an error).
type gobgpHandler struct {
	next slog.Handler
	mute *atomic.Bool
}

func newGobgpLogger(base *slog.Logger) (*slog.Logger, *atomic.Bool) {
	mute := new(atomic.Bool)
	h := &gobgpHandler{next: base.Handler().WithAttrs([]slog.Attr{slog.String("component", "gobgp")}), mute: mute}
	return slog.New(h), mute
}

func demote(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

// Enabled reports whether a record at level l, once demoted, would be kept.
func (h *gobgpHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return !h.mute.Load() && h.next.Enabled(ctx, demote(l))
}

// Handle passes r on at its demoted level.
func (h *gobgpHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.mute.Load() {
		return nil
	}
	r.Level = demote(r.Level)
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a handler adding attrs.
func (h *gobgpHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &gobgpHandler{next: h.next.WithAttrs(attrs), mute: h.mute}
}

// WithGroup returns a handler nesting later attributes under name.
func (h *gobgpHandler) WithGroup(name string) slog.Handler {
	return &gobgpHandler{next: h.next.WithGroup(name), mute: h.mute}
}
