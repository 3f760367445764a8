package chaos

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/client"
)

// t0 is the origin of the synthetic histories.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func create(client, from, to int, key string, replicas uint64, value string, out Outcome, reject string) *Op {
	return &Op{Client: client, Kind: OpCreate, Key: key, Target: "chaos1", Replicas: replicas, Value: value,
		Start: at(from), End: at(to), Outcome: out, Reject: reject}
}

func update(client, from, to int, key, expect string, replicas uint64, value string, out Outcome) *Op {
	return &Op{Client: client, Kind: OpUpdate, Key: key, Target: "chaos1", Expect: expect, Replicas: replicas, Value: value,
		Start: at(from), End: at(to), Outcome: out}
}

func read(client, from, to int, key string, found bool, replicas uint64, value string) *Op {
	return &Op{Client: client, Kind: OpRead, Key: key, Target: "chaos1", Found: found, ReadReplicas: replicas, ReadValue: value,
		Start: at(from), End: at(to), Outcome: OK}
}

func wantViolation(t *testing.T, vs []Violation, check string) {
	t.Helper()
	for _, v := range vs {
		if v.Check == check {
			return
		}
	}
	t.Fatalf("want a %q violation, got %v", check, vs)
}

func wantNone(t *testing.T, vs []Violation) {
	t.Helper()
	if len(vs) > 0 {
		t.Fatalf("want no violation, got %v", vs)
	}
}

func TestLinearizableAcceptsAValidHistory(t *testing.T) {
	ops := []*Op{
		read(0, 0, 10, "a", false, 0, ""),
		create(0, 20, 30, "a", 1, "v1", OK, ""),
		create(1, 25, 40, "a", 2, "x", Failed, RejectExists),
		update(1, 50, 60, "a", "v1", 3, "v2", OK),
		update(0, 55, 65, "a", "v1", 1, "v3", Failed), // out of sequence
		read(0, 70, 80, "a", true, 3, "v2"),
		// An update of unknown outcome that took effect later.
		update(2, 90, 100, "a", "v2", 2, "v4", Unknown),
		read(1, 200, 210, "a", true, 2, "v4"),
	}
	ops[4].Reject = RejectOutOfSeq
	wantNone(t, CheckLinearizable(ops, 10*time.Second))
}

func TestLinearizableDetectsAStaleRead(t *testing.T) {
	ops := []*Op{
		create(0, 0, 10, "a", 1, "v1", OK, ""),
		update(0, 20, 30, "a", "v1", 2, "v2", OK),
		// After the update was acknowledged, a read returns the old value.
		read(1, 40, 50, "a", true, 1, "v1"),
	}
	wantViolation(t, CheckLinearizable(ops, 10*time.Second), "linearizability")
}

func TestLinearizableDetectsTwoCreatesOfOneName(t *testing.T) {
	ops := []*Op{
		create(0, 0, 10, "a", 1, "v1", OK, ""),
		create(1, 5, 15, "a", 1, "v2", OK, ""),
	}
	wantViolation(t, CheckLinearizable(ops, 10*time.Second), "linearizability")
}

func TestLinearizableDetectsAFailedWriteThatTookEffect(t *testing.T) {
	ops := []*Op{
		create(0, 0, 10, "a", 1, "v1", OK, ""),
		// Refused as out of sequence, yet its value is read later.
		{Client: 1, Kind: OpUpdate, Key: "a", Expect: "v1", Replicas: 2, Value: "v2", Start: at(20), End: at(30),
			Outcome: Failed, Reject: RejectOutOfSeq},
		read(0, 40, 50, "a", true, 2, "v2"),
	}
	wantViolation(t, CheckLinearizable(ops, 10*time.Second), "linearizability")
}

func TestNoLostWritesDetectsALostWrite(t *testing.T) {
	ops := []*Op{
		create(0, 0, 10, "a", 1, "v1", OK, ""),
		update(0, 20, 30, "a", "v1", 2, "v2", OK),
	}
	final := map[string]*Op{"a": read(9, 100, 110, "a", true, 1, "v1")}
	wantViolation(t, CheckNoLostWrites(ops, final), "lost write")

	final = map[string]*Op{"a": read(9, 100, 110, "a", false, 0, "")}
	wantViolation(t, CheckNoLostWrites(ops, final), "lost write")

	final = map[string]*Op{"a": read(9, 100, 110, "a", true, 2, "v2")}
	wantNone(t, CheckNoLostWrites(ops, final))

	// An unknown write that overtook the acknowledged one is no loss.
	ops = append(ops, update(1, 25, 35, "a", "v2", 3, "v3", Unknown))
	final = map[string]*Op{"a": read(9, 100, 110, "a", true, 3, "v3")}
	wantNone(t, CheckNoLostWrites(ops, final))
}

func TestLeadersDetectsTwoLeadersInATerm(t *testing.T) {
	claims := []LeaderClaim{
		{Host: "chaos1", Node: "n1", Term: 2},
		{Host: "chaos2", Node: "n2", Term: 3},
		{Host: "chaos3", Node: "n3", Term: 3},
	}
	vs := CheckLeaders(claims)
	wantViolation(t, vs, "one leader per term")
	if !strings.Contains(vs[0].Detail, "term 3") {
		t.Fatalf("violation names the wrong term: %v", vs)
	}
	wantNone(t, CheckLeaders(claims[:2]))
}

func TestLeaderClaimsAreReadFromLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chaos1.log")
	log := `time=2026-01-01T00:00:00Z level=INFO msg="became leader" node=abc term=4
time=2026-01-01T00:00:01Z level=INFO msg="something else" node=abc
==== chaos: starting chaos1
time=2026-01-01T00:00:05Z level=INFO msg="became leader" node=abc term=7
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	claims, err := readLeaderClaims("chaos1", path)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 2 || claims[0].Term != 4 || claims[1].Term != 7 || claims[1].Node != "abc" {
		t.Fatalf("claims = %+v", claims)
	}
}

func TestMinorityDetectsAnAcknowledgedWrite(t *testing.T) {
	w := []Window{{Fault: PartitionLeader, Hosts: []string{"chaos1"}, Start: at(100), End: at(1000)}}
	ops := []*Op{
		create(0, 50, 150, "a", 1, "v0", OK, ""),  // started before the cut
		create(0, 200, 300, "b", 1, "v1", OK, ""), // acknowledged by the cut-off host
	}
	ops[0].Target = "chaos1"
	vs := CheckMinority(ops, w)
	wantViolation(t, vs, "minority acknowledged a write")
	if len(vs) != 1 || !strings.Contains(vs[0].Detail, "v1") {
		t.Fatalf("violations = %v", vs)
	}
	ops[1].Target = "chaos2"
	wantNone(t, CheckMinority(ops, w))
}

func TestNoQuorumDetectsHangsAndUnclearErrors(t *testing.T) {
	w := []Window{{Fault: PartitionMajority, Start: at(0), End: at(20000)}}
	clear := &Op{Kind: OpRead, Key: "a", Start: at(5000), End: at(5010), Outcome: Failed,
		Status: http.StatusServiceUnavailable, Err: "The swarm does not have a leader. It's possible..."}
	wantNone(t, CheckNoQuorum([]*Op{clear}, w, 3*time.Second, 2*time.Second))

	slow := *clear
	slow.End = at(9000)
	wantViolation(t, CheckNoQuorum([]*Op{&slow}, w, 3*time.Second, 2*time.Second), "clear errors without quorum")

	vague := *clear
	vague.Status, vague.Err = 500, "internal error"
	wantViolation(t, CheckNoQuorum([]*Op{&vague}, w, 3*time.Second, 2*time.Second), "clear errors without quorum")

	ok := *clear
	ok.Outcome = OK
	wantViolation(t, CheckNoQuorum([]*Op{&ok}, w, 3*time.Second, 2*time.Second), "clear errors without quorum")
}

func TestHangsDetectsAHangingRequest(t *testing.T) {
	hung := &Op{Kind: OpRead, Key: "a", Target: "chaos2", Start: at(0), End: at(8000), Outcome: Unknown, Err: "timeout"}
	wantViolation(t, CheckHangs([]*Op{hung}, nil, 7*time.Second), "no hang")
	// Not when the host was frozen meanwhile.
	frozen := []Window{{Fault: FreezeLeader, Hosts: []string{"chaos2"}, Start: at(1000), End: at(3000)}}
	wantNone(t, CheckHangs([]*Op{hung}, frozen, 7*time.Second))
}

func TestSlotsDetectsTwoRunningCopies(t *testing.T) {
	twice := []SlotSample{{At: at(5000), Service: "a", Slot: 1, Running: 2, Tasks: []string{"t1", "t2"}}}
	wantViolation(t, CheckSlots(twice, nil, 10*time.Second, 1), "copies per slot")
	// Excused during a disturbance and while it settles.
	dist := []Window{{Fault: KillLeader, Start: at(0), End: at(1000)}}
	wantNone(t, CheckSlots(twice, dist, 10*time.Second, 1))
	wantViolation(t, CheckSlots(twice, dist, time.Second, 1), "copies per slot")
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		kind   OpKind
		err    error
		out    Outcome
		reject string
	}{
		{OpCreate, nil, OK, ""},
		{OpCreate, &client.Error{StatusCode: 409, Message: "name conflicts"}, Failed, RejectExists},
		{OpUpdate, &client.Error{StatusCode: 500, Message: "update out of sequence"}, Failed, RejectOutOfSeq},
		{OpUpdate, &client.Error{StatusCode: 503, Message: "The swarm does not have a leader."}, Unknown, ""},
		{OpRead, &client.Error{StatusCode: 503, Message: "The swarm does not have a leader."}, Failed, RejectNoLeader},
		{OpUpdate, &client.ConnectError{Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, Failed, RejectNoConnect},
		{OpUpdate, &client.ConnectError{Err: &net.OpError{Op: "read", Err: errors.New("reset")}}, Unknown, ""},
		{OpCreate, context.DeadlineExceeded, Unknown, ""},
	}
	for _, c := range cases {
		op := &Op{Kind: c.kind}
		classify(ctx, op, c.err)
		if op.Outcome != c.out || op.Reject != c.reject {
			t.Errorf("%s with %v: got %s/%q, want %s/%q", c.kind, c.err, op.Outcome, op.Reject, c.out, c.reject)
		}
	}
}
