package main

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Settings the faults cannot run with are refused with the flag's name,
// before any host is made.
func TestCheckFlags(t *testing.T) {
	if err := checkFlags(time.Hour, 3, 2, 4); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for _, tt := range []struct {
		duration                   time.Duration
		managers, workers, clients int
		want                       string
	}{
		{-5 * time.Second, 3, 2, 4, "--duration"},
		{0, 3, 2, 4, "--duration"},
		{time.Minute, 0, 2, 4, "--managers"},
		{time.Minute, 2, 2, 4, "--managers"},
		{time.Minute, 3, 0, 4, "--workers"},
		{time.Minute, 3, 2, 0, "--clients"},
	} {
		err := checkFlags(tt.duration, tt.managers, tt.workers, tt.clients)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("checkFlags(%v, %d, %d, %d) = %v, want an error naming %s", tt.duration, tt.managers, tt.workers, tt.clients, err, tt.want)
		}
	}
}
