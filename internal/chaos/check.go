package chaos

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Violation is a broken invariant.
type Violation struct {
	Check  string // which invariant
	Detail string
}

func (v Violation) String() string { return v.Check + ": " + v.Detail }

// ---------------------------------------------------------------------------
// Linearizability.

// svcState is the model's state of one service name.
type svcState struct {
	exists   bool
	replicas uint64
	value    string
}

// serviceModel is a register per service name: create sets it if absent,
// update sets it if its value is still the one read (the version check),
// reads observe it.
var serviceModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(*Op).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return svcState{} },
	Step: func(state, input, _ any) (bool, any) {
		return step(state.(svcState), input.(*Op))
	},
	DescribeOperation: func(input, _ any) string { return input.(*Op).String() },
	DescribeState: func(state any) string {
		s := state.(svcState)
		if !s.exists {
			return "absent"
		}
		return fmt.Sprintf("replicas=%d value=%s", s.replicas, s.value)
	},
}

// step is the sequential specification of one operation on one service.
func step(s svcState, op *Op) (bool, svcState) {
	written := svcState{exists: true, replicas: op.Replicas, value: op.Value}
	switch op.Kind {
	case OpCreate:
		switch {
		case op.Outcome == OK:
			return !s.exists, written
		case op.Outcome == Failed && op.Reject == RejectExists:
			return s.exists, s
		case op.Outcome == Unknown && !s.exists:
			return true, written
		}
		return true, s
	case OpUpdate:
		applies := s.exists && s.value == op.Expect
		switch {
		case op.Outcome == OK:
			return applies, written
		case op.Outcome == Failed && op.Reject == RejectNotFound:
			return !s.exists, s
		case op.Outcome == Unknown && applies:
			return true, written
		}
		return true, s
	default: // OpRead, OK only
		if !op.Found {
			return !s.exists, s
		}
		return s.exists && s.value == op.ReadValue && s.replicas == op.ReadReplicas, s
	}
}

// inModel reports whether an operation belongs in the linearizability
// check: every write but those that certainly did nothing for a reason the
// model does not read, and successful reads.
func inModel(op *Op) bool {
	switch {
	case op.Kind == OpRead:
		return op.Outcome == OK
	case op.Outcome == Failed:
		return op.Reject == RejectExists || op.Reject == RejectNotFound || op.Reject == RejectOutOfSeq
	}
	return true
}

// CheckLinearizable checks the history of service operations against the
// register model, within timeout. An operation of unknown outcome may take
// effect at any time after its start (its return is open-ended).
func CheckLinearizable(ops []*Op, timeout time.Duration) []Violation {
	if len(ops) == 0 {
		return nil
	}
	base := ops[0].Start
	for _, op := range ops {
		if op.Start.Before(base) {
			base = op.Start
		}
	}
	var history []porcupine.Operation
	for _, op := range ops {
		if !inModel(op) {
			continue
		}
		ret := op.End.Sub(base).Nanoseconds()
		if op.Outcome == Unknown {
			ret = math.MaxInt64
		}
		history = append(history, porcupine.Operation{ClientId: op.Client, Input: op, Output: op,
			Call: op.Start.Sub(base).Nanoseconds(), Return: ret})
	}
	res, info := porcupine.CheckOperationsVerbose(serviceModel, history, timeout)
	switch res {
	case porcupine.Ok:
		return nil
	case porcupine.Unknown:
		return []Violation{{"linearizability", fmt.Sprintf("not decided within %v over %d operations", timeout, len(history))}}
	}
	return []Violation{{"linearizability", "history not linearizable: " + explain(info, ops)}}
}

