package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/internal/fleet"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	err := fleet.HeavyTestLock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m)
}

// quickSteps is the quick suite: one step per fault kind.
// The leader's freeze and partition hold longer than a request's deadline,
// so that a request stuck behind the lost leader shows as a hang.
var quickSteps = []Step{
	{Fault: KillLeader},
	{Fault: FreezeLeader, Hold: OpTimeout + 2*time.Second},
	{Fault: PartitionFollower},
	{Fault: PartitionLeader, Hold: OpTimeout + 2*time.Second},
	{Fault: PartitionMinority},
	{Fault: PartitionMajority},
	{Fault: OneWayLeader},
	{Fault: NetemAll},
	{Fault: RestartDaemon},
}

// TestQuickSuite runs every fault once on one five-host cluster (three
// managers, two workers), with the workload and every check. CHAOS_ONLY
// (comma-separated fault kinds) restricts it.
func TestQuickSuite(t *testing.T) {
	if err := Preflight(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("the quick chaos suite takes about three minutes")
	}
	dir, err := os.MkdirTemp("", "shoal-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := NewCluster(ctx, Config{Managers: 3, Workers: 2, Dir: dir})
	if err != nil {
		t.Fatalf("build the cluster (logs in %s): %v", dir, err)
	}
	defer func() {
		c.Close()
		if t.Failed() {
			t.Logf("daemon logs kept in %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	r := &Runner{C: c, Clients: 4, Keys: 3, Seed: 1, Out: testWriter{t}, Dir: dir}
	rng := rand.New(rand.NewPCG(1, 2))
	only := os.Getenv("CHAOS_ONLY")
	for _, step := range quickSteps {
		if only != "" && !strings.Contains(","+only+",", ","+step.Fault+",") {
			continue
		}
		step.Pre, step.Post = 2*time.Second, 2*time.Second
		if step.Hold == 0 {
			step.Hold = 6 * time.Second
		}
		t.Run(step.Fault, func(t *testing.T) {
			res, err := r.Run(ctx, step, rng)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			for _, v := range res.Violations {
				t.Error(v)
			}
		})
	}
	for _, sb := range sabotages {
		if only != "" && !strings.Contains(","+only+",", ",sabotage,") {
			continue
		}
		t.Run("sabotage-"+sb.step.Sabotage, func(t *testing.T) {
			res, err := r.Run(ctx, sb.step, rng)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			found := false
			for _, v := range res.Violations {
				found = found || v.Check == sb.want
				t.Logf("detected as intended: %s", v)
			}
			if !found {
				t.Errorf("sabotage %s went unnoticed: no %q violation", sb.step.Sabotage, sb.want)
			}
		})
	}
}

// sabotages break an invariant on purpose on the live cluster; each must
// be reported by its check.
var sabotages = []struct {
	step Step
	want string
}{
	{Step{Fault: NoFault, Sabotage: SabotageStartFirst, Pre: time.Second, Hold: 8 * time.Second, Post: time.Second}, "copies per slot"},
	{Step{Fault: NoFault, Sabotage: SabotageAckRefused, Pre: time.Second, Hold: 4 * time.Second, Post: time.Second}, "linearizability"},
	{Step{Fault: FreezeLeader, Sabotage: SabotageForgetFreeze, Pre: time.Second, Hold: OpTimeout + 2*time.Second, Post: time.Second}, "no hang"},
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
