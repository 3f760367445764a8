package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Handler serves the RPCs of the cluster port. Leader-only RPCs that reach
// a follower are forwarded to the leader.
func (m *Manager) Handler() http.Handler { return m.handler }

func (m *Manager) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+dispatchapi.PathJoin, m.joinToLeader(rpc(m, false, m.join)))
	mux.HandleFunc("POST "+dispatchapi.PathSession, m.leaderOnlyStream(m.session))
	mux.HandleFunc("POST "+dispatchapi.PathPing, func(w http.ResponseWriter, r *http.Request) { reply(w, struct{}{}) })
	mux.HandleFunc("POST "+dispatchapi.PathRenew, m.leaderOnly(rpc(m, true, m.renew)))
	mux.HandleFunc("POST "+dispatchapi.PathRaftJoin, m.leaderOnly(rpc(m, true, m.raftJoin)))
	mux.HandleFunc("POST "+dispatchapi.PathRaftLeave, m.leaderOnly(rpc(m, true, m.raftLeave)))
	mux.HandleFunc("POST "+dispatchapi.PathAssignments, m.leaderOnly(rpc(m, true, m.assignments)))
	mux.HandleFunc("POST "+dispatchapi.PathTaskStatus, m.leaderOnly(rpc(m, true, m.taskStatus)))
	if m.cfg.DockerAPI != nil {
		mux.Handle(dispatchapi.PathDocker+"/", m.fromManager(http.StripPrefix(dispatchapi.PathDocker, m.cfg.DockerAPI)))
	}
	return mux
}

// caller returns the identity of the node behind a request, as the
// replicated state sees it (see vet): the peer's certificate, or, when a
// current manager forwarded the request, the node it names. Served on the
// leader: a certificate the node presents for the first time raises its
// node's certificate floor.
func (m *Manager) caller(r *http.Request) (ca.Identity, error) {
	if r.TLS == nil {
		return ca.Identity{}, ca.ErrNoPeerCertificate
	}
	cert, err := ca.PeerIdentity(*r.TLS)
	if err != nil {
		return ca.Identity{}, err
	}
	fwd := r.Header.Get(dispatchapi.HeaderForwardedNode)
	id, err := m.vet(cert)
	if fwd == "" || fwd == string(cert.NodeID) {
		if err == nil {
			m.noteCertificate(cert)
		}
		return id, err
	}
	if err != nil || id.Role != swarm.RoleManager {
		return ca.Identity{}, errNotForwarder(cert.NodeID)
	}
	tx := m.store.ReadTxn()
	n, err := store.GetNode(tx, swarm.NodeID(fwd))
	if err != nil {
		return ca.Identity{}, swarm.Errorf(swarm.ErrPermissionDenied, "node %s is not a member of the swarm", fwd)
	}
	if c, err := store.GetCluster(tx); err == nil && c.IsRemoved(n.ID) {
		return ca.Identity{}, swarm.Errorf(swarm.ErrPermissionDenied, "node %s was removed from the swarm", n.ID)
	}
	if nb, err := time.Parse(time.RFC3339, r.Header.Get(dispatchapi.HeaderForwardedNotBefore)); err == nil {
		if nb.Before(n.CertFloor) {
			return ca.Identity{}, errSuperseded(n.ID)
		}
		m.noteCertificate(ca.Identity{NodeID: n.ID, NotBefore: nb})
	}
	return ca.Identity{NodeID: n.ID, Role: n.Spec.Role, ClusterID: id.ClusterID}, nil
}

// leaderOnly serves h on the leader and forwards to the leader elsewhere.
func (m *Manager) leaderOnly(h http.HandlerFunc) http.HandlerFunc { return m.toLeader(h, false, false) }

// joinToLeader is leaderOnly for a join: the joining node has no
// certificate yet, so the request is forwarded on behalf of no one (the
// join RPC needs no identity: the token in its body is its credential).
func (m *Manager) joinToLeader(h http.HandlerFunc) http.HandlerFunc {
	return m.toLeader(h, false, true)
}

// leaderOnlyStream is leaderOnly for a long-lived call (a node's session):
// a forwarded one ends as soon as this member no longer names the leader it
// was sent to, so the node opens its next session with the new leader at
// once instead of waiting on a frozen or deposed one.
func (m *Manager) leaderOnlyStream(h http.HandlerFunc) http.HandlerFunc {
	return m.toLeader(h, true, false)
}

