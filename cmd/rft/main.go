// Command rft is the reinforcement fine-tuning CLI. Commands only parse flags
// and wire packages together; the logic lives in the packages.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit statuses of the CLI contract (DESIGN.md).
const (
	exitOK       = 0
	exitJobFail  = 1
	exitBadInput = 2
)

// badInput marks an error caused by the user's flags, files or configs, as
// opposed to a job that failed while running: scripts tell them apart by the
// exit status.
type badInput struct{ err error }

func (e badInput) Error() string { return e.err.Error() }
func (e badInput) Unwrap() error { return e.err }

func inputErr(err error) error {
	if err == nil {
		return nil
	}
	return badInput{err}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "rft:", err)
	var bi badInput
	if errors.As(err, &bi) || isUsageError(err) {
		return exitBadInput
	}
	return exitJobFail
}
