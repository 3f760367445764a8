// Command sleep is a static stand-in for sleep(1), built into the
// FROM-scratch image the docker-runtime e2e tests run: sleep SECONDS.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sleep SECONDS")
		os.Exit(2)
	}
	secs, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sleep:", err)
		os.Exit(2)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-time.After(time.Duration(secs) * time.Second):
	case <-stop:
	}
}
