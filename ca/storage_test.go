package ca_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/swarm"
)

func TestSaveLoadCredentials(t *testing.T) {
	root := catest.NewCA(t)
	creds := catest.NewNode(t, root, swarm.RoleWorker)
	certPEM, keyPEM := creds.PEM()
	dir := filepath.Join(t.TempDir(), "certificates")

	if _, _, _, err := ca.LoadCredentials(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("load from empty dir: %v, want not exist", err)
	}
	if err := ca.SaveCredentials(dir, root.CertPEM(), certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	gotRoot, gotCert, gotKey, err := ca.LoadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotRoot, root.CertPEM()) || !bytes.Equal(gotCert, certPEM) || !bytes.Equal(gotKey, keyPEM) {
		t.Fatal("loaded files differ from saved ones")
	}
	loadedRoot, err := ca.ParseRootCA(gotRoot, nil)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := ca.NewCredentials(loadedRoot, gotCert, gotKey)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Identity() != creds.Identity() {
		t.Fatalf("loaded identity %+v, want %+v", loaded.Identity(), creds.Identity())
	}

	assertMode(t, filepath.Join(dir, ca.NodeKeyFile), 0o600)
	assertMode(t, dir, 0o700)

	// Saving again replaces the files and leaves no temporaries behind.
	renewed := catest.NewNodeWithID(t, root, creds.Identity().NodeID, swarm.RoleManager)
	newCert, newKey := renewed.PEM()
	if err := ca.SaveCredentials(dir, root.CertPEM(), newCert, newKey); err != nil {
		t.Fatal(err)
	}
	if _, gotCert, _, err = ca.LoadCredentials(dir); err != nil || !bytes.Equal(gotCert, newCert) {
		t.Fatalf("after second save: %v", err)
	}
	assertMode(t, filepath.Join(dir, ca.NodeKeyFile), 0o600)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("directory holds %d entries, want 3", len(entries))
	}

	if err := os.Remove(filepath.Join(dir, ca.NodeCertFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ca.LoadCredentials(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("load with a missing file: %v, want not exist", err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s has mode %v, want %v", path, got, want)
	}
}
