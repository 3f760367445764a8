package dockerapi

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"reflect"
	"testing"
	"time"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

// testCA returns a self-signed CA certificate in PEM and parsed form.
func testCA(t *testing.T) ([]byte, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "swarm-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert
}

// toMap encodes v to JSON and decodes it generically, to check the shapes a
// strict client decoder will see.
func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func path(t *testing.T, m map[string]any, keys ...string) any {
	t.Helper()
	var cur any = m
	for _, k := range keys {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%v: %v is not an object", keys, cur)
		}
		cur, ok = obj[k]
		if !ok {
			t.Fatalf("%v: key %q absent in %v", keys, k, obj)
		}
	}
	return cur
}

func TestTLSInfoFromPEM(t *testing.T) {
	caPEM, cert := testCA(t)
	info, err := TLSInfoFromPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	if info.TrustRoot != string(caPEM) {
		t.Errorf("TrustRoot = %q", info.TrustRoot)
	}
	if !bytes.Equal(info.CertIssuerSubject, cert.RawSubject) {
		t.Errorf("CertIssuerSubject is not the CA's raw subject")
	}
	if !bytes.Equal(info.CertIssuerPublicKey, cert.RawSubjectPublicKeyInfo) {
		t.Errorf("CertIssuerPublicKey is not the CA's raw public key info")
	}
	m := toMap(t, info)
	got, err := base64.StdEncoding.DecodeString(m["CertIssuerSubject"].(string))
	if err != nil || !bytes.Equal(got, cert.RawSubject) {
		t.Errorf("CertIssuerSubject JSON = %v (%v), want base64 of the raw subject", m["CertIssuerSubject"], err)
	}
}

func TestTLSInfoFromPEMEmptyAndInvalid(t *testing.T) {
	info, err := TLSInfoFromPEM(nil)
	if err != nil || !reflect.DeepEqual(info, wire.TLSInfo{}) {
		t.Errorf("TLSInfoFromPEM(nil) = %+v, %v; want empty, nil", info, err)
	}
	if _, err := TLSInfoFromPEM([]byte("not a certificate")); err == nil {
		t.Error("TLSInfoFromPEM(garbage) succeeded")
	}
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
	if _, err := TLSInfoFromPEM(bad); err == nil {
		t.Error("TLSInfoFromPEM(bad DER) succeeded")
	}
}

func testCluster(t *testing.T) *swarm.Cluster {
	caPEM, _ := testCA(t)
	created := time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	return &swarm.Cluster{
		ID:         "cl1",
		Meta:       swarm.Meta{Version: 11, CreatedAt: created, UpdatedAt: created.Add(time.Minute)},
		Spec:       swarm.DefaultClusterSpec(),
		RootCA:     swarm.RootCA{CertPEM: caPEM, KeyPEM: []byte("secret")},
		JoinTokens: swarm.JoinTokens{Worker: "SWMTKN-1-w", Manager: "SWMTKN-1-m"},
	}
}

