package cli

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// bodyCase is a write command and the JSON body the docker CLI sends for
// it to the fixture daemon (recorded from docker 28.2.2).
type bodyCase struct {
	args  []string
	route string
	want  string
	pin   bool // the daemon's registry lookup answers with a digest
}

var bodyCases = []bodyCase{
	{args: []string{"service", "create", "-d", "--name", "e1", "-e", "A=1", "-e", "B=2", "-e", "A=3", "-e", "C", "-l", "x=1", "-l", "y",
		"--container-label", "k=v", "--constraint", "node.role==worker", "--constraint", "a==b", "--restart-max-attempts", "3",
		"--update-order", "start-first", "--rollback-order", "start-first", "--limit-cpu", "1.5", "--reserve-memory", "64m",
		"--stop-grace-period", "20s", "-w", "/srv", "-u", "app", "--hostname", "h1", "--stop-signal", "SIGINT", "--restart-window", "10s",
		"--no-resolve-image", "alpine:3.20", "sh", "-c", "true"},
		route: "POST /services/create",
		want:  `{"Name":"e1","Labels":{"x":"1","y":""},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:3.20","Labels":{"k":"v"},"Args":["sh","-c","true"],"Hostname":"h1","Env":["B=2","A=3","C"],"Dir":"/srv","User":"app","Init":false,"StopSignal":"SIGINT","StopGracePeriod":20000000000,"DNSConfig":{}},"Resources":{"Limits":{"NanoCPUs":1500000000},"Reservations":{"MemoryBytes":67108864}},"RestartPolicy":{"Condition":"any","Delay":5000000000,"MaxAttempts":3,"Window":10000000000},"Placement":{"Constraints":["node.role==worker","a==b"]},"ForceUpdate":0},"Mode":{"Replicated":{}},"UpdateConfig":{"Parallelism":1,"FailureAction":"pause","Monitor":5000000000,"MaxFailureRatio":0,"Order":"start-first"},"RollbackConfig":{"Parallelism":1,"FailureAction":"pause","Monitor":5000000000,"MaxFailureRatio":0,"Order":"start-first"},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "create", "-d", "--name", "e2", "--mode", "global", "--update-delay", "2s", "--restart-condition", "none", "busybox"},
		route: "POST /services/create",
		want:  `{"Name":"e2","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest","Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"RestartPolicy":{"Condition":"none","Delay":5000000000,"MaxAttempts":0},"Placement":{},"ForceUpdate":0},"Mode":{"Global":{}},"UpdateConfig":{"Parallelism":1,"Delay":2000000000,"FailureAction":"pause","Monitor":5000000000,"MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "create", "-d", "--name", "e3", "--replicas", "2", "--update-monitor", "1s", "alpine", "ping", "example.com"},
		route: "POST /services/create",
		want:  `{"Name":"e3","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest","Args":["ping","example.com"],"Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":2}},"UpdateConfig":{"Parallelism":1,"FailureAction":"pause","Monitor":1000000000,"MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "create", "-d", "--name", "e4", "--entrypoint", "sh -c", "--tty", "--init", "--read-only", "--replicas-max-per-node", "2",
		"--endpoint-mode", "dnsrr", "--rollback-parallelism", "0", "--rollback-failure-action", "continue", "--rollback-max-failure-ratio", "0.5",
		"--update-monitor", "2m", "--reserve-cpu", "0.25", "--limit-memory", "1g", "--update-failure-action", "rollback",
		"--update-parallelism", "4", "--restart-delay", "3s", "busybox"},
		route: "POST /services/create",
		want:  `{"Name":"e4","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest","Command":["sh","-c"],"Init":true,"TTY":true,"ReadOnly":true,"DNSConfig":{}},"Resources":{"Limits":{"MemoryBytes":1073741824},"Reservations":{"NanoCPUs":250000000}},"RestartPolicy":{"Condition":"any","Delay":3000000000,"MaxAttempts":0},"Placement":{"MaxReplicas":2},"ForceUpdate":0},"Mode":{"Replicated":{}},"UpdateConfig":{"Parallelism":4,"FailureAction":"rollback","Monitor":120000000000,"MaxFailureRatio":0,"Order":"stop-first"},"RollbackConfig":{"Parallelism":0,"FailureAction":"continue","Monitor":5000000000,"MaxFailureRatio":0.5,"Order":"stop-first"},"EndpointSpec":{"Mode":"dnsrr"}}`},
	{args: []string{"service", "create", "-d", "--name", "e5", "--replicas", "0x3", "--with-registry-auth", "localhost:5000/team/app"},
		route: "POST /services/create",
		want:  `{"Name":"e5","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"localhost:5000/team/app:latest","Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":3}},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "update", "-d", "--env-add", "A=9", "--env-rm", "B", "capped"},
		route: "POST /services/" + idCapped + "/update",
		want:  `{"Name":"capped","Labels":{"canary":"","tier":"back"},"TaskTemplate":{"ContainerSpec":{"Image":"registry.example:5000/team/app:v2","Args":["serve","--port","80"],"Env":["A=9"],"Dir":"/srv","User":"app","Init":true,"StopGracePeriod":20000000000},"Resources":{"Limits":{"NanoCPUs":1500000000,"MemoryBytes":268435456},"Reservations":{"NanoCPUs":250000000,"MemoryBytes":67108864}},"RestartPolicy":{"Condition":"on-failure","Delay":5000000000,"MaxAttempts":3},"Placement":{"Constraints":["node.role==worker","node.labels.zone==a"],"MaxReplicas":1},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":3}},"UpdateConfig":{"Parallelism":2,"Delay":10000000000,"FailureAction":"rollback","Monitor":5000000000,"MaxFailureRatio":0.25,"Order":"start-first"},"RollbackConfig":{"Parallelism":1,"FailureAction":"pause","MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"dnsrr"}}`},
	// Docker rebuilds the environment from a map, so with more than one
	// variable left its order varies; these cases leave one.
	{args: []string{"service", "update", "-d", "--env-add", "B=0", "--env-rm", "A", "--container-label-rm", "nope", "--label-rm", "nope", "capped"},
		route: "POST /services/" + idCapped + "/update",
		want:  `{"Name":"capped","Labels":{"canary":"","tier":"back"},"TaskTemplate":{"ContainerSpec":{"Image":"registry.example:5000/team/app:v2","Args":["serve","--port","80"],"Env":["B=0"],"Dir":"/srv","User":"app","Init":true,"StopGracePeriod":20000000000},"Resources":{"Limits":{"NanoCPUs":1500000000,"MemoryBytes":268435456},"Reservations":{"NanoCPUs":250000000,"MemoryBytes":67108864}},"RestartPolicy":{"Condition":"on-failure","Delay":5000000000,"MaxAttempts":3},"Placement":{"Constraints":["node.role==worker","node.labels.zone==a"],"MaxReplicas":1},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":3}},"UpdateConfig":{"Parallelism":2,"Delay":10000000000,"FailureAction":"rollback","Monitor":5000000000,"MaxFailureRatio":0.25,"Order":"start-first"},"RollbackConfig":{"Parallelism":1,"FailureAction":"pause","MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"dnsrr"}}`},
	{args: []string{"service", "update", "-d", "--limit-cpu", "2", "--reserve-memory", "1g", "--constraint-add", "zz==1", "--constraint-rm", "node.role==worker",
		"--label-add", "new=1", "--label-rm", "tier", "--container-label-add", "c=1", "capped"},
		route: "POST /services/" + idCapped + "/update",
		want:  `{"Name":"capped","Labels":{"canary":"","new":"1"},"TaskTemplate":{"ContainerSpec":{"Image":"registry.example:5000/team/app:v2","Labels":{"c":"1"},"Args":["serve","--port","80"],"Env":["A=1","B=two"],"Dir":"/srv","User":"app","Init":true,"StopGracePeriod":20000000000},"Resources":{"Limits":{"NanoCPUs":2000000000,"MemoryBytes":268435456},"Reservations":{"NanoCPUs":250000000,"MemoryBytes":1073741824}},"RestartPolicy":{"Condition":"on-failure","Delay":5000000000,"MaxAttempts":3},"Placement":{"Constraints":["node.labels.zone==a","zz==1"],"MaxReplicas":1},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":3}},"UpdateConfig":{"Parallelism":2,"Delay":10000000000,"FailureAction":"rollback","Monitor":5000000000,"MaxFailureRatio":0.25,"Order":"start-first"},"RollbackConfig":{"Parallelism":1,"FailureAction":"pause","MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"dnsrr"}}`},
	{args: []string{"service", "update", "-d", "--force", "ping"},
		route: "POST /services/" + idPing + "/update",
		want:  `{"Name":"ping","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest@` + digestAlpine + `","Args":["ping","example.com"],"Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Platforms":[{"Architecture":"amd64","OS":"linux"}]},"ForceUpdate":1},"Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "update", "-d", "--image", "busybox:1", "--no-resolve-image", "--args", `x "y z"`, "ping"},
		route: "POST /services/" + idPing + "/update",
		want:  `{"Name":"ping","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"busybox:1","Args":["x","y z"],"Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Platforms":[{"Architecture":"amd64","OS":"linux"}]},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "update", "-d", "--restart-delay", "1s", "--update-parallelism", "3", "--rollback-monitor", "2s", "--stop-grace-period", "3s",
		"--init", "--tty", "--endpoint-mode", "dnsrr", "--replicas-max-per-node", "2", "web"},
		route: "POST /services/" + idWeb + "/update",
		want:  `{"Name":"web","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"nginx:1.27","Init":true,"TTY":true,"StopGracePeriod":3000000000},"Resources":{"Limits":{},"Reservations":{}},"RestartPolicy":{"Condition":"any","Delay":1000000000,"MaxAttempts":0},"Placement":{"MaxReplicas":2},"ForceUpdate":0},"Mode":{"Global":{}},"UpdateConfig":{"Parallelism":3,"FailureAction":"pause","Monitor":5000000000,"MaxFailureRatio":0,"Order":"stop-first"},"RollbackConfig":{"Parallelism":1,"FailureAction":"pause","Monitor":2000000000,"MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"dnsrr","Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"}]}}`},
	{args: []string{"service", "update", "-d", "--replicas", "0", "--user", "root", "--workdir", "/x", "--hostname", "hh", "--stop-signal", "TERM",
		"--entrypoint", "sh", "--with-registry-auth", "capped"},
		route: "POST /services/" + idCapped + "/update",
		want:  `{"Name":"capped","Labels":{"canary":"","tier":"back"},"TaskTemplate":{"ContainerSpec":{"Image":"registry.example:5000/team/app:v2","Command":["sh"],"Args":["serve","--port","80"],"Hostname":"hh","Env":["A=1","B=two"],"Dir":"/x","User":"root","Init":true,"StopSignal":"TERM","StopGracePeriod":20000000000},"Resources":{"Limits":{"NanoCPUs":1500000000,"MemoryBytes":268435456},"Reservations":{"NanoCPUs":250000000,"MemoryBytes":67108864}},"RestartPolicy":{"Condition":"on-failure","Delay":5000000000,"MaxAttempts":3},"Placement":{"Constraints":["node.role==worker","node.labels.zone==a"],"MaxReplicas":1},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":0}},"UpdateConfig":{"Parallelism":2,"Delay":10000000000,"FailureAction":"rollback","Monitor":5000000000,"MaxFailureRatio":0.25,"Order":"start-first"},"RollbackConfig":{"Parallelism":1,"FailureAction":"pause","MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"dnsrr"}}`},
	{args: []string{"service", "scale", "-d", "ping=5"},
		route: "POST /services/" + idPing + "/update",
		want:  `{"Name":"ping","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest@` + digestAlpine + `","Args":["ping","example.com"],"Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Platforms":[{"Architecture":"amd64","OS":"linux"}]},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":5}},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "create", "-d", "--no-resolve-image", "--name", "iso", "--user", "nobody", "--group", "adm", "--cap-drop", "ALL",
		"--cap-add", "net_bind_service", "--read-only", "--ulimit", "nofile=100:200", "--sysctl", "net.core.somaxconn=1024",
		"--mount", "type=bind,src=/etc,dst=/x,readonly", "--mount", "type=tmpfs,dst=/tmp,tmpfs-size=1m", "alpine", "sleep", "1"},
		route: "POST /services/create",
		want:  `{"Name":"iso","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest","Args":["sleep","1"],"User":"nobody","Groups":["adm"],"Init":false,"ReadOnly":true,"Mounts":[{"Type":"bind","Source":"/etc","Target":"/x","ReadOnly":true},{"Type":"tmpfs","Target":"/tmp","TmpfsOptions":{"SizeBytes":1048576}}],"DNSConfig":{},"Sysctls":{"net.core.somaxconn":"1024"},"CapabilityAdd":["CAP_NET_BIND_SERVICE"],"CapabilityDrop":["ALL"],"Ulimits":[{"Name":"nofile","Hard":200,"Soft":100}]},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},"Mode":{"Replicated":{}},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "update", "-d", "--no-resolve-image", "--cap-add", "NET_ADMIN", "--cap-drop", "chown", "--ulimit-add", "nofile=10:20",
		"--sysctl-add", "a.b=1", "--mount-add", "type=tmpfs,dst=/t", "--group-add", "adm", "--read-only", "ping"},
		route: "POST /services/" + idPing + "/update",
		want:  `{"Name":"ping","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest@` + digestAlpine + `","Args":["ping","example.com"],"Groups":["adm"],"Init":false,"ReadOnly":true,"Mounts":[{"Type":"tmpfs","Target":"/t"}],"DNSConfig":{},"Sysctls":{"a.b":"1"},"CapabilityAdd":["CAP_NET_ADMIN"],"CapabilityDrop":["CAP_CHOWN"],"Ulimits":[{"Name":"nofile","Hard":20,"Soft":10}]},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Platforms":[{"Architecture":"amd64","OS":"linux"}]},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "update", "-d", "--no-resolve-image", "--ulimit-rm", "nofile", "--sysctl-rm", "a.b", "--mount-rm", "/t", "--group-rm", "adm", "ping"},
		route: "POST /services/" + idPing + "/update",
		want:  `{"Name":"ping","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest@` + digestAlpine + `","Args":["ping","example.com"],"Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Platforms":[{"Architecture":"amd64","OS":"linux"}]},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Mode":"vip"}}`},
	{args: []string{"service", "create", "-d", "--name", "pinned", "alpine"},
		route: "POST /services/create", pin: true,
		want: `{"Name":"pinned","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest@` + digestAlpine + `","Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Platforms":[{"Architecture":"amd64","OS":"linux"},{"Architecture":"arm64","OS":"linux"},{"OS":"linux"}]},"ForceUpdate":0},"Mode":{"Replicated":{}},"EndpointSpec":{"Mode":"vip"}}`},
}

