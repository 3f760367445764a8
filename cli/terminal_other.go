//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "io"

// terminalOf reports whether w is a terminal, and its width in columns.
// On this system the CLI never draws in place.
func terminalOf(io.Writer) (bool, int) { return false, 0 }
