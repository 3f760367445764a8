package cli

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
)

// The flag value types of service create and update. Their Type names are
// the ones docker shows in help ("list", "duration", "uint", "bytes", ...),
// and their parse errors docker's, since pflag prints them after
// `invalid argument "x" for "--flag" flag: `.

// listValue is a repeatable string flag; validate, when set, checks (and
// may rewrite) each value.
type listValue struct {
	values   []string
	validate func(string) (string, error)
}

func newListValue(validate func(string) (string, error)) *listValue {
	return &listValue{validate: validate}
}

func (l *listValue) Type() string { return "list" }
func (l *listValue) String() string {
	if len(l.values) == 0 {
		return ""
	}
	return fmt.Sprintf("%v", l.values)
}

func (l *listValue) Set(value string) error {
	if l.validate != nil {
		v, err := l.validate(value)
		if err != nil {
			return err
		}
		value = v
	}
	l.values = append(l.values, value)
	return nil
}

// validateEnv accepts KEY=value, and a bare KEY, which takes its value from
// the CLI's own environment when it is set there.
func validateEnv(value string) (string, error) {
	key, _, hasValue := strings.Cut(value, "=")
	if key == "" {
		return "", fmt.Errorf("invalid environment variable: %s", value)
	}
	if hasValue {
		return value, nil
	}
	if v, ok := os.LookupEnv(key); ok {
		return key + "=" + v, nil
	}
	return value, nil
}

// validateLabel accepts key[=value] with a non-empty key free of spaces.
func validateLabel(value string) (string, error) {
	key, _, _ := strings.Cut(value, "=")
	key = strings.TrimSpace(key)
	if key == "" {
		return "", fmt.Errorf("invalid label '%s': empty name", value)
	}
	if strings.ContainsAny(key, " \t\r\n\v\f") {
		return "", fmt.Errorf("label '%s' contains whitespaces", key)
	}
	return value, nil
}

// kvMap turns key=value strings into a map; a bare key maps to "".
func kvMap(values []string) map[string]string {
	m := make(map[string]string, len(values))
	for _, v := range values {
		k, val, _ := strings.Cut(v, "=")
		m[k] = val
	}
	return m
}

// optionalDuration is a duration flag that tells "not given" (nil) from 0.
// A negative value is refused when positive is set.
type optionalDuration struct {
	value    *time.Duration
	positive bool
}

func (d *optionalDuration) Type() string { return "duration" }

func (d *optionalDuration) String() string {
	if d.value == nil {
		return ""
	}
	return d.value.String()
}

func (d *optionalDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d.positive && v < 0 {
		return errors.New("duration cannot be negative")
	}
	d.value = &v
	return nil
}

// optionalUint is an unsigned flag that tells "not given" (nil) from 0.
// Like docker, it accepts 0x and 0o prefixes.
type optionalUint struct{ value *uint64 }

func (u *optionalUint) Type() string { return "uint" }

func (u *optionalUint) String() string {
	if u.value == nil {
		return ""
	}
	return strconv.FormatUint(*u.value, 10)
}

func (u *optionalUint) Set(s string) error {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return err
	}
	u.value = &v
	return nil
}

// ratioValue is a float32 flag (a failure ratio).
type ratioValue float32

func (f *ratioValue) Type() string   { return "float" }
func (f *ratioValue) String() string { return strconv.FormatFloat(float64(*f), 'g', -1, 32) }

func (f *ratioValue) Set(s string) error {
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return err
	}
	*f = ratioValue(v)
	return nil
}

// memBytes is a memory size flag: 512m, 1.5g, 1024 (bytes), binary units.
type memBytes int64

func (m *memBytes) Type() string { return "bytes" }

func (m *memBytes) String() string {
	if *m == 0 {
		return "0"
	}
	return units.BytesSize(float64(*m))
}

func (m *memBytes) Set(s string) error {
	v, err := units.RAMInBytes(s)
	if err != nil {
		return err
	}
	*m = memBytes(v)
	return nil
}

// nanoCPUs is a CPU count flag (1.5 CPUs), kept in billionths of a CPU.
type nanoCPUs int64

func (n *nanoCPUs) Type() string { return "decimal" }

func (n *nanoCPUs) String() string {
	if *n == 0 {
		return ""
	}
	return big.NewRat(int64(*n), 1e9).FloatString(3)
}

func (n *nanoCPUs) Set(s string) error {
	cpus, ok := new(big.Rat).SetString(s)
	if !ok {
		return fmt.Errorf("failed to parse %v as a rational number", s)
	}
	nano := cpus.Mul(cpus, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return errors.New("value is too precise")
	}
	*n = nanoCPUs(nano.Num().Int64())
	return nil
}

// shellWords is a flag holding a command line split like a shell does:
// --args "ping -c 3 'docker.com'".
type shellWords []string

func (w *shellWords) Type() string { return "command" }

func (w *shellWords) String() string {
	if len(*w) == 0 {
		return ""
	}
	return fmt.Sprint([]string(*w))
}

func (w *shellWords) Set(s string) error {
	words, err := splitShellWords(s)
	if err != nil {
		return err
	}
	*w = words
	return nil
}

// splitShellWords splits s on unquoted blanks. Single quotes keep text
// literally; double quotes keep it but honour backslash before \ " $ and `;
// a backslash outside quotes escapes the next character.
func splitShellWords(s string) ([]string, error) {
	var (
		words   []string
		word    strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && !strings.ContainsRune(`\"$`+"`", r) {
				word.WriteRune('\\')
			}
			word.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			word.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	switch {
	case escaped:
		return nil, errors.New("EOF found after escape character")
	case quote != 0:
		return nil, errors.New("EOF found when expecting closing quote")
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}
