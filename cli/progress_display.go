package cli

import (
	"fmt"
	"io"
	"strings"
)

// The convergence display reproduces what the docker CLI prints while it
// watches a service: named progress lines ("overall progress", "1/3",
// "verify") that a terminal redraws in place, and plain messages. Without a
// terminal, every update of a line is printed again as a new line, except
// updates carrying a progress bar, which are dropped.

// progressLine is one update of the display.
type progressLine struct {
	// id names the line ("overall progress", "2/3", a node ID, "verify",
	// "rollback"); it prints as "id: " before the text. A plain message
	// may have none.
	id string
	// text is the state or message shown after the id.
	text string
	// step and steps draw a bar of step/steps when both are set.
	step, steps int64
	// message marks a plain message: it is never redrawn, and the lines
	// printed before it are no longer redrawn either.
	message bool
}

// lineDisplay writes progress lines to a stream, redrawing named lines in
// place when the stream is a terminal. width is the terminal's width (bars
// need more than 110 columns). It is not safe for concurrent use.
type lineDisplay struct {
	out   io.Writer
	tty   bool
	width int
	// rows maps each named line on screen to its row, counted from the
	// first named line.
	rows map[string]int
}

func newLineDisplay(out io.Writer, tty bool, width int) *lineDisplay {
	return &lineDisplay{out: out, tty: tty, width: width, rows: map[string]int{}}
}

// ANSI escapes the terminal display uses.
const (
	eraseLine = "\x1b[2K"
	cursorUp  = "\x1b[%dA"
	cursorDn  = "\x1b[%dB"
)

func (d *lineDisplay) write(l progressLine) {
	if l.message || l.id == "" {
		d.rows = map[string]int{}
		d.print(l, "\n")
		return
	}
	if !d.tty {
		// A line with a bar is dropped when there is no terminal.
		if l.step <= 0 {
			d.print(l, "\n")
		}
		return
	}
	row, known := d.rows[l.id]
	if !known {
		row = len(d.rows)
		d.rows[l.id] = row
		fmt.Fprint(d.out, "\n")
	}
	up := len(d.rows) - row
	fmt.Fprintf(d.out, cursorUp, up)
	fmt.Fprint(d.out, eraseLine+"\r")
	fmt.Fprintf(d.out, "%s: %s %s\r", l.id, l.text, d.bar(l))
	fmt.Fprintf(d.out, cursorDn, up)
}

func (d *lineDisplay) print(l progressLine, end string) {
	if l.id != "" {
		fmt.Fprintf(d.out, "%s: ", l.id)
	}
	fmt.Fprint(d.out, l.text+end)
}

// bar draws step/steps as fifty columns of "=" ending in ">", on terminals
// wide enough; otherwise nothing.
func (d *lineDisplay) bar(l progressLine) string {
	if l.step <= 0 || l.steps <= 0 || d.width <= 110 {
		return ""
	}
	filled := min(int(float64(l.step)/float64(l.steps)*100)/2, 50)
	return "[" + strings.Repeat("=", filled) + ">" + strings.Repeat(" ", 50-filled) + "] "
}
