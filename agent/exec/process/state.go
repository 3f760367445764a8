package process

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stateFile is the name of a task's state file in its directory.
const stateFile = "state.json"

// taskState is what the runtime keeps on disk about a task's process, so a
// later daemon can tell what became of it. It is written when the process
// starts and again when it exits.
type taskState struct {
	// Instance identifies the daemon (executor) that started the process.
	Instance string `json:"instance"`
	PID      int    `json:"pid"`
	// StartTicks is the process's start time from /proc: a pid alone may
	// have been recycled by the time a new daemon looks.
	StartTicks uint64    `json:"start_ticks"`
	StartedAt  time.Time `json:"started_at"`
	// Cgroups are the task's cgroup directories, if it got any: one on
	// cgroup v2, its memory and cpu groups on v1.
	Cgroups []string `json:"cgroups,omitempty"`
	// Cgroup is the single directory state files written before v1
	// support held; read only.
	Cgroup string `json:"cgroup,omitempty"`

	Exited   bool   `json:"exited,omitempty"`
	ExitCode int    `json:"exit_code,omitempty"`
	Cause    string `json:"cause,omitempty"`
	Stopped  bool   `json:"stopped,omitempty"`
	// Lost is set when a later daemon found the process gone (or had to
	// kill it) without knowing how it ended.
	Lost bool `json:"lost,omitempty"`
}

// cgroupDirs returns the task's cgroup directories.
func (s taskState) cgroupDirs() []string {
	if len(s.Cgroups) == 0 && s.Cgroup != "" {
		return []string{s.Cgroup}
	}
	return s.Cgroups
}

// readState reads a task's state file; ok is false when there is none.
func readState(dir string) (st taskState, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, err
	}
	return st, true, nil
}

// writeState replaces a task's state file atomically.
func writeState(dir string, st taskState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}
