package membership

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		in        string
		wantLevel slog.Level
		wantText  string
	}{
		{"[DEBUG] memberlist: Stream connection from=1.2.3.4:5\n", slog.LevelDebug, "Stream connection from=1.2.3.4:5"},
		{"[INFO] memberlist: Suspect c has failed, no acks received\n", slog.LevelDebug, "Suspect c has failed, no acks received"},
		{"[WARN] memberlist: Refuting a suspect message (from: b)\n", slog.LevelWarn, "Refuting a suspect message (from: b)"},
		{"[ERR] memberlist: Failed fallback TCP ping: refused\n", slog.LevelWarn, "Failed fallback TCP ping: refused"},
		{"[ERROR] memberlist: Failed to encrypt local state: x\r\n", slog.LevelWarn, "Failed to encrypt local state: x"},
		{"[ERR] Failed to shutdown transport: x\n", slog.LevelWarn, "Failed to shutdown transport: x"},
		{"no level at all\n", slog.LevelInfo, "no level at all"},
		{"[NOTICE] memberlist: odd", slog.LevelInfo, "[NOTICE] memberlist: odd"},
		{"[", slog.LevelInfo, "["},
		{"", slog.LevelInfo, ""},
	} {
		level, text := parseLogLine([]byte(tc.in))
		if level != tc.wantLevel || text != tc.wantText {
			t.Errorf("parseLogLine(%q) = %v, %q; want %v, %q", tc.in, level, text, tc.wantLevel, tc.wantText)
		}
	}
}

// TestMemberlistLoggerQuietAtInfo: at info level only WARN and ERR lines
// come through, as structured records.
func TestMemberlistLoggerQuietAtInfo(t *testing.T) {
	var buf bytes.Buffer
	l := newMemberlistLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Printf("[DEBUG] memberlist: chatter")
	l.Printf("[INFO] memberlist: Marking c as failed")
	l.Printf("[WARN] memberlist: Refuting a dead message (from: c)")
	out := buf.String()
	if strings.Contains(out, "chatter") || strings.Contains(out, "Marking") {
		t.Errorf("debug/info lines logged at info level:\n%s", out)
	}
	if !strings.Contains(out, `level=WARN msg=memberlist detail="Refuting a dead message (from: c)"`) {
		t.Errorf("warn line missing or malformed:\n%s", out)
	}
}

func FuzzParseLogLine(f *testing.F) {
	f.Add([]byte("[WARN] memberlist: x\n"))
	f.Add([]byte("[]"))
	f.Add([]byte("[ERR]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		level, text := parseLogLine(b)
		if level != slog.LevelDebug && level != slog.LevelInfo && level != slog.LevelWarn {
			t.Fatalf("unexpected level %v", level)
		}
		if len(text) > len(b) {
			t.Fatalf("text %q longer than input %q", text, b)
		}
		if utf8.Valid(b) && !utf8.ValidString(text) {
			t.Fatalf("valid UTF-8 %q gave invalid %q", b, text)
		}
	})
}
