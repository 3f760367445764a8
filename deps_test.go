package shoal_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/shoal-project/shoal"

// layer is a group of packages whose imports are bounded for one reason.
type layer struct {
	why string
	// may maps each package of the layer to the internal packages it may
	// import (paths relative to the module). Anything else fails.
	may map[string][]string
}

// layers is the allow-list of internal imports (tailscale's deptest, the
// other way round: what a package may import, not what it must not). A new
// package, or a new import between packages, needs a line here, next to
// the reason of its layer. Test files are not checked: a package's tests may
// use any harness.
var layers = []layer{
	{
		why: "the domain model imports nothing internal, so that every package may import it",
		may: map[string][]string{
			"swarm": nil,
		},
	},
	{
		why: "wire formats (the node protocol, Docker's API types, the Docker API client) are shared by " +
			"both ends: they know the domain model and nothing of either end",
		may: map[string][]string{
			"dispatchapi": {"swarm"},
			"dockerapi":   {"swarm"},
			"client":      nil,
		},
	},
	{
		why: "identity and the cluster port sit below both the agent and the manager",
		may: map[string][]string{
			"ca":         {"swarm"},
			"clusternet": {"ca", "swarm"},
		},
	},
	{
		why: "a runtime runs tasks and nothing else: no certificates, no node protocol, no manager; " +
			"the agent gives it what it needs",
		may: map[string][]string{
			"agent/exec":         {"swarm"},
			"agent/exec/process": {"agent/exec", "swarm"},
			"agent/exec/docker":  {"agent/exec", "swarm"},
		},
	},
	{
		why: "the agent reaches managers through the node protocol only: it never imports the manager",
		may: map[string][]string{
			"agent": {"agent/exec", "ca", "clusternet", "dispatchapi", "swarm"},
		},
	},
	{
		why: "the manager's components read the store and write through a Proposer they declare: " +
			"none imports consensus (only manager wires them to it), nor each other",
		may: map[string][]string{
			"manager/store":        {"swarm"},
			"manager/consensus":    {"manager/store", "swarm"},
			"manager/controlapi":   {"manager/store", "swarm"},
			"manager/dispatcher":   {"dispatchapi", "manager/store", "swarm"},
			"manager/orchestrator": {"manager/store", "swarm"},
			"manager/scheduler":    {"manager/store", "swarm"},
		},
	},
	{
		why: "a running manager composes its components, its Raft member and the cluster port; never the agent",
		may: map[string][]string{
			"manager": {"ca", "clusternet", "dispatchapi", "manager/consensus", "manager/controlapi",
				"manager/dispatcher", "manager/orchestrator", "manager/scheduler", "manager/store", "swarm"},
		},
	},
	{
		why: "the Docker API server is HTTP only: the rules are controlapi's, the wire types dockerapi's",
		may: map[string][]string{
			"apiserver": {"dockerapi", "manager/controlapi", "swarm"},
		},
	},
	{
		why: "the composition root starts the roles: agent, runtimes, manager, API server",
		may: map[string][]string{
			"node": {"agent", "agent/exec", "agent/exec/docker", "agent/exec/process", "apiserver", "ca",
				"clusternet", "dispatchapi", "manager", "manager/store", "swarm"},
		},
	},
	{
		why: "the CLI talks to daemons through the client only: no server package, no certificates, " +
			"no node protocol; the binary adds the daemon command",
		may: map[string][]string{
			"cli":       {"client", "dockerapi"},
			"cmd/shoal": {"cli", "node"},
		},
	},
	{
		why: "harnesses drive shoal from outside, as a user would; simulated nodes are agents and never " +
			"reach into a manager",
		may: map[string][]string{
			"internal/fleet":  {"agent", "agent/exec/exectest", "ca", "client", "clusternet", "dispatchapi", "swarm"},
			"internal/chaos":  {"client", "internal/fleet"},
			"internal/e2e":    nil, // tests only: it runs the binary
			"cmd/shoal-bench": {"client", "internal/fleet"},
			"cmd/shoal-chaos": {"internal/chaos"},
		},
	},
	{
		why: "a test double package (<pkg>test) imports its package and what that package may import",
		may: map[string][]string{
			"agent/exec/exectest":     {"agent/exec", "swarm"},
			"apiserver/apiservertest": {"apiserver", "manager/controlapi", "swarm"},
			"ca/catest":               {"ca", "swarm"},
			"manager/storetest":       {"manager/store", "swarm"},
			"internal/tlstest":        nil,
		},
	},
	{
		why: "the module root holds this test only",
		may: map[string][]string{
			".": nil,
		},
	},
}

// dockerClients are the import paths of Docker API clients.
var dockerClients = []string{"github.com/docker/docker/client", "github.com/moby/moby/client"}

// TestDependencies enforces the one-way flow of the architecture
// (docs/architecture.md): every package is in one layer, and its internal
// imports are in its allow-list; only agent/exec/docker imports a Docker
// client; production code never imports testing.
func TestDependencies(t *testing.T) {
	allowed := allowLists(t)
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr) // e.g. an import cycle
	} else if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := rel(fields[0])
		listed[pkg] = true
		l, ok := allowed[pkg]
		if !ok {
			t.Errorf("%s is in no layer of deps_test.go: add it, with the internal packages it may import", pkg)
		}
		for _, imp := range fields[1:] {
			checkImport(t, pkg, imp, l)
		}
	}
	for pkg := range allowed {
		if !listed[pkg] {
			t.Errorf("deps_test.go allows imports for %s, which is no longer a package: remove it", pkg)
		}
	}
}

// allowLists returns each package's layer; a package in two layers fails.
func allowLists(t *testing.T) map[string]layer {
	t.Helper()
	m := map[string]layer{}
	for _, l := range layers {
		for pkg := range l.may {
			if _, dup := m[pkg]; dup {
				t.Errorf("deps_test.go lists %s in two layers", pkg)
			}
			m[pkg] = l
		}
	}
	return m
}

// checkImport checks one import of pkg, a package of layer l (the zero
// layer if pkg is in none: then only the testing and Docker client rules
// apply).
func checkImport(t *testing.T, pkg, imp string, l layer) {
	t.Helper()
	if imp == "testing" && !strings.HasSuffix(pkg, "test") && pkg != "internal/e2e" {
		t.Errorf("%s imports testing: test helpers belong in a <pkg>test package", pkg)
	}
	if slices.Contains(dockerClients, imp) && pkg != "agent/exec/docker" {
		t.Errorf("%s imports a Docker client (%s): only agent/exec/docker may", pkg, imp)
	}
	if l.may == nil || (imp != mod && !strings.HasPrefix(imp, mod+"/")) {
		return
	}
	if dep := rel(imp); !slices.Contains(l.may[pkg], dep) {
		t.Errorf("%s imports %s, not in its allow-list: %s", pkg, dep, l.why)
	}
}

// rel is an import path of the module relative to the module ("." for
// the root).
func rel(path string) string {
	if path == mod {
		return "."
	}
	return strings.TrimPrefix(path, mod+"/")
}
