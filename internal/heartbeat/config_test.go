package heartbeat

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	good := func() Config {
		c := DefaultConfig()
		c.Name, c.Key = "node-a", testKey
		return c
	}
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // in the error; "" for none
	}{
		{"defaults", func(*Config) {}, ""},
		{"insecure", func(c *Config) { c.Key, c.Insecure = nil, true }, ""},
		{"no name", func(c *Config) { c.Name = "" }, "node name"},
		{"long name", func(c *Config) { c.Name = strings.Repeat("n", MaxNameLen+1) }, "node name"},
		{"no address", func(c *Config) { c.ListenAddr = netip.AddrPort{} }, "listen address"},
		{"timeout below two intervals", func(c *Config) { c.Timeout = c.Interval }, "timeout"},
		{"no key", func(c *Config) { c.Key = nil }, "key is 0 bytes"},
		{"key and insecure", func(c *Config) { c.Insecure = true }, "Insecure"},
		{"short TTL", func(c *Config) { c.VerdictTTL = time.Millisecond }, "verdict TTL"},
		{"negative grace", func(c *Config) { c.WatchGrace = -1 }, "grace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.modify(&c)
			_, err := New(c)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New: %v; want an ErrInvalidConfig about %q", err, tt.want)
			}
		})
	}
}

func TestZeroValuesTakeDefaults(t *testing.T) {
	c := Config{Name: "a", ListenAddr: netip.MustParseAddrPort("0.0.0.0:0"), Insecure: true}.withDefaults()
	d := DefaultConfig()
	if c.Interval != d.Interval || c.Timeout != d.Timeout || c.Watchers != d.Watchers || c.Clock == nil || c.Logger == nil || c.Listen == nil {
		t.Errorf("withDefaults left zero values: %+v", c)
	}
}

func TestRunOnceAndListenError(t *testing.T) {
	c := DefaultConfig()
	c.Name, c.Insecure = "a", true
	boom := errors.New("boom")
	c.Listen = func(netip.AddrPort) (Transport, error) { return nil, boom }
	d, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); !errors.Is(err, boom) {
		t.Errorf("Run = %v, want the listen error", err)
	}
	if err := d.Run(context.Background()); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("second Run = %v, want ErrAlreadyStarted", err)
	}
}