func (m *Manager) toLeader(h http.HandlerFunc, stream, anonymous bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if m.raft.IsLeader() {
			if m.dispatcher() == nil { // leader, but its store is not caught up yet
				writeErr(w, swarm.ErrNoLeader)
				return
			}
			h(w, r)
			return
		}
		_, addr := m.raft.Leader()
		if addr == "" {
			writeErr(w, swarm.ErrNoLeader)
			return
		}
		var fwd forwarded
		if !anonymous {
			var err error
			if fwd, err = m.forwardedFor(r); err != nil {
				writeErr(w, err)
				return
			}
		}
		p := m.proxy(addr, "", fwd)
		if stream {
			p = whileLeader(p, addr, func() string { _, a := m.raft.Leader(); return a }, leaderWatchInterval)
		}
		p.ServeHTTP(w, r)
	}
}

// forwardedFor is the node on whose behalf this manager forwards r to the
// leader: the peer of the connection, or, when that peer is a current
// manager that forwarded r already (to a leader that has since lost its
// place), the node it named. That node is not looked up here: this
// manager's store may be behind (restarted, replaying its log); the leader
// checks it. (Resolving it here once failed on such a manager and
// forwarded a worker's heartbeat under the manager's own identity: the
// leader told the worker to become a manager.) The peer itself is vetted
// here: a removed node, a replaced certificate, or a node that is no
// longer a manager naming another node is refused, never passed on under
// this manager's own name. Empty without TLS (never on the cluster port).
func (m *Manager) forwardedFor(r *http.Request) (forwarded, error) {
	if r.TLS == nil {
		return forwarded{}, nil
	}
	cert, err := ca.PeerIdentity(*r.TLS)
	if err != nil {
		return forwarded{}, err
	}
	fwd := r.Header.Get(dispatchapi.HeaderForwardedNode)
	id, err := m.vet(cert)
	if fwd == "" || fwd == string(cert.NodeID) {
		return forwarded{node: id.NodeID, notBefore: cert.NotBefore.UTC().Format(time.RFC3339)}, err
	}
	if err != nil || id.Role != swarm.RoleManager {
		return forwarded{}, errNotForwarder(cert.NodeID)
	}
	return forwarded{node: swarm.NodeID(fwd), notBefore: r.Header.Get(dispatchapi.HeaderForwardedNotBefore)}, nil
}

// forwarded is the node a request is forwarded for, and the NotBefore of
// the certificate it presented (see dispatchapi.HeaderForwardedNotBefore).
type forwarded struct {
	node      swarm.NodeID
	notBefore string
}

// fromManager lets only managers' forwarded requests through.
func (m *Manager) fromManager(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := m.caller(r)
		if err == nil && id.Role != swarm.RoleManager {
			err = swarm.Errorf(swarm.ErrPermissionDenied, "only managers may forward requests")
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// proxy forwards a request to addr, under prefix, naming the original
// caller. A leader that cannot be reached means there is no usable leader.
func (m *Manager) proxy(addr, prefix string, forwardedFor forwarded) http.Handler {
	target := &url.URL{Scheme: "https", Host: addr}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = prefix + pr.In.URL.Path
			pr.Out.URL.RawPath = ""
			pr.Out.Header.Del(dispatchapi.HeaderForwardedNode)
			pr.Out.Header.Del(dispatchapi.HeaderForwardedNotBefore)
			if forwardedFor.node != "" {
				pr.Out.Header.Set(dispatchapi.HeaderForwardedNode, string(forwardedFor.node))
				if forwardedFor.notBefore != "" {
					pr.Out.Header.Set(dispatchapi.HeaderForwardedNotBefore, forwardedFor.notBefore)
				}
			}
		},
		Transport:     m.client.Load().Transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			m.log.Debug("forward to leader failed", "leader", addr, "err", err)
			if prefix == dispatchapi.PathDocker {
				writeAPIErr(w, swarm.ErrNoLeader)
				return
			}
			writeErr(w, swarm.ErrNoLeader) // a node's RPC: its error class tells it to back off
		},
	}
}

// ForwardDocker returns a handler that sends a Docker API request to the
// leader, or an error if there is none.
func (m *Manager) ForwardDocker() (http.Handler, error) {
	_, addr := m.raft.Leader()
	if addr == "" {
		return nil, swarm.ErrNoLeader
	}
	p := m.proxy(addr, dispatchapi.PathDocker, forwarded{})
	leader := func() string { _, a := m.raft.Leader(); return a }
	return whileLeader(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The leader's answer carries its own copies of these.
		for _, h := range []string{"Server", "Api-Version", "Ostype", "Docker-Experimental"} {
			w.Header().Del(h)
		}
		p.ServeHTTP(w, r)
	}), addr, leader, leaderWatchInterval), nil
}

// leaderWatchInterval is how often a forwarded request checks that the
// manager it was sent to still leads.
const leaderWatchInterval = 100 * time.Millisecond

