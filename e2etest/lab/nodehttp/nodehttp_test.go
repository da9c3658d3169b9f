package nodehttp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler("node2").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/anything", nil))
	if rec.Body.String() != "node2\n" || rec.Header().Get(NodeHeader) != "node2" {
		t.Errorf("body %q header %q", rec.Body.String(), rec.Header().Get(NodeHeader))
	}
}

func TestServeStopsWithContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, "node1") }()
	resp, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "node1\n" {
		t.Errorf("body %q", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}

func TestMainRejectsMissingName(t *testing.T) {
	if code := Main([]string{"--listen", "127.0.0.1:0"}); code != 2 {
		t.Errorf("Main without --name = %d, want 2", code)
	}
}
