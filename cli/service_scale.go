package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

func newServiceScaleCommand(s *session) *cobra.Command {
	var detach bool
	cmd := &cobra.Command{
		Use:   "scale SERVICE=REPLICAS [SERVICE=REPLICAS...]",
		Short: "Scale one or multiple replicated services",
		Args:  scaleArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(cmd, func(c *call) error { return runServiceScale(c, args, detach) })
		},
	}
	cmd.Flags().BoolVarP(&detach, flagDetach, "d", false, "Exit immediately instead of waiting for the service to converge")
	return cmd
}

// scaleArgs wants at least one SERVICE=REPLICAS, each with both sides.
func scaleArgs(cmd *cobra.Command, args []string) error {
	if err := requiresMinArgs(1)(cmd, args); err != nil {
		return err
	}
	for _, arg := range args {
		if k, v, ok := strings.Cut(arg, "="); !ok || k == "" || v == "" {
			return fmt.Errorf("invalid scale specifier '%s'.\nSee '%s --help'.\n\nUsage:  %s\n\n%s",
				arg, cmd.CommandPath(), cmd.UseLine(), cmd.Short)
		}
	}
	return nil
}

// runServiceScale sets the replica count of every service it can, printing
// "<ref> scaled to <n>" for each, then watches the scaled ones converge in
// turn (unless detach). Failures are reported at the end, each prefixed
// with its service.
func runServiceScale(c *call, args []string, detach bool) error {
	var errs []error
	var scaled []string
	for _, arg := range args {
		ref, count, _ := strings.Cut(arg, "=")
		replicas, err := strconv.ParseUint(count, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid replicas value %s: %w", ref, count, err))
			continue
		}
		if err := scaleService(c, ref, replicas); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ref, err))
			continue
		}
		fmt.Fprintf(c.out, "%s scaled to %d\n", ref, replicas)
		scaled = append(scaled, ref)
	}
	if !detach {
		for _, ref := range scaled {
			if err := waitOnService(c, ref, false); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ref, err))
			}
		}
	}
	return errors.Join(errs...)
}

// scaleService writes the service's spec back with only the replica count
// changed (no registryAuthFrom, as docker).
func scaleService(c *call, ref string, replicas uint64) error {
	svc, _, err := c.api.ServiceInspect(c.ctx, ref, false)
	if err != nil {
		return err
	}
	if svc.Spec.Mode.Replicated == nil {
		return errors.New("scale can only be used with replicated or replicated-job mode")
	}
	svc.Spec.Mode.Replicated.Replicas = &replicas
	warnings, err := sendServiceUpdate(c, svc, client.ServiceUpdateOptions{})
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(c.err, w)
	}
	return nil
}
