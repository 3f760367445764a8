package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// Init makes this node the first manager of a new swarm.
func (n *Node) Init(ctx context.Context, req apiserver.InitRequest) (swarm.NodeID, error) {
	if err := n.lock(ctx); err != nil {
		return "", err
	}
	defer n.unlock()
	if req.ForceNewCluster {
		return n.forceNewCluster(ctx, req)
	}
	if st, _ := n.parts(); st != nil {
		return "", swarm.Errorf(swarm.ErrUnavailable, swarm.MsgAlreadyInSwarm)
	}
	if err := req.Spec.Validate(); err != nil {
		return "", err
	}
	listen, advertise, err := resolveAddrs(req.ListenAddr, req.AdvertiseAddr)
	if err != nil {
		return "", err
	}
	c, self, creds, err := newCluster(req, advertise, n.describe())
	if err != nil {
		return "", err
	}
	st := &state{NodeID: self.ID, ClusterID: c.ID, Role: swarm.RoleManager, ListenAddr: listen, AdvertiseAddr: advertise,
		Managers: []dispatchapi.Peer{{NodeID: self.ID, Addr: advertise}}}
	if err := n.establish(ctx, st, creds, func() error {
		if err := n.startManager(true, c.Spec.Raft); err != nil {
			return err
		}
		_, m := n.parts()
		return m.Initialize(ctx, c, self)
	}); err != nil {
		return "", err
	}
	n.log.Info("swarm initialized", "node", self.ID, "cluster", c.ID, "addr", advertise)
	return self.ID, nil
}

// newCluster makes the objects of a new swarm: its CA and tokens, and the
// first node with its manager certificate.
func newCluster(req apiserver.InitRequest, advertise string, desc swarm.NodeDescription) (*swarm.Cluster, *swarm.Node, *ca.Credentials, error) {
	root, err := ca.NewRootCA()
	if err != nil {
		return nil, nil, nil, err
	}
	c := &swarm.Cluster{
		ID: swarm.ClusterID(swarm.NewID()), Spec: req.Spec,
		RootCA:     swarm.RootCA{CertPEM: root.CertPEM(), KeyPEM: root.KeyPEM()},
		JoinTokens: swarm.JoinTokens{Worker: ca.NewJoinToken(root), Manager: ca.NewJoinToken(root)},
	}
	avail := req.Availability
	if avail == "" {
		avail = swarm.AvailabilityActive
	}
	self := &swarm.Node{
		ID:          swarm.NodeID(swarm.NewID()),
		Spec:        swarm.NodeSpec{Role: swarm.RoleManager, Availability: avail},
		Description: desc,
		Status:      swarm.NodeStatus{State: swarm.NodeStateReady, Addr: dispatchapi.Host(advertise), ClusterAddr: advertise},
	}
	if err := self.Spec.Validate(); err != nil {
		return nil, nil, nil, err
	}
	keyPEM, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM, err := root.Sign(csrPEM, self.ID, swarm.RoleManager, c.ID, req.Spec.CA.NodeCertExpiry)
	if err != nil {
		return nil, nil, nil, err
	}
	creds, err := ca.NewCredentials(root, certPEM, keyPEM)
	return c, self, creds, err
}

// establish saves a new membership, opens the cluster port, runs start
// (the manager role, if any) and the agent. On failure it undoes all of it.
func (n *Node) establish(ctx context.Context, st *state, creds *ca.Credentials, start func() error) error {
	certPEM, keyPEM := creds.PEM()
	if err := ca.SaveCredentials(filepath.Join(n.cfg.DataRoot, certDir), creds.Root().CertPEM(), certPEM, keyPEM); err != nil {
		return err
	}
	err := n.startPort(st, creds)
	if err == nil {
		err = start()
	}
	if err == nil {
		err = st.save(n.cfg.DataRoot)
	}
	if err != nil {
		n.shutdown()
		n.forget()
		return err
	}
	n.startAgent()
	return nil
}

// forget drops the membership from memory and disk.
func (n *Node) forget() {
	n.mu.Lock()
	n.st, n.creds = nil, nil
	n.mu.Unlock()
	if err := wipe(n.cfg.DataRoot); err != nil {
		n.log.Warn("wiping swarm state", "err", err)
	}
}

