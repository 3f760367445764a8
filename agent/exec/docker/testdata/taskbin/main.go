// Command taskbin is the program of the docker runtime's test image (built
// FROM scratch by the tests). Each argument is a step, run in order:
//
//	out:TEXT       print TEXT on stdout
//	err:TEXT       print TEXT on stderr
//	env:NAME       print NAME=value on stdout
//	sleep:DUR      sleep for DUR (a Go duration)
//	ignore-term    ignore SIGTERM from now on
//	trap-term:N    on SIGTERM, print "got SIGTERM" and exit N
//	alloc:MIB      allocate and touch MIB MiB of memory, and keep it
//	exit:N         exit with status N
//
// With no step left it exits 0.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var kept [][]byte

func main() {
	for _, step := range os.Args[1:] {
		verb, arg, _ := strings.Cut(step, ":")
		switch verb {
		case "out":
			fmt.Fprintln(os.Stdout, arg)
		case "err":
			fmt.Fprintln(os.Stderr, arg)
		case "env":
			fmt.Printf("%s=%s\n", arg, os.Getenv(arg))
		case "sleep":
			d, err := time.ParseDuration(arg)
			fail(err)
			time.Sleep(d)
		case "ignore-term":
			signal.Ignore(syscall.SIGTERM)
		case "trap-term":
			code, err := strconv.Atoi(arg)
			fail(err)
			trap(code)
		case "alloc":
			mib, err := strconv.Atoi(arg)
			fail(err)
			for range mib {
				b := make([]byte, 1<<20)
				for i := range b {
					b[i] = 1
				}
				kept = append(kept, b)
			}
		case "exit":
			code, err := strconv.Atoi(arg)
			fail(err)
			os.Exit(code)
		default:
			fail(fmt.Errorf("unknown step %q", step))
		}
	}
}

func trap(code int) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		fmt.Println("got SIGTERM")
		os.Exit(code)
	}()
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "taskbin:", err)
		os.Exit(100)
	}
}
