package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// Workload settings.
const (
	// OpTimeout is each request's deadline: a request without an answer
	// by then is a hang (unless its host was dead or frozen).
	OpTimeout = 8 * time.Second
	// valueLabel holds the register value of a service.
	valueLabel = "chaos.value"
	// svcEnv names a task process's service, to count processes per service.
	svcEnv = "CHAOS_SVC"
)

// Sabotages: ways to break an invariant on purpose, to show that the
// checks catch it on a live cluster.
const (
	// SabotageStartFirst creates services whose updates start the new task
	// before stopping the old one, while the slot check still allows one
	// running task per slot.
	SabotageStartFirst = "start-first"
	// SabotageAckRefused records writes refused as out of sequence or as
	// a taken name as acknowledged.
	SabotageAckRefused = "ack-refused"
	// SabotageForgetFreeze freezes the leader without telling the hang
	// check, so that requests to the frozen host count as hangs.
	SabotageForgetFreeze = "forget-freeze"
)

// Workload runs concurrent clients against the managers, recording every
// operation in a history.
type Workload struct {
	Keys    []string // service names
	Clients int
	Pause   time.Duration // between two operations of one client
	History *History

	// Sabotage breaks the workload on purpose (see the Sabotage constants).
	Sabotage string

	targets []*Host
	seed    uint64
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// NewWorkload prepares clients over the given managers and service names.
func NewWorkload(targets []*Host, keys []string, clients int, seed uint64) *Workload {
	return &Workload{Keys: keys, Clients: clients, Pause: 100 * time.Millisecond,
		History: &History{}, targets: targets, seed: seed}
}

// Start starts the clients.
func (w *Workload) Start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	for i := range w.Clients {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.client(ctx, i)
		}()
	}
}

// Stop stops the clients and waits for their last operations.
func (w *Workload) Stop() {
	w.cancel()
	w.wg.Wait()
}

// client is one client's loop: each operation goes to a random manager.
func (w *Workload) client(ctx context.Context, id int) {
	rng := rand.New(rand.NewPCG(w.seed, uint64(id)))
	for seq := 0; ctx.Err() == nil; seq++ {
		h := w.targets[rng.IntN(len(w.targets))]
		key := w.Keys[rng.IntN(len(w.Keys))]
		value := fmt.Sprintf("c%d-%d", id, seq)
		replicas := uint64(1 + rng.IntN(3))
		switch r := rng.IntN(100); {
		case r < 25:
			w.create(ctx, id, h, key, replicas, value)
		case r < 65:
			w.readThenUpdate(ctx, id, h, key, replicas, value)
		case r < 90:
			w.inspect(ctx, id, h, key)
		default:
			w.list(ctx, id, h)
		}
		select {
		case <-ctx.Done():
		case <-time.After(w.Pause):
		}
	}
}

// do runs one request (see timed) and records it.
func (w *Workload) do(ctx context.Context, op *Op, fn func(context.Context) error) {
	timed(ctx, op, fn)
	if w.Sabotage == SabotageAckRefused && (op.Reject == RejectOutOfSeq || op.Reject == RejectExists) {
		op.Outcome, op.Reject = OK, ""
	}
	w.History.Add(op)
}

// timed runs one request with the operation deadline, even when the
// workload is being stopped, and sets the operation's times and outcome.
func timed(ctx context.Context, op *Op, fn func(context.Context) error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), OpTimeout)
	defer cancel()
	op.Start = time.Now()
	err := fn(rctx)
	op.End = time.Now()
	classify(rctx, op, err)
}

func (w *Workload) create(ctx context.Context, id int, h *Host, key string, replicas uint64, value string) {
	op := &Op{Client: id, Kind: OpCreate, Target: h.Name, Key: key, Replicas: replicas, Value: value}
	w.do(ctx, op, func(ctx context.Context) error {
		spec := serviceSpec(key, replicas, value)
		if w.Sabotage == SabotageStartFirst {
			spec.UpdateConfig = &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst}
		}
		_, _, err := h.api.ServiceCreate(ctx, spec, client.ServiceCreateOptions{})
		return err
	})
}

// readThenUpdate inspects the service, then updates it with the version
// read: the update succeeds only if the value is still the one read.
func (w *Workload) readThenUpdate(ctx context.Context, id int, h *Host, key string, replicas uint64, value string) {
	svc, ok := w.inspect(ctx, id, h, key)
	if !ok || ctx.Err() != nil {
		return
	}
	op := &Op{Client: id, Kind: OpUpdate, Target: h.Name, Key: key, Replicas: replicas, Value: value,
		Expect: svc.Spec.Labels[valueLabel]}
	spec := svc.Spec
	setValue(&spec, key, replicas, value)
	w.do(ctx, op, func(ctx context.Context) error {
		_, err := h.api.ServiceUpdate(ctx, svc.ID, svc.Version, spec, client.ServiceUpdateOptions{})
		return err
	})
}

// inspect reads one service; it returns the service when found.
func (w *Workload) inspect(ctx context.Context, id int, h *Host, key string) (swarm.Service, bool) {
	op := &Op{Client: id, Kind: OpRead, Target: h.Name, Key: key}
	var svc swarm.Service
	w.do(ctx, op, func(ctx context.Context) error {
		var err error
		svc, _, err = h.api.ServiceInspect(ctx, key, false)
		if client.IsNotFound(err) {
			return nil
		}
		if err == nil {
			op.Found = true
			op.ReadValue, op.ReadReplicas = readValue(svc)
		}
		return err
	})
	return svc, op.Found
}

// list reads every service at once; it is recorded as one read per key,
// all with the list's start and end.
func (w *Workload) list(ctx context.Context, id int, h *Host) {
	var services []swarm.Service
	probe := &Op{Client: id, Kind: OpRead, Target: h.Name, Key: "(list)"}
	timed(ctx, probe, func(ctx context.Context) error {
		var err error
		services, err = h.api.ServiceList(ctx, nil, false)
		return err
	})
	if probe.Outcome != OK {
		w.History.Add(probe) // for the hang and no-quorum checks
		return
	}
	byName := map[string]swarm.Service{}
	for _, s := range services {
		byName[s.Spec.Name] = s
	}
	for _, key := range w.Keys {
		op := *probe
		op.Key = key
		if s, ok := byName[key]; ok {
			op.Found = true
			op.ReadValue, op.ReadReplicas = readValue(s)
		}
		w.History.Add(&op)
	}
}

// serviceSpec is a replicated service of the process runtime whose task
// sleeps; its value is a label and an environment variable (so that a
// change of value rolls the tasks).
func serviceSpec(name string, replicas uint64, value string) swarm.ServiceSpec {
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
			Image:   "busybox",
			Command: []string{"sleep", "100000"},
		}},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{}},
	}
	setValue(&spec, name, replicas, value)
	return spec
}

func setValue(spec *swarm.ServiceSpec, name string, replicas uint64, value string) {
	spec.Labels = map[string]string{valueLabel: value}
	spec.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}}
	if spec.TaskTemplate.ContainerSpec == nil {
		spec.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{}
	}
	spec.TaskTemplate.ContainerSpec.Env = []string{svcEnv + "=" + name, "CHAOS_VALUE=" + value}
}

// readValue returns a service's register value and replicas.
func readValue(s swarm.Service) (string, uint64) {
	var replicas uint64
	if s.Spec.Mode.Replicated != nil && s.Spec.Mode.Replicated.Replicas != nil {
		replicas = *s.Spec.Mode.Replicated.Replicas
	}
	return s.Spec.Labels[valueLabel], replicas
}
