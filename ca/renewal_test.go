package ca_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/swarm"
)

// A certificate is renewed at a random point between 50 and 80 % of its
// lifetime, counted from when it was signed (its NotBefore is backdated by
// an hour, which is no part of the lifetime); a point already past means at
// once.
func TestRenewAt(t *testing.T) {
	root := catest.NewCA(t)
	for _, expiry := range []time.Duration{20 * time.Second, time.Hour, 90 * 24 * time.Hour} {
		signed := time.Now().Add(-time.Minute)
		certPEM, _ := catest.Issue(t, root, "n1", swarm.RoleWorker, signed, expiry)
		id, err := ca.CertIdentity(certPEM)
		if err != nil {
			t.Fatal(err)
		}
		// Certificates carry whole seconds.
		if d := id.Issued().Sub(signed); d < -time.Second || d > time.Second {
			t.Fatalf("expiry %v: issued %v, signed at %v", expiry, id.Issued(), signed)
		}
		life := id.NotAfter.Sub(id.Issued())
		at := func(r float64) float64 { return float64(id.RenewAt(r).Sub(id.Issued())) / float64(life) }
		if got := at(0); got != 0.5 {
			t.Errorf("expiry %v: r=0 renews at %.3f of the lifetime, want 0.5", expiry, got)
		}
		if got := at(0.9999999); got < 0.7999 || got > 0.8 {
			t.Errorf("expiry %v: r→1 renews at %.4f of the lifetime, want 0.8", expiry, got)
		}
		// Drawn at random, the points cover the range and stay in it.
		lo, hi := 1.0, 0.0
		for range 1000 {
			f := at(rand.Float64())
			if f < 0.5 || f > 0.8 {
				t.Fatalf("expiry %v: renewal at %.3f of the lifetime", expiry, f)
			}
			lo, hi = min(lo, f), max(hi, f)
		}
		if lo > 0.52 || hi < 0.78 {
			t.Errorf("expiry %v: 1,000 random renewals span only %.3f-%.3f of the lifetime", expiry, lo, hi)
		}
	}
}

// A node that finds itself past 80 % of its certificate's lifetime (it was
// stopped for a while) renews at once, whatever the draw; one before 50 %
// waits.
func TestRenewAtAfterALongStop(t *testing.T) {
	root := catest.NewCA(t)
	expiry := time.Hour
	for _, tc := range []struct {
		elapsed float64 // fraction of the lifetime gone when the node looks
		now     bool
	}{{0.1, false}, {0.49, false}, {0.81, true}, {0.99, true}, {1.5, true}} {
		signed := time.Now().Add(-time.Duration(tc.elapsed * float64(expiry)))
		certPEM, _ := catest.Issue(t, root, "n1", swarm.RoleWorker, signed, expiry)
		id, err := ca.CertIdentity(certPEM)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []float64{0, 0.5, 0.999} {
			due := !id.RenewAt(r).After(time.Now())
			if due != tc.now {
				t.Errorf("%.0f%% of the lifetime gone, r=%v: renew now = %v, want %v", tc.elapsed*100, r, due, tc.now)
			}
		}
	}
}

func TestCertIdentityRefusesGarbage(t *testing.T) {
	if _, err := ca.CertIdentity([]byte("not a certificate")); err == nil {
		t.Fatal("garbage read as a certificate")
	}
}
