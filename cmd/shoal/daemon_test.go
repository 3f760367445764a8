package main

import (
	"testing"

	"github.com/shoal-project/shoal/cli"
	"github.com/shoal-project/shoal/node"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDaemonTLSFlags: the root's TLS flags mean, for the daemon, what they
// mean for dockerd: --tlsverify (given at all) turns TLS on; --tls alone
// also requires client certificates; --tlsverify=false serves TLS without
// them; --tls=false is the explicit choice of plain HTTP; $SHOAL_TLS_VERIFY,
// a client setting, turns nothing on.
func TestDaemonTLSFlags(t *testing.T) {
	t.Setenv("SHOAL_TLS_VERIFY", "1")
	t.Setenv("SHOAL_CERT_PATH", "/certs")
	files := node.APITLS{CAFile: "/certs/ca.pem", CertFile: "/certs/cert.pem", KeyFile: "/certs/key.pem"}
	with := func(tls, verify, explicit bool) node.APITLS {
		o := files
		o.TLS, o.Verify, o.Explicit = tls, verify, explicit
		return o
	}
	cases := []struct {
		args []string
		want node.APITLS
	}{
		{nil, with(false, false, false)},
		{[]string{"--tlsverify"}, with(true, true, true)},
		{[]string{"--tls"}, with(true, true, true)},
		{[]string{"--tlsverify=false"}, with(true, false, true)},
		{[]string{"--tls=false"}, with(false, false, true)},
		{[]string{"--tls", "--tlsverify=false"}, with(true, false, true)},
		{[]string{"--tlsverify", "--tlscacert", "/x/ca.pem", "--tlscert", "/x/s.pem", "--tlskey", "/x/k.pem"},
			node.APITLS{TLS: true, Verify: true, Explicit: true, CAFile: "/x/ca.pem", CertFile: "/x/s.pem", KeyFile: "/x/k.pem"}},
	}
	for _, c := range cases {
		root := cli.NewRootCommand()
		daemon := newDaemonCommand()
		root.AddCommand(daemon)
		if err := daemon.ParseFlags(c.args); err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if got := daemonTLS(daemon.Flags()); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.args, got, c.want)
		}
	}
}
