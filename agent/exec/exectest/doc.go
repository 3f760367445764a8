// Package exectest holds test doubles for the agent/exec seam:
//
//   - Controller, a stub whose methods call Fn fields and count calls, for
//     table tests of exec.Do and of the agent's task managers;
//   - Executor, a stub executor with a ControllerFn;
//   - Scripted, an executor whose tasks behave as their spec's environment
//     says (SHOAL_SCRIPT_EXIT, SHOAL_SCRIPT_RUN_FOR, ...) without starting
//     any process, for agent tests and simulated fleets.
//
// None of them starts a goroutine: they run under testing/synctest, where a
// scripted task's run time passes on the bubble's clock.
package exectest