// whileLeader serves h with a request context that ends as soon as leader()
// no longer names addr. A request forwarded to a leader that froze, was cut
// off or was deposed then gets the no-leader answer as soon as this member
// notices (an election timeout), instead of waiting for an answer that may
// never come: a TCP connection to a frozen or partitioned host stays open.
func whileLeader(h http.Handler, addr string, leader func() string, every time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if leader() != addr {
						cancel()
						return
					}
				}
			}
		}()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// decode reads a whole request body, then unmarshals it (faster than a
// json.Decoder on the stream).
// A body larger than its limit is refused (413, swarm.ErrTooLarge) after
// reading at most the limit: before anything is read if its length is
// announced. Nothing bigger can come from a node of this cluster.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	limit := bodyLimit(v)
	if r.ContentLength > limit {
		return errBodyTooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
		return errBodyTooLarge(limit)
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return swarm.Errorf(swarm.ErrInvalidArgument, "malformed request: %v", err)
	}
	return nil
}

// Request body limits. A join (a token, a CSR of about 1 KB, a node
// description whose strings are bounded by swarm.MaxDescriptionBytes) and
// every other request but one fit in a few kilobytes. A task status report
// holds at most 1,000 updates (the agent's batch), each with texts of at
// most swarm.MaxStatusTextBytes: about 3.5 KB each, 3.5 MB in all.
const (
	maxRPCBody    = 64 << 10
	maxStatusBody = 4 << 20
)

// bodyLimit is the largest body a request of v's type may have.
func bodyLimit(v any) int64 {
	if _, ok := v.(*dispatchapi.TaskStatusRequest); ok {
		return maxStatusBody
	}
	return maxRPCBody
}

func errBodyTooLarge(limit int64) error {
	return swarm.Errorf(swarm.ErrTooLarge, "request body too large: more than %d bytes", limit)
}

