package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// HeavyTestLock takes a machine-wide lock shared by the test packages that
// run clusters of real daemons (internal/e2e, internal/chaos,
// internal/fleet). `go test ./...` runs packages in parallel; with this
// lock, two such packages never run at once on a small machine, so their
// timing checks (failover, an answer within 2 s without quorum) measure
// shoal rather than a fight for the CPU. It blocks until the lock is free,
// and holds it until the process exits.
func HeavyTestLock() error {
	path := filepath.Join(os.TempDir(), "shoal-heavy-tests.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return fmt.Errorf("heavy test lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return fmt.Errorf("heavy test lock %s: %w", path, err)
	}
	heldLock = f // referenced, so that no finalizer closes it (and unlocks)
	return nil
}

var heldLock *os.File
