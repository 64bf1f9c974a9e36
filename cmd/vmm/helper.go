package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/vmmlab/vmm/internal/cli"
)

// helper is a vmm command carried out by another program installed
// beside vmm (or on PATH): vmm-bench for `vmm bench`, vmm-tools for the
// commands that do not run a VM. The vmm binary, which every VM process
// maps, then holds only what a VM needs.
func helper(program string, prefix ...string) func(args []string, stdout, stderr io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		return runHelper(program, append(append([]string(nil), prefix...), args...), stdout, stderr)
	}
}

func runHelper(program string, args []string, stdout, stderr io.Writer) int {
	path, err := helperPath(program)
	if err != nil {
		fmt.Fprintln(stderr, "vmm:", err)
		return 2
	}
	if stdout == os.Stdout && stderr == os.Stderr {
		err = syscall.Exec(path, append([]string{path}, args...), os.Environ()) // only returns on failure
	} else {
		cmd := exec.Command(path, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
		err = cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "vmm: %s: %v\n", program, err)
		return 1
	}
	return 0
}

func helperPath(program string) (string, error) {
	if p := cli.BesideExecutable(program); p != program {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(program); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s is not installed beside vmm or on PATH (make build puts it in bin/)", program)
}
