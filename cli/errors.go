package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

// Exit statuses, as the docker CLI uses them.
const (
	exitFailure   = 1
	exitBadFormat = 64
	exitFlagError = 125
)

// statusError ends a command with a given exit status and message. An empty
// message prints nothing.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// report prints err the docker way and returns the exit status.
func report(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var st *statusError
	if errors.As(err, &st) {
		if st.msg != "" {
			fmt.Fprintln(w, st.msg)
		}
		return st.code
	}
	fmt.Fprintln(w, describe(err))
	return exitFailure
}

// describe renders err as docker does: daemon answers get the
// "Error response from daemon: " prefix, joined errors one per line.
func describe(err error) string {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var lines []string
		for _, e := range joined.Unwrap() {
			lines = append(lines, describe(e))
		}
		return strings.Join(lines, "\n")
	}
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.NoBody {
		return err.Error()
	}
	text := err.Error()
	context, found := strings.CutSuffix(text, apiErr.Message)
	if !found {
		return text
	}
	return context + "Error response from daemon: " + apiErr.Message
}

// flagError reports a flag parsing error with the usage line, exit 125.
func flagError(cmd *cobra.Command, err error) error {
	return &statusError{code: exitFlagError, msg: fmt.Sprintf("%s\n\nUsage:  %s\n\nRun '%s --help' for more information",
		err, cmd.UseLine(), cmd.CommandPath())}
}

// usageError is the error of a wrong argument count: what was wrong, the
// usage line and where to read more, the way the docker CLI words it.
func usageError(cmd *cobra.Command, problem, readMore string) error {
	return fmt.Errorf("%s: '%s' %s\n\nUsage:  %s\n\n%s '%s --help' for more information",
		cmd.Root().Name(), cmd.CommandPath(), problem, cmd.UseLine(), readMore, cmd.CommandPath())
}

// noArgs accepts no positional argument; for a command group an argument is
// an unknown subcommand.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return fmt.Errorf("%s: unknown command: %s %s\n\nUsage:  %s\n\nRun '%s --help' for more information",
			cmd.Root().Name(), cmd.CommandPath(), args[0], cmd.UseLine(), cmd.CommandPath())
	}
	return usageError(cmd, "accepts no arguments", "Run")
}

// requiresMinArgs accepts n or more positional arguments.
func requiresMinArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return usageError(cmd, fmt.Sprintf("requires at least %d %s", n, plural("argument", n)), "See")
	}
}

// exactArgs accepts exactly n positional arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usageError(cmd, fmt.Sprintf("requires %d %s", n, plural("argument", n)), "Run")
	}
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
