package scheduler

import (
	"net"
	"net/netip"
	"strings"

	"github.com/shoal-project/shoal/swarm"
)

// Operator compares a node attribute with a constraint's value.
type Operator int

// Operators, in the order the parser looks for them (as Docker does: an
// expression holding both is split at "==").
const (
	OpEqual    Operator = iota + 1 // ==
	OpNotEqual                     // !=
)

var operators = []struct {
	text string
	op   Operator
}{{"==", OpEqual}, {"!=", OpNotEqual}}

func (o Operator) String() string {
	for _, x := range operators {
		if x.op == o {
			return x.text
		}
	}
	return "?"
}

// Constraint keys a node can be matched on. Keys are case-insensitive; the
// label name after a label prefix is not.
const (
	KeyNodeID           = "node.id"
	KeyNodeHostname     = "node.hostname"
	KeyNodeRole         = "node.role"
	KeyNodeIP           = "node.ip"
	KeyNodePlatformOS   = "node.platform.os"
	KeyNodePlatformArch = "node.platform.arch"
	PrefixNodeLabels    = "node.labels."
	PrefixEngineLabels  = "engine.labels."
)

// Constraint is one placement rule of a service, such as
// node.labels.zone==a. Values compare case-insensitively.
type Constraint struct {
	Key   string
	Op    Operator
	Value string
}

func (c Constraint) String() string { return c.Key + c.Op.String() + c.Value }

// ParseConstraints reads a service's placement constraints. A malformed one
// is an error of class swarm.ErrInvalidArgument in Docker's words. A key
// the parser accepts but no node has (node.name==x) is not an error: it
// matches no node, as in Docker.
func ParseConstraints(exprs []string) ([]Constraint, error) {
	out := make([]Constraint, 0, len(exprs))
	for _, e := range exprs {
		c, err := parseConstraint(e)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseConstraint(e string) (Constraint, error) {
	for _, o := range operators {
		key, value, found := strings.Cut(e, o.text)
		if !found {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !validKey(key) {
			return Constraint{}, swarm.Errorf(swarm.ErrInvalidArgument, "key '%s' is invalid", key)
		}
		if !validValue(value) {
			return Constraint{}, swarm.Errorf(swarm.ErrInvalidArgument, "value '%s' is invalid", value)
		}
		return Constraint{Key: key, Op: o.op, Value: value}, nil
	}
	return Constraint{}, swarm.Errorf(swarm.ErrInvalidArgument, "constraint expected one operator from ==, !=")
}

// validKey is Docker's key syntax: a letter or underscore, then at least
// one letter, digit, dash, underscore or dot.
func validKey(k string) bool {
	if len(k) < 2 || !(isLetter(k[0]) || k[0] == '_') {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !isLetter(c) && !isDigit(c) && !strings.ContainsRune("-_.", rune(c)) {
			return false
		}
	}
	return true
}

// valueSymbols are the punctuation Docker allows in a constraint value;
// anything that could become an operator one day (<, >, ~, =) is left out.
const valueSymbols = ":-_.*()?+[]\\^$|/ \t\n\f\r"

// validValue is Docker's value syntax: not empty, letters, digits, white
// space and valueSymbols.
func validValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isLetter(c) && !isDigit(c) && !strings.ContainsRune(valueSymbols, rune(c)) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// MatchNode reports whether n satisfies every constraint.
func MatchNode(cs []Constraint, n *swarm.Node) bool {
	for _, c := range cs {
		if !c.Matches(n) {
			return false
		}
	}
	return true
}

// Matches reports whether n satisfies c. A key no node has fails with
// either operator; a missing label or hostname counts as the empty string.
func (c Constraint) Matches(n *swarm.Node) bool {
	switch k := c.Key; {
	case strings.EqualFold(k, KeyNodeID):
		return c.compare(string(n.ID))
	case strings.EqualFold(k, KeyNodeHostname):
		return c.compare(n.Description.Hostname)
	case strings.EqualFold(k, KeyNodeRole):
		return c.compare(string(n.Spec.Role))
	case strings.EqualFold(k, KeyNodePlatformOS):
		return c.compare(n.Description.OS)
	case strings.EqualFold(k, KeyNodePlatformArch):
		return c.compare(n.Description.Architecture)
	case strings.EqualFold(k, KeyNodeIP):
		return c.compareIP(n.Status.Addr)
	case hasPrefixFold(k, PrefixNodeLabels):
		return c.compare(n.Spec.Labels[k[len(PrefixNodeLabels):]])
	case hasPrefixFold(k, PrefixEngineLabels):
		return c.compare("") // nodes report no engine labels
	}
	return false
}

func (c Constraint) compare(v string) bool {
	return strings.EqualFold(c.Value, v) == (c.Op == OpEqual)
}

// compareIP matches a node's address against one address or a CIDR
// network. A value that is neither matches no node.
func (c Constraint) compareIP(addr string) bool {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	ip, _ := netip.ParseAddr(addr)
	var in bool
	if want, err := netip.ParseAddr(c.Value); err == nil {
		in = ip.IsValid() && want.Unmap() == ip.Unmap()
	} else if p, err := netip.ParsePrefix(c.Value); err == nil {
		in = ip.IsValid() && p.Contains(ip.Unmap())
	} else {
		return false
	}
	return in == (c.Op == OpEqual)
}

// hasPrefixFold reports whether key is prefix, in any case, followed by a
// name.
func hasPrefixFold(key, prefix string) bool {
	return len(key) > len(prefix) && strings.EqualFold(key[:len(prefix)], prefix)
}
