package cli

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

func newVersionCommand(s *session) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the shoal version information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.run(cmd, func(c *call) error { return runVersion(c, format) })
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Format output using a custom template: 'json' or a Go template`)
	return cmd
}

// clientVersion is the Client section of `version`.
type clientVersion struct {
	Version           string
	APIVersion        string `json:"ApiVersion"`
	DefaultAPIVersion string
	GitCommit         string
	GoVersion         string
	Os                string
	Arch              string
	BuildTime         string
	Context           string
}

// versionView is what `version --format` templates see.
type versionView struct {
	Client clientVersion
	Server *system.VersionResponse
}

func runVersion(c *call, format string) error {
	var tmpl interface {
		Execute(io.Writer, any) error
	}
	if format != "" {
		if format == formatJSON {
			format = "{{json .}}"
		}
		t, err := parseTemplate(format)
		if err != nil {
			return &statusError{code: exitBadFormat, msg: err.Error()}
		}
		tmpl = t
	}
	sv, err := c.api.Version(c.ctx)
	view := versionView{Client: clientVersion{
		Version: Version, APIVersion: c.api.APIVersion(), DefaultAPIVersion: client.DefaultAPIVersion,
		GitCommit: GitCommit, GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH,
		BuildTime: ansiDate(BuildTime), Context: "default",
	}}
	if err == nil {
		view.Server = &sv
	}
	tw := tabwriter.NewWriter(c.out, 20, 1, 1, ' ', 0)
	if tmpl != nil {
		if execErr := tmpl.Execute(tw, view); execErr != nil && err == nil {
			err = execErr
		}
	} else {
		writeVersion(tw, view)
	}
	fmt.Fprintln(tw)
	_ = tw.Flush()
	return err
}

// writeVersion lays out the Client and Server sections; tw aligns values.
func writeVersion(w io.Writer, v versionView) {
	cv := v.Client
	fmt.Fprintln(w, "Client:")
	fmt.Fprintf(w, " Version:\t%s\n", cv.Version)
	fmt.Fprintf(w, " API version:\t%s", cv.APIVersion)
	if cv.APIVersion != cv.DefaultAPIVersion {
		fmt.Fprintf(w, " (downgraded from %s)", cv.DefaultAPIVersion)
	}
	fmt.Fprintf(w, "\n Go version:\t%s\n Git commit:\t%s\n Built:\t%s\n OS/Arch:\t%s/%s\n Context:\t%s",
		cv.GoVersion, cv.GitCommit, cv.BuildTime, cv.Os, cv.Arch, cv.Context)
	if v.Server == nil {
		return
	}
	fmt.Fprint(w, "\n\nServer:")
	if v.Server.Platform.Name != "" {
		fmt.Fprint(w, " "+v.Server.Platform.Name)
	}
	for _, comp := range serverComponents(v.Server) {
		writeComponent(w, comp)
	}
}

// serverComponents returns the server's components, with an Engine entry
// built from the top-level fields when the server lists none.
func serverComponents(sv *system.VersionResponse) []system.ComponentVersion {
	comps := slices.Clone(sv.Components)
	for _, c := range comps {
		if c.Name == "Engine" {
			if bt, ok := c.Details["BuildTime"]; ok {
				c.Details["BuildTime"] = ansiDate(bt)
			}
			return comps
		}
	}
	return append(comps, system.ComponentVersion{Name: "Engine", Version: sv.Version, Details: map[string]string{
		"ApiVersion": sv.APIVersion, "MinAPIVersion": sv.MinAPIVersion, "GitCommit": sv.GitCommit,
		"GoVersion": sv.GoVersion, "Os": sv.Os, "Arch": sv.Arch, "BuildTime": ansiDate(sv.BuildTime),
		"Experimental": strconv.FormatBool(sv.Experimental),
	}})
}

func writeComponent(w io.Writer, c system.ComponentVersion) {
	fmt.Fprintf(w, "\n %s:", c.Name)
	if c.Name != "Engine" {
		fmt.Fprintf(w, "\n  Version:\t%s", c.Version)
		keys := make([]string, 0, len(c.Details))
		for k := range c.Details {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "\n  %s:\t%s", k, c.Details[k])
		}
		return
	}
	d := c.Details
	fmt.Fprintf(w, "\n  Version:\t%s\n  API version:\t%s (minimum version %s)\n  Go version:\t%s\n  Git commit:\t%s\n  Built:\t%s\n  OS/Arch:\t%s/%s\n  Experimental:\t%s",
		c.Version, d["ApiVersion"], d["MinAPIVersion"], d["GoVersion"], d["GitCommit"], d["BuildTime"], d["Os"], d["Arch"], d["Experimental"])
}

// ansiDate rewrites an RFC 3339 time as time.ANSIC; other text is kept.
func ansiDate(s string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.Format(time.ANSIC)
	}
	return s
}
