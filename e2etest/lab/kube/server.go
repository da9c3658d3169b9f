package kube

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
)

// Defaults for ServerOptions.
var (
	DefaultPort         = 6443
	DefaultServiceCIDRs = []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("fd00:96::/112")}
)

// AdminUser is the name the admin token authenticates as (group system:masters).
const AdminUser = "lab-admin"

// ServerOptions says where and how to run the control plane.
type ServerOptions struct {
	// NS is the namespace etcd and kube-apiserver run in.
	NS netns.NS
	// Dir receives certificates, the token file, etcd's data and the logs.
	Dir string
	// BinDir holds the etcd and kube-apiserver binaries.
	BinDir string
	// AdvertiseAddr is the address the API server advertises (its LAN address).
	AdvertiseAddr netip.Addr
	// ServingIPs are further addresses clients use (e.g. the root link's);
	// the certificate also covers AdvertiseAddr, loopback and the first
	// service IP of each range.
	ServingIPs []netip.Addr
	// Port is the secure port (DefaultPort when 0).
	Port int
	// ServiceCIDRs are the service IP ranges (DefaultServiceCIDRs when empty).
	ServiceCIDRs []netip.Prefix
	// EtcdUnsafeNoFsync trades durability for write speed.
	EtcdUnsafeNoFsync bool
	// ExtraAPIServerArgs are appended to kube-apiserver's command line.
	ExtraAPIServerArgs []string
	// AuthorizationMode is kube-apiserver's --authorization-mode (default
	// "RBAC"; a cluster with kubelets uses "Node,RBAC").
	AuthorizationMode string
	// Users are further identities authenticated by bearer token (a
	// cluster's kubelets, kube-proxy, controller manager, scheduler); see
	// [Server.Token].
	Users []User
}

// User is an identity of the token file: a name and its groups.
type User struct {
	Name   string
	Groups []string
}

// Server is a running etcd and kube-apiserver pair.
type Server struct {
	opts       ServerOptions
	pki        *PKI
	adminToken string
	tokens     map[string]string // by user name, for opts.Users
	etcd       *proc.Process
	apiserver  *proc.Process
}

// StartServer writes the control plane's files, starts etcd and then
// kube-apiserver in opts.NS, and waits until /readyz answers ok.
func StartServer(ctx context.Context, opts ServerOptions) (s *Server, err error) {
	opts = withDefaults(opts)
	s = &Server{opts: opts}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop(context.WithoutCancel(ctx)))
		}
	}()
	if err := s.writeFiles(time.Now()); err != nil {
		return s, err
	}
	if s.etcd, err = proc.Start(s.etcdSpec()); err != nil {
		return s, err
	}
	if s.apiserver, err = proc.Start(s.apiserverSpec()); err != nil {
		return s, err
	}
	return s, s.WaitReady(ctx)
}

func withDefaults(o ServerOptions) ServerOptions {
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if len(o.ServiceCIDRs) == 0 {
		o.ServiceCIDRs = DefaultServiceCIDRs
	}
	if o.AuthorizationMode == "" {
		o.AuthorizationMode = "RBAC"
	}
	return o
}

func (s *Server) path(name string) string { return filepath.Join(s.opts.Dir, name) }

func (s *Server) writeFiles(now time.Time) error {
	ips := append([]netip.Addr{s.opts.AdvertiseAddr, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}, s.opts.ServingIPs...)
	for _, c := range s.opts.ServiceCIDRs {
		ips = append(ips, c.Masked().Addr().Next())
	}
	dns := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	pki, err := NewPKI(now, ips, dns)
	if err != nil {
		return err
	}
	s.pki = pki
	s.adminToken = newToken()
	tokens := fmt.Appendf(nil, "%s,%s,%s,\"system:masters\"\n", s.adminToken, AdminUser, AdminUser)
	s.tokens = map[string]string{}
	for _, u := range s.opts.Users {
		s.tokens[u.Name] = newToken()
		tokens = fmt.Appendf(tokens, "%s,%s,%s,\"%s\"\n", s.tokens[u.Name], u.Name, u.Name, strings.Join(u.Groups, ","))
	}
	files := map[string][]byte{
		"ca.crt":             pki.CACert,
		"server.crt":         pki.ServingCert,
		"server.key":         pki.ServingKey,
		"sa.key":             pki.SAKey,
		"kubelet-client.crt": pki.KubeletClientCert,
		"kubelet-client.key": pki.KubeletClientKey,
		"tokens.csv":         tokens,
	}
	if err := os.MkdirAll(s.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("write control plane files: %w", err)
	}
	for name, b := range files {
		if err := os.WriteFile(s.path(name), b, 0o600); err != nil {
			return fmt.Errorf("write control plane files: %w", err)
		}
	}
	return nil
}

func newToken() string {
	tok := make([]byte, 24)
	rand.Read(tok)
	return hex.EncodeToString(tok)
}

