package controlapi

import (
	"fmt"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Unconfirmed tasks.
//
// While a node is in doubt (Unknown, then Down) its tasks keep the state it
// last reported: nobody can know their real state. Every task of such a
// node not known to have ended shows so in its Status.Err, the ERROR
// column of `docker service ps` (Docker's state names unchanged):
//
//	unconfirmed: node dev01 unreachable since 22:01:03 UTC, last reported running
//
// The words are derived when a task is shown, not stored: they follow the
// node's stored state exactly (they go away the moment the node is Ready
// again, or when its task reports how it ended), and cost no Raft write. A
// stored form would write every task of a node each time it goes in doubt
// and comes back (10,000 task updates when a 1,000-node swarm's leader
// stalls and half the nodes go Unknown, the worst moment for a burst of
// writes), and its removal would race the node's own reports (the store
// accepts only forward moves, and a task that kept running reports
// nothing new). GET /tasks and GET /tasks/{id} are the only ways to see a
// task (service ps, docker inspect, a follower forwards them here), so
// both derive it.

// doubts maps each node in doubt to the words its tasks show.
type doubts map[swarm.NodeID]string

// nodesInDoubt lists the nodes in doubt, or nil when there are none.
func nodesInDoubt(tx store.ReadTxn) doubts {
	nodes, err := store.ListNodes(tx)
	if err != nil {
		return nil
	}
	var d doubts
	now := time.Now()
	for _, n := range nodes {
		if w, ok := doubtOf(n, now); ok {
			if d == nil {
				d = doubts{}
			}
			d[n.ID] = w
		}
	}
	return d
}

// doubtOf returns the words of a node in doubt.
func doubtOf(n *swarm.Node, now time.Time) (string, bool) {
	if n.Status.State != swarm.NodeStateUnknown && n.Status.State != swarm.NodeStateDown {
		return "", false
	}
	since := n.Status.LastSeen
	if since.IsZero() { // written before LastSeen existed: when it went in doubt
		since = n.UpdatedAt
	}
	return fmt.Sprintf("unconfirmed: node %s unreachable since %s", n.Name(), clock(since, now)), true
}

// clock is a time of day in the daemon's zone, with the date if it is not
// today's.
func clock(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05 MST")
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// show returns t as the API shows it: a copy with the words in its
// Status.Err if its node is in doubt and it is not known to have ended;
// else t itself.
func (d doubts) show(t *swarm.Task) *swarm.Task {
	if len(d) == 0 || t.NodeID == "" || t.Status.State.Terminal() {
		return t
	}
	words, ok := d[t.NodeID]
	if !ok {
		return t
	}
	c := *t // only Status changes; the rest stays shared with the store, read only
	words += ", last reported " + t.Status.State.String()
	if c.Status.Err != "" {
		words += ": " + c.Status.Err
	}
	c.Status.Err = words
	return &c
}

// showTask is show for one task: only its node is read.
func showTask(tx store.ReadTxn, t *swarm.Task) *swarm.Task {
	if t.NodeID == "" || t.Status.State.Terminal() {
		return t
	}
	n, err := store.GetNode(tx, t.NodeID)
	if err != nil {
		return t
	}
	w, ok := doubtOf(n, time.Now())
	if !ok {
		return t
	}
	return doubts{n.ID: w}.show(t)
}