func TestSwarmFromDomainJSON(t *testing.T) {
	c := testCluster(t)
	s, err := SwarmFromDomain(c)
	if err != nil {
		t.Fatal(err)
	}
	m := toMap(t, s)
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"ID"}, "cl1"},
		{[]string{"Version", "Index"}, 11.0},
		{[]string{"CreatedAt"}, "2025-01-02T02:04:05.000000006Z"},
		{[]string{"JoinTokens", "Worker"}, "SWMTKN-1-w"},
		{[]string{"JoinTokens", "Manager"}, "SWMTKN-1-m"},
		{[]string{"Spec", "Name"}, "default"},
		{[]string{"Spec", "Orchestration", "TaskHistoryRetentionLimit"}, 5.0},
		{[]string{"Spec", "Raft", "SnapshotInterval"}, 10000.0},
		{[]string{"Spec", "Raft", "KeepOldSnapshots"}, 0.0},
		{[]string{"Spec", "Raft", "ElectionTick"}, float64(swarm.DefaultElectionTick)},
		{[]string{"Spec", "Raft", "HeartbeatTick"}, float64(swarm.DefaultHeartbeatTick)},
		{[]string{"Spec", "Dispatcher", "HeartbeatPeriod"}, float64(swarm.DefaultHeartbeatPeriod)},
		{[]string{"Spec", "CAConfig", "NodeCertExpiry"}, float64(swarm.DefaultNodeCertExpiry)},
		{[]string{"Spec", "EncryptionConfig", "AutoLockManagers"}, false},
		{[]string{"TLSInfo", "TrustRoot"}, string(c.RootCA.CertPEM)},
	}
	for _, c := range checks {
		if got := path(t, m, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
	// The only label is shoal's carrier of the node down grace period.
	if got := path(t, m, "Spec", "Labels"); !reflect.DeepEqual(got, map[string]any{LabelNodeDownGrace: swarm.DefaultNodeDownGrace.String()}) {
		t.Errorf("Spec.Labels = %#v, want only the node down grace", got)
	}
	if _, err := time.Parse(time.RFC3339Nano, path(t, m, "UpdatedAt").(string)); err != nil {
		t.Errorf("UpdatedAt: %v", err)
	}
	if b, _ := json.Marshal(s); bytes.Contains(b, []byte("secret")) {
		t.Error("the CA key leaked into GET /swarm")
	}
}

func TestClusterInfoHasNoJoinTokens(t *testing.T) {
	ci, err := ClusterInfoFromDomain(testCluster(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := toMap(t, ci)["JoinTokens"]; ok {
		t.Error("ClusterInfo carries JoinTokens")
	}
}

func TestSwarmFromDomainBadCA(t *testing.T) {
	c := testCluster(t)
	c.RootCA.CertPEM = []byte("junk")
	if _, err := SwarmFromDomain(c); err == nil {
		t.Error("SwarmFromDomain with a junk CA succeeded")
	}
}

// The docker CLI's swarm update reads GET /swarm and sends the Spec back; a
// shoal-only setting must survive that.
func TestClusterSpecRoundTripKeepsShoalFields(t *testing.T) {
	spec := swarm.DefaultClusterSpec()
	spec.Labels = map[string]string{"a": "b"}
	spec.Dispatcher.NodeDownGrace = 7 * time.Second
	spec.Raft.KeepOldSnapshots = 2
	b, err := json.Marshal(SpecFromDomain(spec))
	if err != nil {
		t.Fatal(err)
	}
	var w wire.Spec
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if got := ClusterSpecFromWire(w, spec); !reflect.DeepEqual(got, spec) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, spec)
	}
}

// The body `docker swarm init` sends without flags (DOCKER-API.md §3).
const cliInitSpec = `{"Labels":null,"Orchestration":{},"Raft":{"ElectionTick":0,"HeartbeatTick":0},"Dispatcher":{},"CAConfig":{},
	"TaskDefaults":{},"EncryptionConfig":{"AutoLockManagers":false}}`

func TestClusterSpecFromWireInitDefaults(t *testing.T) {
	var w wire.Spec
	if err := json.Unmarshal([]byte(cliInitSpec), &w); err != nil {
		t.Fatal(err)
	}
	if got, want := ClusterSpecFromWire(w, swarm.DefaultClusterSpec()), swarm.DefaultClusterSpec(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestClusterSpecFromWireOverrides(t *testing.T) {
	zero := int64(0)
	keep := uint64(3)
	w := wire.Spec{
		Annotations:      wire.Annotations{Name: "prod", Labels: map[string]string{}},
		Orchestration:    wire.OrchestrationConfig{TaskHistoryRetentionLimit: &zero},
		Raft:             wire.RaftConfig{SnapshotInterval: 7, KeepOldSnapshots: &keep, LogEntriesForSlowFollowers: 9, ElectionTick: 20, HeartbeatTick: 2},
		Dispatcher:       wire.DispatcherConfig{HeartbeatPeriod: 2 * time.Second},
		CAConfig:         wire.CAConfig{NodeCertExpiry: 48 * time.Hour},
		EncryptionConfig: wire.EncryptionConfig{AutoLockManagers: true},
	}
	base := swarm.DefaultClusterSpec()
	base.Labels = map[string]string{"old": "x"}
	got := ClusterSpecFromWire(w, base)
	want := swarm.ClusterSpec{
		Name:             "prod",
		Labels:           map[string]string{},
		Orchestration:    swarm.OrchestrationSpec{TaskHistoryRetentionLimit: 0},
		Raft:             swarm.RaftSpec{SnapshotInterval: 7, KeepOldSnapshots: 3, LogEntriesForSlowFollowers: 9, ElectionTick: 20, HeartbeatTick: 2},
		Dispatcher:       swarm.DispatcherSpec{HeartbeatPeriod: 2 * time.Second, NodeDownGrace: swarm.DefaultNodeDownGrace},
		CA:               swarm.CASpec{NodeCertExpiry: 48 * time.Hour},
		AutoLockManagers: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if base.Labels["old"] != "x" {
		t.Error("ClusterSpecFromWire changed base")
	}
}

func TestClusterSpecFromWireNilLabelsKeepBase(t *testing.T) {
	base := swarm.DefaultClusterSpec()
	base.Labels = map[string]string{"k": "v"}
	got := ClusterSpecFromWire(wire.Spec{}, base)
	if !reflect.DeepEqual(got.Labels, base.Labels) {
		t.Errorf("Labels = %v, want %v", got.Labels, base.Labels)
	}
	got.Labels["k"] = "changed"
	if base.Labels["k"] != "v" {
		t.Error("result shares base's labels map")
	}
}

// The node down grace period travels as a label and comes back as the
// setting, whatever else the labels hold; a bad value fails validation.
func TestNodeDownGraceLabel(t *testing.T) {
	base := swarm.DefaultClusterSpec()
	w := SpecFromDomain(base)
	w.Labels[LabelNodeDownGrace] = "7s"
	w.Labels["team"] = "a"
	got := ClusterSpecFromWire(w, base)
	if got.Dispatcher.NodeDownGrace != 7*time.Second || got.Labels["team"] != "a" {
		t.Fatalf("got grace %v labels %v", got.Dispatcher.NodeDownGrace, got.Labels)
	}
	if _, ok := got.Labels[LabelNodeDownGrace]; ok {
		t.Fatal("the carrier label stayed among the user's labels")
	}
	w.Labels[LabelNodeDownGrace] = "soon"
	if err := ClusterSpecFromWire(w, base).Validate(); err == nil {
		t.Fatal("a bad node down grace was accepted")
	}
}