// explain names the operations of the longest partial linearization of
// the first failing partition, then the operations of that partition it
// could not place, by start time.
func explain(info porcupine.LinearizationInfo, ops []*Op) string {
	parts := info.PartialLinearizationsOperations()
	for _, part := range parts {
		if len(part) == 0 {
			continue
		}
		longest := part[0]
		for _, p := range part {
			if len(p) > len(longest) {
				longest = p
			}
		}
		placed := map[*Op]bool{}
		var lines []string
		for _, op := range longest {
			placed[op.Input.(*Op)] = true
			lines = append(lines, op.Input.(*Op).String())
		}
		key := longest[0].Input.(*Op).Key
		var rest []*Op
		for _, o := range ops {
			if o.Key == key && inModel(o) && !placed[o] {
				rest = append(rest, o)
			}
		}
		slices.SortFunc(rest, func(a, b *Op) int { return a.Start.Compare(b.Start) })
		var left []string
		for _, o := range rest {
			left = append(left, o.String())
		}
		return fmt.Sprintf("longest linearizable prefix of a failing key (%d ops):\n  %s\nnot placed:\n  %s",
			len(longest), strings.Join(lines, "\n  "), strings.Join(left, "\n  "))
	}
	return "no detail"
}

// ---------------------------------------------------------------------------
// Lost writes.

// CheckNoLostWrites checks that the final state of each key (read after
// healing) reflects every acknowledged write: the value read was written by
// some write, and no acknowledged write started after that one had ended.
func CheckNoLostWrites(ops []*Op, final map[string]*Op) []Violation {
	writes := map[string][]*Op{}
	for _, op := range ops {
		if op.Kind.IsWrite() && op.Outcome != Failed {
			writes[op.Key] = append(writes[op.Key], op)
		}
	}
	var out []Violation
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		out = append(out, lostOnKey(key, writes[key], final[key])...)
	}
	return out
}

