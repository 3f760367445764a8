//go:build linux

package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The reaper takes what tasks leave behind and nothing else: children the
// daemon waits for itself (tracked, as the process runtime tracks its
// tasks) keep their exit status, however their exits interleave with the
// orphans'. Run in a process of its own: a subreaper and its reaping are
// process-wide.
func TestReaperLeavesTrackedChildren(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestReaperHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SHOAL_REAPER_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("reaper helper: ok")) {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// TestReaperHelper is the daemon of TestReaperLeavesTrackedChildren.
func TestReaperHelper(t *testing.T) {
	if os.Getenv("SHOAL_REAPER_HELPER") != "1" {
		t.Skip("run by TestReaperLeavesTrackedChildren")
	}
	var mu sync.Mutex // held from before a fork until its pid is recorded, as a task's lock
	tracked := map[int]bool{}
	owned := func(pid int) bool {
		mu.Lock()
		defer mu.Unlock()
		return tracked[pid]
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); reapOrphans(ctx, slog.New(slog.DiscardHandler), owned) }()
	defer func() { cancel(); <-done }()

	const workers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Exits at once with 7, leaving a sleep that ends later.
				cmd := exec.Command("sh", "-c", fmt.Sprintf("sleep 0.%02d & exit 7", (w*each+i)%20))
				mu.Lock()
				err := cmd.Start()
				if err == nil {
					tracked[cmd.Process.Pid] = true
				}
				mu.Unlock()
				if err != nil {
					errs <- err
					continue
				}
				err = cmd.Wait()
				mu.Lock()
				delete(tracked, cmd.Process.Pid)
				mu.Unlock()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 7 {
					errs <- fmt.Errorf("a tracked child's exit status was taken: %v", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		z := zombieChildren(os.Getpid())
		if len(z) == 0 && len(childrenOf(os.Getpid())) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("children left: %v, of which zombies %v", childrenOf(os.Getpid()), z)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("reaper helper: ok (%d tracked children kept their exit status, their orphans reaped)\n", workers*each)
}

// childrenOf lists the processes whose parent is pid, and zombieChildren
// those of them that exited and are not reaped.
func childrenOf(pid int) []int { return procChildren(pid, false) }

func zombieChildren(pid int) []int { return procChildren(pid, true) }

func procChildren(pid int, zombies bool) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:]) // state, ppid, ...
		if len(f) > 1 && string(f[1]) == strconv.Itoa(pid) && (!zombies || string(f[0]) == "Z") {
			out = append(out, p)
		}
	}
	return out
}