func (s *Server) etcdSpec() proc.Spec {
	url := "http://127.0.0.1:2379"
	peer := "http://127.0.0.1:2380"
	args := []string{
		"--name=lab", "--data-dir=" + s.path("etcd"),
		"--listen-client-urls=" + url, "--advertise-client-urls=" + url,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=lab=" + peer, "--log-level=warn",
	}
	if s.opts.EtcdUnsafeNoFsync {
		args = append(args, "--unsafe-no-fsync")
	}
	return proc.Spec{Name: "etcd", NS: s.opts.NS, Path: filepath.Join(s.opts.BinDir, "etcd"), Args: args,
		LogPath: s.path("etcd.log")}
}

func (s *Server) apiserverSpec() proc.Spec {
	cidrs := make([]string, len(s.opts.ServiceCIDRs))
	for i, c := range s.opts.ServiceCIDRs {
		cidrs[i] = c.String()
	}
	args := []string{
		"--etcd-servers=http://127.0.0.1:2379",
		"--secure-port=" + strconv.Itoa(s.opts.Port),
		"--bind-address=::",
		"--advertise-address=" + s.opts.AdvertiseAddr.String(),
		"--cert-dir=" + s.path("certs"),
		"--tls-cert-file=" + s.path("server.crt"),
		"--tls-private-key-file=" + s.path("server.key"),
		"--token-auth-file=" + s.path("tokens.csv"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + s.path("sa.key"),
		"--service-account-signing-key-file=" + s.path("sa.key"),
		"--authorization-mode=" + s.opts.AuthorizationMode,
		"--service-cluster-ip-range=" + strings.Join(cidrs, ","),
		"--profiling=false",
		"--kubelet-client-certificate=" + s.path("kubelet-client.crt"),
		"--kubelet-client-key=" + s.path("kubelet-client.key"),
	}
	return proc.Spec{Name: "kube-apiserver", NS: s.opts.NS, Path: filepath.Join(s.opts.BinDir, "kube-apiserver"),
		Args: append(args, s.opts.ExtraAPIServerArgs...), LogPath: s.path("kube-apiserver.log")}
}

// WaitReady polls /readyz from inside the server's namespace until it
// answers 200, a process exits or ctx ends.
func (s *Server) WaitReady(ctx context.Context) error {
	client := s.httpClient()
	url := fmt.Sprintf("https://127.0.0.1:%d/readyz", s.opts.Port)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = probeReady(ctx, client, url); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for kube-apiserver: %w (last: %v)", ctx.Err(), last)
		case <-s.etcd.Done():
			return fmt.Errorf("wait for kube-apiserver: etcd exited: %s", proc.Tail(s.etcd.LogPath(), 10))
		case <-s.apiserver.Done():
			return fmt.Errorf("wait for kube-apiserver: it exited: %s", proc.Tail(s.apiserver.LogPath(), 10))
		case <-tick.C:
		}
	}
}

func probeReady(ctx context.Context, client *http.Client, url string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s: %s", resp.Status, body)
	}
	return nil
}

// httpClient trusts the lab CA and dials from inside the server's namespace.
func (s *Server) httpClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.pki.CACert)
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DialContext:       s.opts.NS.DialContext,
		DisableKeepAlives: true,
	}}
}

// Stop stops kube-apiserver, then etcd, gracefully (SIGTERM; about a
// second). Safe on a partly started server.
func (s *Server) Stop(ctx context.Context) error {
	var errs []error
	for _, p := range []*proc.Process{s.apiserver, s.etcd} {
		if p != nil {
			errs = append(errs, p.Stop(ctx, 5*time.Second))
		}
	}
	return errors.Join(errs...)
}

// Kill kills kube-apiserver and etcd at once: for a throw-away cluster
// whose data nobody will read again. Safe on a partly started server.
func (s *Server) Kill(ctx context.Context) error {
	var errs []error
	for _, p := range []*proc.Process{s.apiserver, s.etcd} {
		if p != nil {
			errs = append(errs, p.Kill(ctx))
		}
	}
	return errors.Join(errs...)
}

// URL returns the API server's URL at addr.
func (s *Server) URL(addr netip.Addr) string {
	return "https://" + net.JoinHostPort(addr.String(), strconv.Itoa(s.opts.Port))
}

// CACert returns the PEM CA certificate clients must trust.
func (s *Server) CACert() []byte { return s.pki.CACert }

// CAFile returns the path of the CA certificate file.
func (s *Server) CAFile() string { return s.path("ca.crt") }

// AdminToken returns the bearer token of the cluster admin (system:masters).
func (s *Server) AdminToken() string { return s.adminToken }

// Token returns the bearer token of one of ServerOptions.Users ("" for an
// unknown name).
func (s *Server) Token(user string) string { return s.tokens[user] }

// SAKeyFile returns the path of the ServiceAccount signing key (the
// controller manager signs legacy tokens with it).
func (s *Server) SAKeyFile() string { return s.path("sa.key") }

// Options returns what the server was started with.
func (s *Server) Options() ServerOptions { return s.opts }

// Processes returns etcd and kube-apiserver (for reports and leak checks).
func (s *Server) Processes() []*proc.Process { return []*proc.Process{s.etcd, s.apiserver} }
