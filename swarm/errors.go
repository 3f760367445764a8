package swarm

import "errors"

// ErrInvalidSpec is wrapped by every validation failure of a user's spec.
var ErrInvalidSpec = errors.New("invalid spec")
