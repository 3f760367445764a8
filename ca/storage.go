package ca

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Files of a node's identity under its certificate directory.
const (
	RootCertFile = "ca.crt"
	NodeCertFile = "node.crt"
	NodeKeyFile  = "node.key"
)

const (
	dirMode  = 0o700
	certMode = 0o644
	keyMode  = 0o600
)

// storedFile is one file of a saved identity.
type storedFile struct {
	name string
	data []byte
	mode os.FileMode
}

// SaveCredentials writes the root certificate, the node certificate and the
// node key under dir (created 0700 if missing; the key file is 0600).
//
// Each file is replaced atomically (temporary file, fsync, rename). All three
// are written to temporary files before the first rename, so a crash leaves
// either the old set, the new set, or, within the few renames, a mix;
// NewCredentials rejects a certificate and key that do not belong together,
// and the node then joins again.
func SaveCredentials(dir string, rootPEM, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("ca: save credentials: %w", err)
	}
	files := []storedFile{
		{RootCertFile, rootPEM, certMode},
		{NodeKeyFile, keyPEM, keyMode},
		{NodeCertFile, certPEM, certMode},
	}
	temps := make([]string, 0, len(files))
	defer func() {
		for _, t := range temps {
			_ = os.Remove(t) // gone already once renamed
		}
	}()
	for _, f := range files {
		tmp, err := writeTemp(dir, f)
		if err != nil {
			return fmt.Errorf("ca: save credentials: %w", err)
		}
		temps = append(temps, tmp)
	}
	for i, f := range files {
		if err := os.Rename(temps[i], filepath.Join(dir, f.name)); err != nil {
			return fmt.Errorf("ca: save credentials: %w", err)
		}
	}
	return syncDir(dir)
}

// writeTemp writes f to a new temporary file in dir, with f's mode, and
// flushes it to disk.
func writeTemp(dir string, f storedFile) (path string, err error) {
	tmp, err := os.CreateTemp(dir, "."+f.name+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(f.mode); err != nil {
		return "", err
	}
	if _, err := tmp.Write(f.data); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	return tmp.Name(), tmp.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("ca: save credentials: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("ca: save credentials: %w", err)
	}
	return nil
}

// LoadCredentials reads what SaveCredentials wrote. If any of the three files
// is missing the error wraps os.ErrNotExist: the node has no identity yet.
func LoadCredentials(dir string) (rootPEM, certPEM, keyPEM []byte, err error) {
	var data [3][]byte
	for i, name := range []string{RootCertFile, NodeCertFile, NodeKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil, fmt.Errorf("ca: no saved credentials: %w", err)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("ca: load credentials: %w", err)
		}
		data[i] = b
	}
	return data[0], data[1], data[2], nil
}
