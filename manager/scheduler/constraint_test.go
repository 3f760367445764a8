package scheduler

import (
	"errors"
	"testing"

	"github.com/shoal-project/shoal/swarm"
)

func TestParseConstraintsRefusesBadSyntaxInDockersWords(t *testing.T) {
	tests := []struct{ expr, err string }{
		{"", "constraint expected one operator from ==, !="},
		{"   ", "constraint expected one operator from ==, !="},
		{"nodeabc", "constraint expected one operator from ==, !="},
		{"node ~ abc", "constraint expected one operator from ==, !="},
		{"node.labels.zone=a", "constraint expected one operator from ==, !="},
		{"1node==a2", "key '1node' is invalid"},
		{"no de==node1", "key 'no de' is invalid"},
		{"no*de==node1", "key 'no*de' is invalid"},
		{"==node1", "key '' is invalid"},
		{"n==x", "key 'n' is invalid"},
		{"a!=b==c", "key 'a!=b' is invalid"}, // split at the first operator Docker tries
		{"node==", "value '' is invalid"},
		{"node== ", "value '' is invalid"},
		{"node==a<b", "value 'a<b' is invalid"},
		{"node==a=b", "value 'a=b' is invalid"},
	}
	for _, tt := range tests {
		_, err := ParseConstraints([]string{"node.role==worker", tt.expr})
		if err == nil || err.Error() != tt.err {
			t.Errorf("ParseConstraints(%q) = %v, want %q", tt.expr, err, tt.err)
			continue
		}
		if !errors.Is(err, swarm.ErrInvalidArgument) {
			t.Errorf("ParseConstraints(%q): %v is not an invalid argument", tt.expr, err)
		}
	}
}

func TestParseConstraintsAcceptsDockersSyntax(t *testing.T) {
	tests := []struct {
		expr string
		want Constraint
	}{
		{"node.labels.zone==a", Constraint{"node.labels.zone", OpEqual, "a"}},
		{" node.role != manager ", Constraint{"node.role", OpNotEqual, "manager"}},
		{"NoDe.HostName==Host-1", Constraint{"NoDe.HostName", OpEqual, "Host-1"}},
		{"_node==_node1", Constraint{"_node", OpEqual, "_node1"}},
		{"node==[a-b]+c*(n|b)/", Constraint{"node", OpEqual, "[a-b]+c*(n|b)/"}},
		{"node==node 1", Constraint{"node", OpEqual, "node 1"}},
		{"node.ip==10.0.0.0/24", Constraint{"node.ip", OpEqual, "10.0.0.0/24"}},
		{"node.ip!=2001:db8::1", Constraint{"node.ip", OpNotEqual, "2001:db8::1"}},
	}
	for _, tt := range tests {
		got, err := ParseConstraints([]string{tt.expr})
		if err != nil || len(got) != 1 || got[0] != tt.want {
			t.Errorf("ParseConstraints(%q) = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
	if got, err := ParseConstraints(nil); err != nil || len(got) != 0 {
		t.Errorf("ParseConstraints(nil) = %v, %v", got, err)
	}
}

func TestConstraintMatches(t *testing.T) {
	n := &swarm.Node{
		ID:          "abc123",
		Spec:        swarm.NodeSpec{Role: swarm.RoleManager, Labels: map[string]string{"zone": "eu-1", "Disk": "ssd"}},
		Description: swarm.NodeDescription{Hostname: "Host-1", OS: "linux", Architecture: "amd64"},
		Status:      swarm.NodeStatus{Addr: "10.0.0.7"},
	}
	tests := []struct {
		expr string
		want bool
	}{
		{"node.id==abc123", true},
		{"node.id==ABC123", true}, // values compare case-insensitively
		{"node.id!=abc123", false},
		{"node.id==abc", false},
		{"node.hostname==host-1", true},
		{"NODE.HOSTNAME!=other", true},
		{"node.role==manager", true},
		{"node.role!=manager", false},
		{"node.role==worker", false},
		{"node.labels.zone==EU-1", true},
		{"node.labels.zone!=eu-1", false},
		{"node.labels.Disk==ssd", true},
		{"node.labels.disk==ssd", false}, // label names are case-sensitive
		{"node.labels.missing!=x", true}, // a missing label is empty
		{"node.labels.missing==x", false},
		{"Node.Labels.zone==eu-1", true},
		{"node.platform.os==linux", true},
		{"node.platform.arch!=amd64", false},
		{"engine.labels.x!=y", true},
		{"engine.labels.x==y", false},
		{"node.ip==10.0.0.7", true},
		{"node.ip!=10.0.0.7", false},
		{"node.ip==10.0.0.0/24", true},
		{"node.ip!=10.0.1.0/24", true},
		{"node.ip==not-an-ip", false},
		{"node.ip!=not-an-ip", false},
		{"node.name==x", false}, // no such key: fails either way
		{"node.name!=x", false},
		{"node.labels==x", false},
	}
	for _, tt := range tests {
		cs, err := ParseConstraints([]string{tt.expr})
		if err != nil {
			t.Fatalf("ParseConstraints(%q): %v", tt.expr, err)
		}
		if got := MatchNode(cs, n); got != tt.want {
			t.Errorf("%s on node: %v, want %v", tt.expr, got, tt.want)
		}
	}
	n.Status.Addr = "10.0.0.7:4567"
	if cs, _ := ParseConstraints([]string{"node.ip==10.0.0.7"}); !MatchNode(cs, n) {
		t.Error("node.ip must ignore the port of the node's address")
	}
}

func TestMatchNodeNeedsEveryConstraint(t *testing.T) {
	n := &swarm.Node{ID: "n1", Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Labels: map[string]string{"zone": "a"}}}
	cs, err := ParseConstraints([]string{"node.role==worker", "node.labels.zone==a"})
	if err != nil || !MatchNode(cs, n) {
		t.Fatalf("both constraints hold: %v", err)
	}
	cs = append(cs, Constraint{"node.id", OpEqual, "n2"})
	if MatchNode(cs, n) {
		t.Fatal("a third constraint fails")
	}
	if !MatchNode(nil, n) {
		t.Fatal("no constraints match every node")
	}
}
