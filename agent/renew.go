package agent

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
)

// A node's certificate is renewed before it expires (renewLoop), and when
// the managers want another role (changeRole). Both go through renew: a
// new key, the renew RPC (the leader signs with the cluster's current
// --cert-expiry, so a change of it takes effect at each node's next
// renewal), the node's OnRenewed, which installs the certificate (and
// starts or stops the manager role if the role changed), then a new RPC
// client and a new session, so that the node presents the new
// certificate at once: the leader raises the node's certificate floor when
// it first sees it, and from then on managers close the connections that
// still carry the old one.

// renewal is the agent's renewal state.
type renewal struct {
	mu sync.Mutex // one renewal at a time
	// restart tells the session to end, so the next one presents the new
	// certificate.
	restart chan struct{}
	// changed tells renewLoop that the certificate changed under it (a
	// role change), so it plans from the new one.
	changed chan struct{}
}

func newRenewal() renewal {
	return renewal{restart: make(chan struct{}, 1), changed: make(chan struct{}, 1)}
}

// renewTimeout bounds one renew RPC (a key pair, a signature on the leader,
// perhaps a forward through a follower).
const renewTimeout = 10 * time.Second

// Waits between failed renewals: the first retry after about a second,
// then twice as long each time up to renewRetryMax. A renewal fails when
// there is no leader (an election, a lost quorum): the lifetime left (at
// least a fifth of it) is spent retrying.
const (
	renewRetryMin = time.Second
	renewRetryMax = 5 * time.Minute
)

// renewLoop renews the certificate at a random point between 50 and 80 %
// of its lifetime (ca.Identity.RenewAt), at once if that point has passed
// (the node was stopped), until ctx ends.
func (a *Agent) renewLoop(ctx context.Context) {
	fails := 0
	var warnedExpired time.Time // NotAfter of the expired certificate last reported
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		id := a.cfg.Creds.Identity()
		wait := time.Until(id.RenewAt(rand.Float64()))
		if fails > 0 {
			wait = retryAfter(renewRetryMin, renewRetryMax, fails)
		}
		if now := time.Now(); !now.Before(id.NotAfter) && !warnedExpired.Equal(id.NotAfter) {
			warnedExpired = id.NotAfter
			a.cfg.Logger.Error("this node's certificate has expired: the managers will refuse it. "+
				"If renewing it keeps failing, leave the swarm (docker swarm leave --force) and join again with a join token",
				"expired", id.NotAfter.Format(time.RFC3339), "expired_for", now.Sub(id.NotAfter).Round(time.Second))
		}
		a.cfg.Logger.Debug("next certificate renewal", "in", wait.Round(time.Millisecond), "expires", id.NotAfter.Format(time.RFC3339))
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-a.renewal.changed:
			fails = 0
			timer.Stop()
			continue
		case <-timer.C:
		}
		start := time.Now()
		if err := a.renew(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			fails++
			a.cfg.Logger.Warn("certificate renewal failed; trying again", "err", err, "attempt", fails,
				"expires", id.NotAfter.Format(time.RFC3339))
			continue
		}
		fails = 0
		a.drain(a.renewal.changed) // this renewal's own signal
		a.cfg.Logger.Info("certificate renewed", "took", time.Since(start).Round(time.Millisecond),
			"expires", a.cfg.Creds.Identity().NotAfter.Format(time.RFC3339))
	}
}

// changeRole renews the certificate for the role the cluster wants; true
// if the node now presents a new one. An agent without OnRenewed (a
// simulated node) cannot change role: it says so.
func (a *Agent) changeRole(ctx context.Context) bool {
	if a.cfg.OnRenewed == nil {
		a.cfg.Logger.Warn("the managers ask for a role change this node cannot make")
		return false
	}
	if err := a.renew(ctx); err != nil {
		a.cfg.Logger.Warn("certificate renewal for a role change failed", "err", err)
		return false
	}
	return true
}

// renew gets a new certificate from the managers and hands it to the node
// (OnRenewed). It fails, changing nothing, if the managers did not sign
// one or the node could not install it. Once the node presents the new
// certificate, the RPC client is replaced (an HTTP/2 connection in use
// would go on presenting the old certificate) and the session is told to
// start again.
func (a *Agent) renew(ctx context.Context) error {
	a.renewal.mu.Lock()
	defer a.renewal.mu.Unlock()
	before := a.cfg.Creds.Identity()
	beforePEM, _ := a.cfg.Creds.PEM()
	keyPEM, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		return fmt.Errorf("new key: %w", err)
	}
	var resp dispatchapi.RenewResponse
	rctx, cancel := context.WithTimeout(ctx, renewTimeout)
	addr := a.current()
	err = a.rpc(rctx, addr, dispatchapi.PathRenew, dispatchapi.RenewRequest{CSR: csrPEM}, &resp)
	cancel()
	if err != nil {
		return fmt.Errorf("renew through %s: %w", addr, err)
	}
	if resp.Role != before.Role {
		a.cfg.Logger.Info("role changed", "role", resp.Role)
	}
	err = a.cfg.OnRenewed(ctx, resp.Role, resp.CertPEM, keyPEM)
	if now, _ := a.cfg.Creds.PEM(); bytes.Equal(now, beforePEM) {
		if err == nil {
			err = fmt.Errorf("the node did not install the new certificate")
		}
		return err
	}
	if err != nil { // installed, but the role change failed
		a.cfg.Logger.Warn("role change failed", "role", resp.Role, "err", err)
	}
	// New connections present the new certificate; the old client's close
	// once idle, and the managers close any still open once the leader has
	// seen the new certificate.
	old := a.client.Swap(clusternet.NewHTTPClient(a.cfg.Creds))
	old.CloseIdleConnections()
	a.signal(a.renewal.restart)
	a.signal(a.renewal.changed)
	return nil
}

func (a *Agent) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (a *Agent) drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}
