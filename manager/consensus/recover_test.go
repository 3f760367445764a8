package consensus

import (
	"context"
	"testing"

	"github.com/shoal-project/shoal/manager/store"
)

// A member that survived the loss of its quorum, recovered alone, leads a
// one-member cluster at once with every write it had, and accepts writes.
func TestRecoverAloneKeepsTheState(t *testing.T) {
	ms := cluster(t)
	ctx := context.Background()
	for _, id := range []string{"n1", "n2"} {
		if err := propose(ctx, ms[0], swarmID(id)); err != nil {
			t.Fatal(err)
		}
	}
	survivor := ms[1]
	waitFor(t, "the survivor has the writes", func() bool {
		_, err := store.GetNode(survivor.st.ReadTxn(), "n2")
		return err == nil
	})
	addr := survivor.mux.Addr().String()
	for _, m := range ms {
		m.stop()
	}
	cfg := survivor.r0cfg(addr)
	if err := Recover(cfg); err != nil {
		t.Fatal(err)
	}
	startMember(t, survivor, addr, false)
	waitFor(t, "the survivor leads alone", func() bool { return survivor.r.IsLeader() })
	for _, id := range []string{"n1", "n2"} {
		waitFor(t, "the write "+id, func() bool {
			_, err := store.GetNode(survivor.st.ReadTxn(), swarmID(id))
			return err == nil
		})
	}
	if err := propose(ctx, survivor, "n3"); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	members, err := survivor.r.Members()
	if err != nil || len(members) != 1 || members[0].ID != survivor.id {
		t.Fatalf("members after recovery: %+v, %v", members, err)
	}
}
