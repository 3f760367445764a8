package docker

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/shoal-project/shoal/swarm"
)

func TestContainerName(t *testing.T) {
	for want, task := range map[string]*swarm.Task{
		"web.3.t1":       {ID: "t1", ServiceName: "web", Slot: 3},
		"agent.node1.t2": {ID: "t2", ServiceName: "agent", NodeID: "node1"}, // global
		"task.node1.t3":  {ID: "t3", NodeID: "node1"},
	} {
		if got := ContainerName(task); got != want {
			t.Errorf("ContainerName = %q, want %q", got, want)
		}
	}
}

func TestContainerConfig(t *testing.T) {
	task := &swarm.Task{ID: "t1", ServiceID: "s1", ServiceName: "web", Slot: 2, NodeID: "n-other",
		Spec: swarm.TaskSpec{
			Container: swarm.ContainerSpec{Image: "img:1", Command: []string{"/bin/app"}, Args: []string{"-v"},
				Env: []string{"A=1"}, Dir: "/srv", User: "1000:1000", Hostname: "h1", TTY: true,
				Labels:     map[string]string{"x": "y", LabelNodeID: "forged"},
				StopSignal: "SIGINT", StopGracePeriod: grace(1500 * time.Millisecond)},
			Resources: swarm.ResourceRequirements{Limits: swarm.Resources{NanoCPUs: 5e8, MemoryBytes: 64 << 20},
				Reservations: swarm.Resources{MemoryBytes: 32 << 20}},
		}}
	cfg, host := containerConfig(task, "n1")
	if cfg.Image != "img:1" || !slices.Equal(cfg.Entrypoint, []string{"/bin/app"}) || !slices.Equal(cfg.Cmd, []string{"-v"}) ||
		!slices.Equal(cfg.Env, []string{"A=1"}) || cfg.WorkingDir != "/srv" || cfg.User != "1000:1000" ||
		cfg.Hostname != "h1" || !cfg.Tty || cfg.StopSignal != "SIGINT" || cfg.StopTimeout == nil || *cfg.StopTimeout != 2 {
		t.Fatalf("config %+v", cfg)
	}
	wantLabels := map[string]string{"x": "y", LabelTask: "", LabelTaskID: "t1", LabelTaskName: "web.2.t1",
		LabelServiceID: "s1", LabelServiceName: "web", LabelNodeID: "n1", LabelRuntime: "docker"}
	if !maps.Equal(cfg.Labels, wantLabels) {
		t.Fatalf("labels %v, want %v", cfg.Labels, wantLabels)
	}
	if task.Spec.Container.Labels[LabelNodeID] != "forged" {
		t.Fatal("the spec's labels were modified")
	}
	if host.Memory != 64<<20 || host.NanoCPUs != 5e8 || host.MemoryReservation != 32<<20 ||
		host.RestartPolicy.Name != container.RestartPolicyDisabled {
		t.Fatalf("host config %+v", host)
	}
}

// TestContainerConfigIsolation: every isolation field of the spec reaches
// the container's host config (none was passed before: the container ran
// with the engine's defaults).
func TestContainerConfigIsolation(t *testing.T) {
	c := swarm.ContainerSpec{Image: "img", User: "nobody", Groups: []string{"adm"}, ReadOnly: true,
		CapabilityAdd: []string{"CAP_NET_ADMIN"}, CapabilityDrop: []string{"ALL"},
		Ulimits: []swarm.Ulimit{{Name: "nofile", Soft: 100, Hard: 200}},
		Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}, NoNewPrivileges: true,
		Mounts: []swarm.Mount{{Type: swarm.MountBind, Source: "/etc", Target: "/host-etc", ReadOnly: true},
			{Type: swarm.MountTmpfs, Target: "/tmp", TmpfsSize: 1 << 20, TmpfsMode: 0o1777}}}
	task := &swarm.Task{ID: "t1", ServiceName: "web", Slot: 1, Spec: swarm.TaskSpec{Container: c}}
	cfg, host := containerConfig(task, "n1")
	wantMounts := []mount.Mount{{Type: mount.TypeBind, Source: "/etc", Target: "/host-etc", ReadOnly: true},
		{Type: mount.TypeTmpfs, Target: "/tmp", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o1777}}}
	if cfg.User != "nobody" || !host.ReadonlyRootfs || !slices.Equal(host.GroupAdd, []string{"adm"}) ||
		!slices.Equal(host.CapAdd, []string{"CAP_NET_ADMIN"}) || !slices.Equal(host.CapDrop, []string{"ALL"}) ||
		len(host.Ulimits) != 1 || *host.Ulimits[0] != (container.Ulimit{Name: "nofile", Soft: 100, Hard: 200}) ||
		!maps.Equal(host.Sysctls, c.Sysctls) || !slices.Equal(host.SecurityOpt, []string{"no-new-privileges"}) ||
		!reflect.DeepEqual(host.Mounts, wantMounts) {
		t.Fatalf("host config %+v", host)
	}
}

// TestContainerConfigImageDefaults: no Command keeps the image's
// entrypoint, no Args its command; no grace period means Docker's 10s.
func TestContainerConfigImageDefaults(t *testing.T) {
	task := &swarm.Task{ID: "t1", ServiceName: "web", Slot: 1, Spec: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "img"}}}
	cfg, _ := containerConfig(task, "n1")
	if cfg.Entrypoint != nil || cfg.Cmd != nil || *cfg.StopTimeout != 10 {
		t.Fatalf("entrypoint %q cmd %q timeout %d", cfg.Entrypoint, cfg.Cmd, *cfg.StopTimeout)
	}
}

func TestGraceSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 0, time.Millisecond: 1, time.Second: 1, 2500 * time.Millisecond: 3, time.Minute: 60} {
		if got := graceSeconds(d); got != want {
			t.Errorf("graceSeconds(%v) = %d, want %d", d, got, want)
		}
	}
	if got := stopGrace(swarm.ContainerSpec{StopGracePeriod: grace(-time.Second)}); got != 0 {
		t.Errorf("negative grace: %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatalf("no node ID: %v", err)
	}
	if _, err := New(Config{}); !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatalf("New without node ID: %v", err)
	}
}

// TestNewUnreachable: an engine that does not answer is a clear error at
// start, not a failure of every task later.
func TestNewUnreachable(t *testing.T) {
	sock := "unix://" + t.TempDir() + "/none.sock"
	_, err := New(Config{Host: sock, NodeID: "n1"})
	if !errors.Is(err, swarm.ErrUnavailable) {
		t.Fatalf("New: %v", err)
	}
	t.Log(err)
}

func TestControllerRefusesBadTasks(t *testing.T) {
	e := &Executor{cfg: Config{NodeID: "n1"}.withDefaults(), tasks: map[swarm.TaskID]*record{}}
	for _, task := range []*swarm.Task{nil, {ServiceName: "web"}, {ID: "t1"}} {
		if _, err := e.Controller(task); !errors.Is(err, swarm.ErrInvalidArgument) {
			t.Errorf("Controller(%+v): %v", task, err)
		}
	}
}