func lostOnKey(key string, writes []*Op, final *Op) []Violation {
	var acked []*Op
	for _, w := range writes {
		if w.Outcome == OK {
			acked = append(acked, w)
		}
	}
	if len(acked) == 0 {
		return nil
	}
	if final == nil {
		return []Violation{{"lost write", fmt.Sprintf("%s: no final read after acknowledged writes", key)}}
	}
	if !final.Found {
		return []Violation{{"lost write", fmt.Sprintf("%s: absent at the end, but acknowledged: %s", key, acked[0])}}
	}
	i := slices.IndexFunc(writes, func(w *Op) bool { return w.Value == final.ReadValue })
	if i < 0 {
		return []Violation{{"lost write", fmt.Sprintf("%s: final value %s was never written", key, final.ReadValue)}}
	}
	src := writes[i]
	var out []Violation
	if src.Replicas != final.ReadReplicas {
		out = append(out, Violation{"lost write", fmt.Sprintf("%s: final replicas %d, but value %s was written with %d",
			key, final.ReadReplicas, src.Value, src.Replicas)})
	}
	for _, w := range acked {
		if w != src && w.Start.After(src.End) && src.Outcome == OK {
			out = append(out, Violation{"lost write", fmt.Sprintf("%s: final value %s (from %s), but later acknowledged %s",
				key, final.ReadValue, src, w)})
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Leaders.

// CheckLeaders checks that no two nodes claimed leadership in one term.
func CheckLeaders(claims []LeaderClaim) []Violation {
	byTerm := map[uint64]map[string]string{}
	for _, c := range claims {
		if byTerm[c.Term] == nil {
			byTerm[c.Term] = map[string]string{}
		}
		byTerm[c.Term][c.Node] = c.Host
	}
	var terms []uint64
	for t, nodes := range byTerm {
		if len(nodes) > 1 {
			terms = append(terms, t)
		}
	}
	slices.Sort(terms)
	var out []Violation
	for _, t := range terms {
		var names []string
		for node, host := range byTerm[t] {
			names = append(names, node+"@"+host)
		}
		slices.Sort(names)
		out = append(out, Violation{"one leader per term", fmt.Sprintf("term %d has leaders %s", t, strings.Join(names, ", "))})
	}
	return out
}

// ---------------------------------------------------------------------------
// Fault windows.

// Window is a period during which a fault held, and the hosts it concerns.
type Window struct {
	Fault string
	Hosts []string
	Start time.Time
	End   time.Time // zero while the fault holds
}

func (w Window) covers(t time.Time) bool {
	return !t.Before(w.Start) && (w.End.IsZero() || !t.After(w.End))
}

func (w Window) overlaps(start, end time.Time) bool {
	return !end.Before(w.Start) && (w.End.IsZero() || !start.After(w.End))
}

// CheckMinority checks that no write sent to a host cut off in a minority
// was acknowledged while it was cut off (sent and answered within the
// window).
func CheckMinority(ops []*Op, minority []Window) []Violation {
	var out []Violation
	for _, w := range minority {
		for _, op := range ops {
			if op.Kind.IsWrite() && op.Outcome == OK && slices.Contains(w.Hosts, op.Target) &&
				!op.Start.Before(w.Start) && !w.End.IsZero() && !op.End.After(w.End) {
				out = append(out, Violation{"minority acknowledged a write", fmt.Sprintf("during %s of %v: %s", w.Fault, w.Hosts, op)})
			}
		}
	}
	return out
}

// CheckNoQuorum checks that, from grace after the loss of quorum to its
// end, every request got a clear no-leader error within bound.
func CheckNoQuorum(ops []*Op, noQuorum []Window, grace, bound time.Duration) []Violation {
	var out []Violation
	for _, w := range noQuorum {
		for _, op := range ops {
			if op.Start.Before(w.Start.Add(grace)) || w.End.IsZero() || op.Start.After(w.End) {
				continue
			}
			switch {
			case op.Outcome == OK:
				out = append(out, Violation{"clear errors without quorum", fmt.Sprintf("%s succeeded: %s", w.Fault, op)})
			case op.Duration() > bound:
				out = append(out, Violation{"clear errors without quorum", fmt.Sprintf("%s: answered after %v (bound %v): %s",
					w.Fault, op.Duration().Round(time.Millisecond), bound, op)})
			case !clearNoLeader(op):
				out = append(out, Violation{"clear errors without quorum", fmt.Sprintf("%s: not Docker's no-leader error: %s", w.Fault, op)})
			}
		}
	}
	return out
}

// CheckHangs checks that every request to a host that was up (neither dead
// nor frozen, see unavailable) got an answer within bound.
func CheckHangs(ops []*Op, unavailable []Window, bound time.Duration) []Violation {
	var out []Violation
	for _, op := range ops {
		if op.Duration() < bound {
			continue
		}
		exempt := slices.ContainsFunc(unavailable, func(w Window) bool {
			return slices.Contains(w.Hosts, op.Target) && w.overlaps(op.Start, op.End)
		})
		if !exempt {
			out = append(out, Violation{"no hang", fmt.Sprintf("no answer within %v: %s", bound, op)})
		}
	}
	return out
}

// SlotSample is the number of running tasks of one slot of one service at
// one moment, as the API lists them.
type SlotSample struct {
	At      time.Time
	Service string
	Slot    int
	Running int
	Tasks   []string
}

// CheckSlots checks that no slot had more than maxPerSlot running tasks
// while the network was whole: outside every disturbance window extended by
// settle.
func CheckSlots(samples []SlotSample, disturbed []Window, settle time.Duration, maxPerSlot int) []Violation {
	var out []Violation
	for _, s := range samples {
		if s.Running <= maxPerSlot {
			continue
		}
		excused := slices.ContainsFunc(disturbed, func(w Window) bool {
			ext := w
			if !ext.End.IsZero() {
				ext.End = ext.End.Add(settle)
			}
			return ext.covers(s.At)
		})
		if !excused {
			out = append(out, Violation{"copies per slot", fmt.Sprintf("%s slot %d had %d running tasks at %s (at most %d): %v",
				s.Service, s.Slot, s.Running, s.At.Format("15:04:05.000"), maxPerSlot, s.Tasks)})
		}
	}
	return out
}