// reply answers with v as JSON, with its Content-Length.
func reply(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeErr(w, fmt.Errorf("encode answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	_, _ = w.Write(append(b, '\n'))
}

// writeErr answers an RPC with its error class.
func writeErr(w http.ResponseWriter, err error) {
	e := dispatchapi.ErrorOf(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.StatusCode())
	_ = json.NewEncoder(w).Encode(e)
}

// writeAPIErr answers a forwarded Docker API request in Docker's format.
func writeAPIErr(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(dispatchapi.ErrorOf(err).StatusCode())
	_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
}

func (m *Manager) join(ctx context.Context, _ ca.Identity, req dispatchapi.JoinRequest) (*dispatchapi.JoinResponse, error) {
	c, err := store.GetCluster(m.store.ReadTxn())
	if err != nil {
		return nil, err
	}
	if _, err := ca.ParseJoinToken(req.Token); err != nil {
		return nil, err
	}
	role, err := ca.RoleForToken(c.JoinTokens, req.Token)
	if err != nil {
		return nil, err
	}
	if err := req.Description.Validate(); err != nil {
		return nil, err
	}
	if err := swarm.CheckAddr(req.Addr); err != nil {
		return nil, err
	}
	root, err := ca.ParseRootCA(c.RootCA.CertPEM, c.RootCA.KeyPEM)
	if err != nil {
		return nil, err
	}
	id := swarm.NodeID(swarm.NewID())
	cert, err := root.Sign(req.CSR, id, role, c.ID, c.Spec.CA.NodeCertExpiry)
	if err != nil {
		return nil, err
	}
	avail := req.Availability
	if avail == "" {
		avail = swarm.AvailabilityActive
	}
	n := &swarm.Node{
		ID:          id,
		Spec:        swarm.NodeSpec{Role: role, Availability: avail},
		Description: req.Description,
		Status:      swarm.NodeStatus{State: swarm.NodeStateUnknown, Addr: dispatchapi.Host(req.Addr), ClusterAddr: req.Addr},
	}
	if err := n.Spec.Validate(); err != nil {
		return nil, err
	}
	if err := m.raft.Propose(ctx, store.NewCreateNode(n)); err != nil {
		return nil, err
	}
	m.log.Info("node joined", "node", id, "role", role, "hostname", req.Description.Hostname)
	return &dispatchapi.JoinResponse{
		NodeID: id, ClusterID: c.ID, Role: role, CertPEM: cert, RootPEM: c.RootCA.CertPEM, Managers: m.Managers(),
	}, nil
}

func (m *Manager) renew(_ context.Context, caller ca.Identity, req dispatchapi.RenewRequest) (*dispatchapi.RenewResponse, error) {
	id := caller.NodeID
	tx := m.store.ReadTxn()
	c, err := store.GetCluster(tx)
	if err != nil {
		return nil, err
	}
	n, err := store.GetNode(tx, id)
	if err != nil {
		return nil, err
	}
	role := swarm.RoleWorker
	if n.Spec.Role == swarm.RoleManager || m.isMember(id) {
		role = swarm.RoleManager
	}
	root, err := ca.ParseRootCA(c.RootCA.CertPEM, c.RootCA.KeyPEM)
	if err != nil {
		return nil, err
	}
	// NotBefore above the node's floor, whatever this leader's clock says
	// against the one that signed the node's current certificate.
	at := ca.SignTimeAfter(time.Now(), n.CertFloor)
	cert, err := root.SignAt(at, req.CSR, id, role, c.ID, c.Spec.CA.NodeCertExpiry)
	if err != nil {
		return nil, err
	}
	return &dispatchapi.RenewResponse{CertPEM: cert, Role: role}, nil
}

func (m *Manager) raftJoin(ctx context.Context, id ca.Identity, req dispatchapi.RaftJoinRequest) (struct{}, error) {
	return struct{}{}, m.addVoter(ctx, id, req.Addr)
}

func (m *Manager) addVoter(ctx context.Context, id ca.Identity, addr string) error {
	n, err := store.GetNode(m.store.ReadTxn(), id.NodeID)
	if err != nil {
		return err
	}
	if id.Role != swarm.RoleManager || n.Spec.Role != swarm.RoleManager {
		return swarm.Errorf(swarm.ErrPermissionDenied, "node %s is not a manager", id.NodeID)
	}
	if addr == "" {
		return swarm.Errorf(swarm.ErrInvalidArgument, "raft join needs the node's cluster address")
	}
	if err := m.raft.AddVoter(ctx, id.NodeID, addr); err != nil {
		return err
	}
	m.log.Info("manager added to raft", "node", id.NodeID, "addr", addr)
	return m.raft.Propose(ctx, store.NewSetNodeManager(id.NodeID, &swarm.ManagerInfo{Addr: addr}))
}

// rpc adapts a typed RPC to HTTP: the caller's identity (unless the RPC
// is Join, which has none yet), the JSON request, and the JSON answer or
// the error with its class.
func rpc[Req, Resp any](m *Manager, needID bool, fn func(context.Context, ca.Identity, Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var id ca.Identity
		if needID {
			var err error
			if id, err = m.caller(r); err != nil {
				writeErr(w, err)
				return
			}
		}
		var req Req
		if err := decode(w, r, &req); err != nil {
			writeErr(w, err)
			return
		}
		resp, err := fn(r.Context(), id, req)
		if err != nil {
			writeErr(w, err)
			return
		}
		reply(w, resp)
	}
}

// session serves a node's heartbeats on one stream (see
// dispatchapi.PathSession) for as long as this term's dispatcher runs: a
// heartbeat to a dispatcher whose term ended is answered "no leader", which
// ends the session, and the node opens one with the next leader.
func (m *Manager) session(w http.ResponseWriter, r *http.Request) {
	id, err := m.caller(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	d := m.dispatcher()
	if d == nil {
		writeErr(w, swarm.ErrNoLeader)
		return
	}
	dispatchapi.ServeSession(w, r, func(ctx context.Context, req dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
		return d.Heartbeat(ctx, id.NodeID, req)
	})
}

func (m *Manager) assignments(ctx context.Context, id ca.Identity, req dispatchapi.AssignmentsRequest) (dispatchapi.AssignmentsResponse, error) {
	d := m.dispatcher()
	if d == nil {
		return dispatchapi.AssignmentsResponse{}, swarm.ErrNoLeader
	}
	return d.Assignments(ctx, id.NodeID, req)
}

func (m *Manager) taskStatus(ctx context.Context, id ca.Identity, req dispatchapi.TaskStatusRequest) (struct{}, error) {
	d := m.dispatcher()
	if d == nil {
		return struct{}{}, swarm.ErrNoLeader
	}
	return struct{}{}, d.UpdateTaskStatus(ctx, id.NodeID, req)
}

// raftLeave removes the caller from the Raft membership. The leader cannot
// remove itself cleanly: it hands leadership over and lets the caller retry
// with the new leader.
func (m *Manager) raftLeave(ctx context.Context, id ca.Identity, _ dispatchapi.RaftLeaveRequest) (struct{}, error) {
	if id.Role != swarm.RoleManager || !m.isMember(id.NodeID) {
		return struct{}{}, swarm.Errorf(swarm.ErrPermissionDenied, "node %s is not a member of the raft cluster", id.NodeID)
	}
	if id.NodeID == m.cfg.NodeID {
		if err := m.raft.TransferLeadership(ctx); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, swarm.ErrNoLeader
	}
	if err := m.raft.RemoveServer(ctx, id.NodeID); err != nil {
		return struct{}{}, err
	}
	if err := m.raft.Propose(ctx, store.NewSetNodeManager(id.NodeID, nil)); err != nil && !errors.Is(err, swarm.ErrNotFound) {
		return struct{}{}, err
	}
	return struct{}{}, nil
}
