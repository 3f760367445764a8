package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Image references, as docker normalizes them before creating a service
// and shortens them for display: [domain/]path[:tag][@digest], where
// Docker Hub's domain and "library/" are implied ("alpine" is
// docker.io/library/alpine).

const (
	hubDomain       = "docker.io"
	legacyHubDomain = "index.docker.io"
	officialPrefix  = "library/"
	defaultTag      = "latest"
	maxImageNameLen = 255
)

var (
	// imageRefPattern is the reference grammar: name, optional tag,
	// optional digest.
	imageRefPattern = regexp.MustCompile(`^(` + imageNamePattern + `)(?::([\w][\w.-]{0,127}))?(?:@(` + digestPattern + `))?$`)
	// digestPattern accepts any algorithm and at least 128 bits of hex.
	digestRE       = regexp.MustCompile(`^` + digestPattern + `$`)
	hexIdentifier  = regexp.MustCompile(`^[a-f0-9]{64}$`)
	lowerHexDigits = regexp.MustCompile(`^[a-f0-9]+$`)
)

const (
	domainComponent  = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	domainPattern    = `(?:` + domainComponent + `(?:\.` + domainComponent + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
	pathComponent    = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	imageNamePattern = `(?:` + domainPattern + `/)?` + pathComponent + `(?:/` + pathComponent + `)*`
	digestPattern    = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
)

// digestHexLen is the hex length of each digest algorithm docker knows.
var digestHexLen = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

// imageRef is a parsed, normalized reference.
type imageRef struct {
	domain, path string
	tag, digest  string // "" when absent
}

var errBadReference = errors.New("invalid reference format")

// parseImageRef parses a reference the user typed, filling in Docker Hub's
// implied parts.
func parseImageRef(s string) (imageRef, error) {
	if hexIdentifier.MatchString(s) {
		return imageRef{}, fmt.Errorf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s)
	}
	domain, rest := splitHubDomain(s)
	remote, _, _ := strings.Cut(rest, ":")
	if strings.ToLower(remote) != remote {
		return imageRef{}, fmt.Errorf("invalid reference format: repository name (%s) must be lowercase", remote)
	}
	m := imageRefPattern.FindStringSubmatch(domain + "/" + rest)
	if m == nil {
		return imageRef{}, errBadReference
	}
	if len(m[1]) > maxImageNameLen {
		return imageRef{}, errors.New("repository name must not be more than 255 characters")
	}
	if m[3] != "" && !validDigest(m[3]) {
		return imageRef{}, errBadReference
	}
	r := imageRef{tag: m[2], digest: m[3]}
	r.domain, r.path, _ = strings.Cut(m[1], "/")
	return r, nil
}

// splitHubDomain splits off the registry domain: the first path element
// when it looks like a host (has a dot or port, is localhost, or has upper
// case), else Docker Hub's, whose single-element names live in library/.
func splitHubDomain(name string) (string, string) {
	domain, rest := hubDomain, name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		first := name[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			domain, rest = first, name[i+1:]
		}
	}
	if domain == legacyHubDomain {
		domain = hubDomain
	}
	if domain == hubDomain && !strings.Contains(rest, "/") {
		rest = officialPrefix + rest
	}
	return domain, rest
}

// validDigest checks a digest of a known algorithm: lower-case hex of the
// algorithm's length.
func validDigest(d string) bool {
	alg, hex, _ := strings.Cut(d, ":")
	n, ok := digestHexLen[alg]
	return ok && len(hex) == n && lowerHexDigits.MatchString(hex)
}

// familiarName is the name as people write it: Docker Hub's domain and
// library/ dropped.
func (r imageRef) familiarName() string {
	if r.domain != hubDomain {
		return r.domain + "/" + r.path
	}
	if rest, ok := strings.CutPrefix(r.path, officialPrefix); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return r.path
}

// String is the familiar form with tag and digest.
func (r imageRef) String() string {
	s := r.familiarName()
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest
	}
	return s
}

// withDefaultTag returns image with ":latest" when it has neither tag nor
// digest, in familiar form; an unparsable image is returned unchanged.
func withDefaultTag(image string) string {
	r, err := parseImageRef(image)
	if err != nil {
		return image
	}
	if r.tag == "" && r.digest == "" {
		r.tag = defaultTag
	}
	return r.String()
}

// withDigest pins image to digest (keeping its tag), unless it is already
// pinned, cannot be parsed, or digest is malformed.
func withDigest(image, digest string) string {
	r, err := parseImageRef(image)
	if err != nil || r.digest != "" || !digestRE.MatchString(digest) {
		return image
	}
	r.digest = digest
	return r.String()
}

// displayImage shortens image for tables: a tagged reference loses its
// digest (alpine:latest@sha256:… shows as alpine:latest); anything else is
// shown as stored.
func displayImage(image string) string {
	r, err := parseImageRef(image)
	if err != nil || r.tag == "" {
		return image
	}
	r.digest = ""
	return r.String()
}
