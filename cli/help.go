package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// usageTemplate lays help out like the docker CLI: usage line, description,
// aliases, options (global ones on the root only), subcommands.
const usageTemplate = `Usage:  {{if .HasSubCommands}}{{groupUseLine .}}{{else}}{{.UseLine}}{{end}}
{{if .Short}}
{{.Short}}
{{end}}
{{- if gt (len .Aliases) 0}}
Aliases:
  {{aliasList .}}
{{end}}
{{- if .HasAvailableLocalFlags}}
Options:
{{.LocalFlags.FlagUsagesWrapped 80 | trimTrailingWhitespaces}}
{{end}}
{{- if .HasAvailableSubCommands}}
Commands:
{{- range .Commands}}{{if .IsAvailableCommand}}
  {{rpad .Name .NamePadding}} {{.Short}}
{{- end}}{{end}}

Run '{{.CommandPath}} COMMAND --help' for more information on a command.
{{end}}`

// cobra's template functions are global; they are registered once, before
// any command can render help.
func init() {
	cobra.AddTemplateFunc("groupUseLine", groupUseLine)
	cobra.AddTemplateFunc("aliasList", aliasList)
}

func setHelpTemplates(root *cobra.Command) {
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate(`{{.UsageString}}`)
}

// groupUseLine is the usage line of a command with subcommands.
func groupUseLine(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Use
	}
	return cmd.CommandPath() + " COMMAND"
}

// aliasList names the command and its aliases, with the full path.
func aliasList(cmd *cobra.Command) string {
	parent := ""
	if cmd.HasParent() {
		parent = cmd.Parent().CommandPath() + " "
	}
	names := []string{parent + cmd.Name()}
	for _, a := range cmd.Aliases {
		names = append(names, parent+a)
	}
	return strings.Join(names, ", ")
}
