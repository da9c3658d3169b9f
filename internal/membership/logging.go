package membership

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// newMemberlistLogger returns a *log.Logger (what memberlist takes) whose
// lines go to l as structured records with the constant message
// "memberlist" and the line in "detail".
func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(logWriter{log: l}, "", 0)
}

// logWriter adapts memberlist's line-oriented logger to slog. log.Logger
// calls Write once per line and serialises the calls.
type logWriter struct {
	log *slog.Logger
}

// Write logs one memberlist line; it never fails.
func (w logWriter) Write(p []byte) (int, error) {
	level, text := parseLogLine(p)
	if w.log.Enabled(context.Background(), level) {
		w.log.Log(context.Background(), level, "memberlist", "detail", text)
	}
	return len(p), nil
}

// parseLogLine splits a memberlist line such as
// "[WARN] memberlist: Refuting a suspect message (from: b)" into a slog
// level and the text after the level and the "memberlist: " prefix.
// memberlist's INFO lines (suspicions, deaths, joins) go to debug: the
// speaker logs the membership changes that matter. ERR lines go to warn:
// most are about unreachable peers, which failure detection handles.
func parseLogLine(p []byte) (slog.Level, string) {
	line := bytes.TrimRight(p, "\r\n")
	level := slog.LevelInfo
	if rest, ok := bytes.CutPrefix(line, []byte("[")); ok {
		if tag, after, ok := bytes.Cut(rest, []byte("]")); ok {
			if l, known := levelOf(string(tag)); known {
				level, line = l, bytes.TrimLeft(after, " ")
			}
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	return level, string(line)
}

// levelOf maps memberlist's level tags to slog levels.
func levelOf(tag string) (slog.Level, bool) {
	switch tag {
	case "TRACE", "DEBUG", "INFO":
		return slog.LevelDebug, true
	case "WARN", "ERR", "ERROR":
		return slog.LevelWarn, true
	}
	return 0, false
}