// bodyDaemon is the fixture daemon with services; with pin, its registry
// lookups pin images.
func bodyDaemon(t *testing.T, pin bool) *fakeDaemon {
	fd := newFixtureDaemon(t)
	fd.mu.Lock()
	withServices(fd)
	if pin {
		distributionPins(fd)
	}
	fd.mu.Unlock()
	return fd
}

// TestServiceRequestBodies checks the JSON each service write sends.
func TestServiceRequestBodies(t *testing.T) {
	for _, bc := range bodyCases {
		t.Run(strings.Join(bc.args, " "), func(t *testing.T) {
			fd := bodyDaemon(t, bc.pin)
			if _, errOut, code := runCLI(t, fd.host, bc.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := strings.TrimSuffix(fd.body(bc.route), "\n"); got != bc.want {
				t.Fatalf("body =\n%s\nwant\n%s", got, bc.want)
			}
		})
	}
}

// TestServiceBodiesMatchDockerCLI checks that the docker CLI sends the
// same bodies, and the same requests, as shoal for each body case. It
// runs wherever a docker binary is installed.
func TestServiceBodiesMatchDockerCLI(t *testing.T) {
	bin := dockerBinary(t)
	for _, bc := range bodyCases {
		t.Run(strings.Join(bc.args, " "), func(t *testing.T) {
			fd := bodyDaemon(t, bc.pin)
			got := runDocker(t, bin, fd.host, bc.args)
			if got.code != 0 {
				t.Fatalf("docker: %s", got)
			}
			if body := strings.TrimSuffix(fd.body(bc.route), "\n"); body != bc.want {
				t.Errorf("docker sent\n%s\nwant\n%s", body, bc.want)
			}
			dockerReqs := fd.requests()
			shoalFD := bodyDaemon(t, bc.pin)
			runCLI(t, shoalFD.host, bc.args...)
			if shoalReqs := shoalFD.requests(); !slices.Equal(shoalReqs, dockerReqs) {
				t.Errorf("requests differ:\nshoal  %s\ndocker %s", fmtRequests(shoalReqs), fmtRequests(dockerReqs))
			}
			fd.mu.Lock()
			defer fd.mu.Unlock()
			shoalFD.mu.Lock()
			defer shoalFD.mu.Unlock()
			if !mapsEqual(fd.auth, shoalFD.auth) {
				t.Errorf("X-Registry-Auth headers: docker %v, shoal %v", fd.auth, shoalFD.auth)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// dockerBinary returns the docker CLI to compare with, or skips the test.
// The comparison with the docker CLI runs wherever a docker binary is
// installed (CI has one); SHOAL_DOCKER_COMPARE=0 turns it off.
func dockerBinary(t *testing.T) string {
	t.Helper()
	if os.Getenv("SHOAL_DOCKER_COMPARE") == "0" {
		t.Skip("SHOAL_DOCKER_COMPARE=0: not comparing with the docker CLI")
	}
	bin, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker binary")
	}
	return bin
}
