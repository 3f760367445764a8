package dockerapi

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/swarm"
)

// The body `docker service create --user nobody --group adm --cap-drop ALL
// --cap-add net_bind_service --read-only --ulimit nofile=100:200 --sysctl
// net.core.somaxconn=1024 --mount type=bind,src=/etc,dst=/x,readonly
// --mount type=tmpfs,dst=/tmp,tmpfs-size=1m alpine sleep 1` sends (docker
// 28.2.2 CLI, captured).
const cliIsolationBody = `{"Name":"iso","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest","Args":["sleep","1"],
 "User":"nobody","Groups":["adm"],"Init":false,"ReadOnly":true,
 "Mounts":[{"Type":"bind","Source":"/etc","Target":"/x","ReadOnly":true},{"Type":"tmpfs","Target":"/tmp","TmpfsOptions":{"SizeBytes":1048576}}],
 "DNSConfig":{},"Sysctls":{"net.core.somaxconn":"1024"},"CapabilityAdd":["CAP_NET_BIND_SERVICE"],"CapabilityDrop":["ALL"],
 "Ulimits":[{"Name":"nofile","Hard":200,"Soft":100}]},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},
 "Mode":{"Replicated":{}},"EndpointSpec":{"Mode":"vip"}}`

// TestIsolationFromWire: every isolation field the CLI sends is kept (they
// were all dropped before), and reads back from the wire form unchanged.
func TestIsolationFromWire(t *testing.T) {
	got, err := ServiceSpecFromWire(decodeSpec(t, cliIsolationBody))
	if err != nil {
		t.Fatal(err)
	}
	want := swarm.ContainerSpec{Image: "alpine:latest", Args: []string{"sleep", "1"}, User: "nobody",
		Groups: []string{"adm"}, ReadOnly: true,
		Mounts: []swarm.Mount{{Type: swarm.MountBind, Source: "/etc", Target: "/x", ReadOnly: true},
			{Type: swarm.MountTmpfs, Target: "/tmp", TmpfsSize: 1 << 20}},
		Sysctls:       map[string]string{"net.core.somaxconn": "1024"},
		CapabilityAdd: []string{"CAP_NET_BIND_SERVICE"}, CapabilityDrop: []string{"ALL"},
		Ulimits: []swarm.Ulimit{{Name: "nofile", Soft: 100, Hard: 200}}}
	if !reflect.DeepEqual(got.Task.Container, want) {
		t.Fatalf("got  %#v\nwant %#v", got.Task.Container, want)
	}
	back, err := ServiceSpecFromWire(ServiceSpecToWire(got))
	if err != nil || !reflect.DeepEqual(back, got) {
		t.Fatalf("round trip: %v\n%#v\n%#v", err, back, got)
	}
	nnp := `{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"a","Privileges":{"NoNewPrivileges":true,"Seccomp":{"Mode":"default"}}}}}`
	got, err = ServiceSpecFromWire(decodeSpec(t, nnp))
	if err != nil || !got.Task.Container.NoNewPrivileges {
		t.Fatalf("no-new-privileges: %v %+v", err, got.Task.Container)
	}
	if w := ServiceSpecToWire(got).TaskTemplate.ContainerSpec.Privileges; w == nil || !w.NoNewPrivileges {
		t.Fatalf("no-new-privileges to wire: %+v", w)
	}
}

// TestIsolationRefused: what shoal cannot hold is refused with the field's
// name, where it was silently dropped before.
func TestIsolationRefused(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{`"Mounts":[{"Type":"volume","Source":"v","Target":"/v"}]`, `invalid mount config for type "volume"`},
		{`"Mounts":[{"Type":"bind","Source":"/a","Target":"/b","BindOptions":{"Propagation":"rshared"}}]`, "BindOptions"},
		{`"Mounts":[{"Type":"bind","Source":"rel","Target":"/b"}]`, "mount path must be absolute"},
		{`"Mounts":[{"Type":"tmpfs","Target":"/a"},{"Type":"tmpfs","Target":"/a/"}]`, "duplicate mount point"},
		{`"Privileges":{"Seccomp":{"Mode":"unconfined"}}`, "Privileges.Seccomp"},
		{`"Privileges":{"AppArmor":{"Mode":"disabled"}}`, "Privileges.AppArmor"},
		{`"Privileges":{"SELinuxContext":{"Type":"x"}}`, "Privileges.SELinuxContext"},
		{`"CapabilityAdd":["CAP_NOPE"]`, `invalid capability: "CAP_NOPE"`},
		{`"Ulimits":[{"Name":"bogus","Soft":1,"Hard":1}]`, "invalid ulimit type: bogus"},
		{`"Ulimits":[{"Name":"nofile","Soft":10,"Hard":1}]`, "soft limit must be less than or equal to hard limit"},
	} {
		body := `{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"a",` + tt.spec + `}}}`
		_, err := ServiceSpecFromWire(decodeSpec(t, body))
		if !errors.Is(err, swarm.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want InvalidArgument with %q", tt.spec, err, tt.want)
		}
	}
}
