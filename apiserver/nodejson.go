package apiserver

import (
	"bytes"
	"encoding/json"
	"sync"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/dockerapi"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// nodeJSON keeps each node's wire JSON between node lists. A list of 1,000
// nodes is 1.2 MB of JSON, and between two lists few nodes change. The
// store never changes a node in place (an update stores a new object), so
// the same object with the same manager status and the same environment
// encodes to the same bytes.
type nodeJSON struct {
	mu      sync.Mutex
	byID    map[swarm.NodeID]nodeJSONEntry
	lastAll int // nodes in the last unfiltered list
	// The last unfiltered list's body and its nodes in order: answered
	// again as it is while no node changed (an idle swarm's node ls
	// allocates nothing then, at 1,000 nodes 1.2 MB less for the garbage
	// collector each time).
	allBody []byte
	allIDs  []swarm.NodeID

	// The root CA last parsed for NodeEnv, and what it gave.
	tlsMu sync.Mutex
	caPEM []byte
	tls   wire.TLSInfo
}

type nodeJSONEntry struct {
	node      *swarm.Node
	ms        controlapi.ManagerStatus
	isManager bool
	env       envKey
	raw       []byte
}

// envKey is everything of a NodeEnv that goes into a node's wire form.
type envKey struct{ trustRoot, subject, publicKey, engine string }

func keyOf(env dockerapi.NodeEnv) envKey {
	t := env.TLSInfo
	return envKey{t.TrustRoot, string(t.CertIssuerSubject), string(t.CertIssuerPublicKey), env.EngineVersion}
}

// tlsInfo is dockerapi.TLSInfoFromPEM, parsed again only when the root CA
// changes.
func (c *nodeJSON) tlsInfo(caPEM []byte) (wire.TLSInfo, error) {
	c.tlsMu.Lock()
	defer c.tlsMu.Unlock()
	if c.caPEM != nil && bytes.Equal(c.caPEM, caPEM) {
		return c.tls, nil
	}
	info, err := dockerapi.TLSInfoFromPEM(caPEM)
	if err != nil {
		return wire.TLSInfo{}, err
	}
	c.caPEM, c.tls = bytes.Clone(caPEM), info
	return info, nil
}

// list encodes views as a JSON array, as writeJSON would, reusing the
// encoding of every node unchanged since the last list. all says the views
// are every node of the swarm: entries of nodes not among them are dropped.
// The body may be shared with other calls: the caller must not change it.
func (c *nodeJSON) list(views []controlapi.NodeView, env dockerapi.NodeEnv, all bool) ([]byte, error) {
	key := keyOf(env)
	c.mu.Lock()
	defer c.mu.Unlock()
	if all && c.unchanged(views, key) {
		return c.allBody, nil
	}
	// A full list keeps only its own nodes; filtered lists alone could
	// otherwise keep removed nodes' encodings forever.
	if all || c.byID == nil || len(c.byID) > 2*c.lastAll+64 {
		if all {
			c.lastAll = len(views)
		}
		prev := c.byID
		c.byID = make(map[swarm.NodeID]nodeJSONEntry, len(views))
		for _, v := range views {
			if e, ok := prev[v.ID]; ok {
				c.byID[v.ID] = e
			}
		}
	}
	out := make([]byte, 0, 64+len(views)*1300)
	out = append(out, '[')
	for i, v := range views {
		e, ok := c.byID[v.ID]
		if !ok || !e.matches(v, key) {
			w := nodeToWire(v, env)
			raw, err := encodeCompact(&w)
			if err != nil {
				return nil, err
			}
			e = nodeJSONEntry{node: v.Node, isManager: v.ManagerStatus != nil, env: key, raw: raw}
			if v.ManagerStatus != nil {
				e.ms = *v.ManagerStatus
			}
			c.byID[v.ID] = e
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, e.raw...)
	}
	out = append(out, ']', '\n')
	if all {
		c.allBody, c.allIDs = out, c.allIDs[:0]
		for _, v := range views {
			c.allIDs = append(c.allIDs, v.ID)
		}
	}
	return out, nil
}

// unchanged reports whether views, a full list, are the last full list's
// nodes, in the same order, each as it was encoded then.
func (c *nodeJSON) unchanged(views []controlapi.NodeView, key envKey) bool {
	if c.allBody == nil || len(views) != len(c.allIDs) {
		return false
	}
	for i, v := range views {
		if v.ID != c.allIDs[i] {
			return false
		}
		if e, ok := c.byID[v.ID]; !ok || !e.matches(v, key) {
			return false
		}
	}
	return true
}

func (e nodeJSONEntry) matches(v controlapi.NodeView, key envKey) bool {
	if e.node != v.Node || e.env != key || e.isManager != (v.ManagerStatus != nil) {
		return false
	}
	return v.ManagerStatus == nil || e.ms == *v.ManagerStatus
}

// encodeCompact is v's JSON as writeJSON writes it (HTML characters not
// escaped), without the final newline.
func encodeCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
