package shoal_test

import (
	"os/exec"
	"strings"
	"testing"
)

// rule forbids packages matching from to import packages matching to.
type rule struct {
	from, to string
	why      string
}

const mod = "github.com/shoal-project/shoal/"

var rules = []rule{
	{"swarm", "*", "the domain model imports nothing internal"},
	{"agent", "manager", "the agent never imports the manager"},
	{"cli", "node", "the CLI talks to daemons only through the client"},
	{"cli", "manager", "the CLI talks to daemons only through the client"},
	{"cli", "apiserver", "the CLI talks to daemons only through the client"},
	{"client", "manager", "the client speaks the wire protocol only"},
	{"client", "node", "the client speaks the wire protocol only"},
	{"manager/consensus", "manager/controlapi", "consensus is below the control API"},
	{"manager/store", "manager/consensus", "the store never knows about Raft"},
	{"manager/controlapi", "manager/consensus", "the control API writes through a Proposer"},
	{"manager/dispatcher", "manager/consensus", "the dispatcher writes through a Proposer"},
	{"dispatchapi", "manager", "the protocol package is shared by both sides"},
	{"dispatchapi", "agent", "the protocol package is shared by both sides"},
	{"internal/chaos", "manager", "the fault harness drives shoal from outside, as a user would"},
	{"internal/chaos", "node", "the fault harness drives shoal from outside, as a user would"},
	{"internal/fleet", "manager", "simulated nodes are agents: they never reach into a manager"},
}

// TestDependencies enforces the one-way flow of the architecture
// (docs/architecture.md): which packages may import which.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		for _, imp := range fields[1:] {
			checkImport(t, pkg, imp)
		}
	}
}

func checkImport(t *testing.T, pkg, imp string) {
	t.Helper()
	if imp == "testing" && !strings.HasSuffix(pkg, "test") && pkg != "internal/e2e" {
		t.Errorf("%s imports testing: test helpers belong in a <pkg>test package", pkg)
	}
	if strings.Contains(imp, "docker/docker/client") || strings.Contains(imp, "moby/moby/client") {
		if !strings.HasPrefix(pkg, "agent/exec/docker") && !strings.HasSuffix(pkg, "_test") {
			t.Errorf("%s imports a Docker client: only agent/exec/docker may", pkg)
		}
	}
	if !strings.HasPrefix(imp, mod) {
		return
	}
	dep := strings.TrimPrefix(imp, mod)
	for _, r := range rules {
		if under(pkg, r.from) && (r.to == "*" || under(dep, r.to)) {
			t.Errorf("%s imports %s: %s", pkg, dep, r.why)
		}
	}
}

func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }
