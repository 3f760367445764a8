package ca_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/swarm"
)

func TestJoinTokenRoundTrip(t *testing.T) {
	root := catest.NewCA(t)
	s := ca.NewJoinToken(root)
	if !strings.HasPrefix(s, "SWMTKN-1-") || len(s) != len("SWMTKN-1-")+50+1+25 {
		t.Fatalf("token %q has the wrong shape", s)
	}
	tok, err := ca.ParseJoinToken(s)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Digest != root.Digest() || len(tok.Secret) != 25 {
		t.Fatalf("parsed %+v, want digest %s", tok, root.Digest())
	}
	if tok.String() != s || !tok.Matches(s) {
		t.Fatal("parsed token does not match its text")
	}
	if again := ca.NewJoinToken(root); again == s || tok.Matches(again) {
		t.Fatal("two new tokens are equal")
	}
}

func TestParseJoinTokenRejects(t *testing.T) {
	root := catest.NewCA(t)
	good := ca.NewJoinToken(root)
	parts := strings.Split(good, "-")
	digest, secret := parts[2], parts[3]
	tests := map[string]string{
		"empty":            "",
		"garbage":          "hello world",
		"wrong prefix":     "SWMTKX-1-" + digest + "-" + secret,
		"wrong version":    "SWMTKN-2-" + digest + "-" + secret,
		"fips v2 shape":    "SWMTKN-2-0-" + digest + "-" + secret,
		"short digest":     "SWMTKN-1-" + digest[1:] + "-" + secret,
		"short secret":     "SWMTKN-1-" + digest + "-" + secret[1:],
		"long secret":      good + "0",
		"upper case":       strings.ToUpper(good),
		"extra part":       good + "-x",
		"missing secret":   "SWMTKN-1-" + digest,
		"digest too large": "SWMTKN-1-" + strings.Repeat("z", 50) + "-" + secret,
		"secret too large": "SWMTKN-1-" + digest + "-" + strings.Repeat("z", 25),
		"bad character":    "SWMTKN-1-" + digest + "-" + secret[:24] + "_",
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ca.ParseJoinToken(s)
			if !errors.Is(err, ca.ErrInvalidJoinToken) || !errors.Is(err, swarm.ErrInvalidArgument) {
				t.Fatalf("ParseJoinToken(%q) = %v, want invalid join token", s, err)
			}
			if err.Error() != "invalid join token" {
				t.Fatalf("message %q, want Swarm's", err)
			}
		})
	}
}

func TestRoleForToken(t *testing.T) {
	root := catest.NewCA(t)
	tokens := swarm.JoinTokens{Worker: ca.NewJoinToken(root), Manager: ca.NewJoinToken(root)}
	if role, err := ca.RoleForToken(tokens, tokens.Manager); err != nil || role != swarm.RoleManager {
		t.Fatalf("manager token: %v, %v", role, err)
	}
	if role, err := ca.RoleForToken(tokens, tokens.Worker); err != nil || role != swarm.RoleWorker {
		t.Fatalf("worker token: %v, %v", role, err)
	}
	for _, s := range []string{"", ca.NewJoinToken(root), "garbage"} {
		_, err := ca.RoleForToken(tokens, s)
		if !errors.Is(err, ca.ErrJoinTokenRejected) || err.Error() != ca.MsgJoinTokenRejected {
			t.Fatalf("token %q: %v, want rejection", s, err)
		}
	}
	if _, err := ca.RoleForToken(swarm.JoinTokens{}, ""); err == nil {
		t.Fatal("empty token matched empty cluster tokens")
	}
}
