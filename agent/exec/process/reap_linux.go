//go:build linux

package process

// Tracks reports whether pid is the process of one of the executor's tasks
// that its supervisor has not reaped yet: only that supervisor may wait for
// it (it reads how the task ended from its exit status). A daemon that
// reaps orphans (node.ReapOrphans) leaves such a process alone.
//
// A task's pid is recorded under the task's lock, held from before its
// process is forked until the pid is set (start), and its supervisor
// reaps it under that lock too: a caller that saw pid exit before asking
// either finds it here or finds it already reaped.
func (e *Executor) Tracks(pid int) bool {
	if pid <= 0 {
		return false
	}
	e.mu.Lock()
	tasks := make([]*task, 0, len(e.tasks))
	for _, t := range e.tasks {
		tasks = append(tasks, t)
	}
	e.mu.Unlock()
	for _, t := range tasks {
		t.mu.Lock()
		mine := t.pid == pid && !t.reaped
		t.mu.Unlock()
		if mine {
			return true
		}
	}
	return false
}