// Join joins an existing swarm through one of req.RemoteAddrs.
func (n *Node) Join(ctx context.Context, req apiserver.JoinRequest) error {
	if err := n.lock(ctx); err != nil {
		return err
	}
	defer n.unlock()
	if st, _ := n.parts(); st != nil {
		return swarm.Errorf(swarm.ErrUnavailable, swarm.MsgAlreadyInSwarm)
	}
	tok, err := ca.ParseJoinToken(req.JoinToken)
	if err != nil {
		return err
	}
	if len(req.RemoteAddrs) == 0 {
		return swarm.Errorf(swarm.ErrInvalidArgument, "at least 1 RemoteAddr is required to join")
	}
	listen, advertise, err := resolveAddrs(req.ListenAddr, req.AdvertiseAddr)
	if err != nil {
		return err
	}
	keyPEM, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		return err
	}
	jreq := dispatchapi.JoinRequest{Token: req.JoinToken, CSR: csrPEM, Description: n.describe(),
		Availability: req.Availability, Addr: advertise}
	resp, root, err := requestJoin(ctx, tok.Digest, req.RemoteAddrs, jreq)
	if err != nil {
		return err
	}
	creds, err := ca.NewCredentials(root, resp.CertPEM, keyPEM)
	if err != nil {
		return err
	}
	st := &state{NodeID: resp.NodeID, ClusterID: resp.ClusterID, Role: resp.Role, ListenAddr: listen, AdvertiseAddr: advertise, Managers: resp.Managers}
	err = n.establish(ctx, st, creds, func() error {
		if resp.Role != swarm.RoleManager {
			return nil
		}
		return n.becomeManager(ctx)
	})
	if err == nil {
		n.log.Info("joined swarm", "node", resp.NodeID, "role", resp.Role)
	}
	return err
}

// requestJoin asks each remote address in turn to admit this node, over
// TLS pinned to the CA digest of the token.
func requestJoin(ctx context.Context, digest string, remotes []string, req dispatchapi.JoinRequest) (*dispatchapi.JoinResponse, *ca.RootCA, error) {
	var lastErr error
	for _, addr := range remotes {
		conf, accepted := ca.BootstrapTLSConfig(digest, clusternet.ProtoHTTP)
		client := clusternet.NewBootstrapClient(conf)
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		var resp dispatchapi.JoinResponse
		err := dispatchapi.Call(cctx, client, withPort(addr, DefaultPort), dispatchapi.PathJoin, req, &resp)
		cancel()
		client.CloseIdleConnections()
		if err == nil {
			return &resp, accepted(), nil
		}
		lastErr = joinError(err)
		if errors.Is(lastErr, swarm.ErrInvalidArgument) || errors.Is(lastErr, swarm.ErrPermissionDenied) {
			return nil, nil, lastErr // a refusal: another manager would refuse too
		}
	}
	return nil, nil, lastErr
}

// joinError keeps a classed error, and words a network failure.
func joinError(err error) error {
	for _, class := range []error{swarm.ErrInvalidArgument, swarm.ErrPermissionDenied, swarm.ErrUnavailable, swarm.ErrAlreadyExists} {
		if errors.Is(err, class) {
			return err
		}
	}
	return swarm.Errorf(swarm.ErrUnavailable, "could not join the swarm: %v", err)
}

// becomeManager starts the manager role with empty Raft state and asks the
// leader to add this node as a voter. Called with the membership lock held.
func (n *Node) becomeManager(ctx context.Context) error {
	n.stopManager() // clears any Raft data of an earlier manager term
	if err := n.startManager(false, swarm.DefaultClusterSpec().Raft); err != nil {
		return err
	}
	st, _ := n.parts()
	n.mu.Lock()
	client := clusternet.NewHTTPClient(n.creds)
	n.mu.Unlock()
	defer client.CloseIdleConnections()
	return retryManagers(ctx, st.Managers, 30*time.Second, func(ctx context.Context, addr string) error {
		return dispatchapi.Call(ctx, client, addr, dispatchapi.PathRaftJoin, dispatchapi.RaftJoinRequest{Addr: st.AdvertiseAddr}, nil)
	})
}

// retryManagers calls fn on each manager in turn until one succeeds, a
// refusal comes back, or the deadline passes.
func retryManagers(ctx context.Context, managers []dispatchapi.Peer, within time.Duration, fn func(context.Context, string) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last error = swarm.ErrNoLeader
	for i := 0; ; i++ {
		if len(managers) == 0 {
			return last
		}
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		err := fn(cctx, managers[i%len(managers)].Addr)
		ccancel()
		if err == nil {
			return nil
		}
		last = err
		if errors.Is(err, swarm.ErrPermissionDenied) || errors.Is(err, swarm.ErrInvalidArgument) || errors.Is(err, swarm.ErrFailedPrecondition) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
