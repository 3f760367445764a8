package apiserver

import (
	"errors"
	"net/http"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/dockerapi"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// defaultListenAddr is where a manager listens when swarm init or join does
// not say, as in Docker.
const defaultListenAddr = "0.0.0.0:2377"

// errAutolock refuses what only an autolocked swarm could do.
var errAutolock = swarm.Errorf(swarm.ErrFailedPrecondition, "autolock is not supported")

// control finds the leader's Control for a cluster request. If this node is a
// follower it forwards r, body unread, to the leader and reports done; the
// caller must then return at once without touching w.
func (s *server) control(w http.ResponseWriter, r *http.Request) (ctl Control, done bool, err error) {
	ctl, forward, err := s.backend.Control(r.Context())
	switch {
	case err != nil:
		return nil, false, err
	case forward != nil:
		forward.ServeHTTP(w, r)
		return nil, true, nil
	case ctl == nil:
		return nil, false, errors.New("apiserver: backend returned neither a control nor a forwarder")
	}
	return ctl, false, nil
}

// initSwarm answers POST /swarm/init with the new node ID as a JSON string.
func (s *server) initSwarm(w http.ResponseWriter, r *http.Request) error {
	var req wire.InitRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	in, err := initRequestFromWire(req)
	if err != nil {
		return err
	}
	id, err := s.backend.Init(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, string(id))
}

// initRequestFromWire fills server defaults where the request left zeros.
// Data path and address pool settings are ignored: shoal has no overlay
// networks.
func initRequestFromWire(req wire.InitRequest) (InitRequest, error) {
	avail, err := availabilityFromWire(req.Availability)
	if err != nil {
		return InitRequest{}, err
	}
	spec := dockerapi.ClusterSpecFromWire(req.Spec, swarm.DefaultClusterSpec())
	// The CLI sets --autolock in both places; either asks for it.
	spec.AutoLockManagers = spec.AutoLockManagers || req.AutoLockManagers
	return InitRequest{
		ListenAddr:      orDefault(req.ListenAddr, defaultListenAddr),
		AdvertiseAddr:   req.AdvertiseAddr,
		Spec:            spec,
		Availability:    avail,
		ForceNewCluster: req.ForceNewCluster,
	}, nil
}

// joinSwarm answers POST /swarm/join; the CLI ignores the body.
func (s *server) joinSwarm(w http.ResponseWriter, r *http.Request) error {
	var req wire.JoinRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	avail, err := availabilityFromWire(req.Availability)
	if err != nil {
		return err
	}
	return s.backend.Join(r.Context(), JoinRequest{
		ListenAddr:    orDefault(req.ListenAddr, defaultListenAddr),
		AdvertiseAddr: req.AdvertiseAddr,
		RemoteAddrs:   req.RemoteAddrs,
		JoinToken:     req.JoinToken,
		Availability:  avail,
	})
}

// leaveSwarm answers POST /swarm/leave[?force=1].
func (s *server) leaveSwarm(w http.ResponseWriter, r *http.Request) error {
	return s.backend.Leave(r.Context(), flagParam(r, "force"))
}

// inspectSwarm answers GET /swarm.
func (s *server) inspectSwarm(w http.ResponseWriter, r *http.Request) error {
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	c, err := ctl.GetCluster(r.Context())
	if err != nil {
		return err
	}
	out, err := dockerapi.SwarmFromDomain(c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// updateSwarm answers POST /swarm/update?version=N&rotate...=bool. The body
// is the whole Spec (the CLI echoes GET /swarm); fields the wire does not
// carry keep their current values.
func (s *server) updateSwarm(w http.ResponseWriter, r *http.Request) error {
	version, rot, err := updateSwarmParams(r)
	if err != nil {
		return err
	}
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	var spec wire.Spec
	if err := readJSON(r, &spec); err != nil {
		return err
	}
	c, err := ctl.GetCluster(r.Context())
	if err != nil {
		return err
	}
	// The base must be the version the client read, or a shoal-only field
	// could be reverted from a stale read; the control API rechecks.
	if c.Version != version {
		return swarm.Errorf(swarm.ErrOutOfSequence, "update out of sequence")
	}
	return ctl.UpdateCluster(r.Context(), version, dockerapi.ClusterSpecFromWire(spec, c.Spec), rot)
}

func updateSwarmParams(r *http.Request) (uint64, controlapi.Rotation, error) {
	var rot controlapi.Rotation
	version, err := versionParam(r, "swarm")
	if err != nil {
		return 0, rot, err
	}
	if rot.WorkerToken, err = boolParam(r, "rotateWorkerToken"); err != nil {
		return 0, rot, err
	}
	if rot.ManagerToken, err = boolParam(r, "rotateManagerToken"); err != nil {
		return 0, rot, err
	}
	unlock, err := boolParam(r, "rotateManagerUnlockKey")
	if err != nil {
		return 0, rot, err
	}
	if unlock {
		return 0, rot, errAutolock
	}
	return version, rot, nil
}

// unlockKey answers GET /swarm/unlockkey. Without autolock Docker answers an
// empty key (the CLI then says "no unlock key is set"); shoal does not
// support autolock, so a swarm that asked for it gets a clear refusal.
func (s *server) unlockKey(w http.ResponseWriter, r *http.Request) error {
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	c, err := ctl.GetCluster(r.Context())
	if err != nil {
		return err
	}
	if c.Spec.AutoLockManagers {
		return errAutolock
	}
	return writeJSON(w, http.StatusOK, wire.UnlockKeyResponse{})
}

// availabilityFromWire reads a requested availability; empty means active.
func availabilityFromWire(a wire.NodeAvailability) (swarm.Availability, error) {
	if a == "" {
		return swarm.AvailabilityActive, nil
	}
	if v := swarm.Availability(a); v.Valid() {
		return v, nil
	}
	return "", swarm.Errorf(swarm.ErrInvalidArgument,
		"invalid availability %q, only active, pause and drain are supported", a)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
