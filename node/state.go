package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// Files and directories under the data root.
const (
	stateFile = "state.json"
	certDir   = "certificates"
	raftDir   = "raft"
)

// state is what a node remembers of its swarm membership across restarts.
type state struct {
	NodeID        swarm.NodeID
	ClusterID     swarm.ClusterID
	Role          swarm.NodeRole // the role in the node's certificate
	ListenAddr    string
	AdvertiseAddr string
	Managers      []dispatchapi.Peer
	// Error is set when the managers refused this node (it was removed).
	Error string `json:",omitempty"`
}

func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("node: corrupt %s: %w", stateFile, err)
	}
	return &s, nil
}

// save writes the state atomically.
func (s *state) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// wipe forgets the swarm: state, certificates and Raft data.
func wipe(dir string) error {
	for _, p := range []string{stateFile, certDir, raftDir} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return err
		}
	}
	return nil
}
