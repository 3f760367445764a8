package apiserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type repeat byte

func (b repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// counted counts what is read from r.
type counted struct {
	r io.Reader
	n int64
}

func (c *counted) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestBodyLimit: a request body larger than 2 MiB is refused with 413
// after reading at most that much, or nothing when its length is
// announced; the handler never sees it.
func TestBodyLimit(t *testing.T) {
	f := newFakeLeader(t)
	const want = "request body too large: more than 2097152 bytes"
	for _, announced := range []bool{false, true} {
		body := &counted{r: io.MultiReader(strings.NewReader(`{"Name":"x","Labels":{"big":"`), io.LimitReader(repeat('x'), 400<<20))}
		req := httptest.NewRequest(http.MethodPost, "/v1.50/services/create", body)
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		if announced {
			req.ContentLength = 400 << 20
		}
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		wantError(t, rec.Result(), http.StatusRequestEntityTooLarge, want)
		most := int64(3 << 20) // the limit, and what the decoder had buffered
		if announced {
			most = 0
		}
		if body.n > most {
			t.Errorf("length announced %v: %d bytes read, want at most %d", announced, body.n, most)
		}
	}
}
