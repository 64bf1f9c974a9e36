package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// runBench hands `vmm bench ARGS` to vmm-bench, installed beside vmm (or
// on PATH): the benchmark's report and chart code lives there so that the
// vmm binary every VM runs stays small.
func runBench(args []string, stdout, stderr io.Writer) int {
	path, err := benchBinary()
	if err != nil {
		fmt.Fprintln(stderr, "vmm bench:", err)
		return 2
	}
	argv := append([]string{path}, args...)
	if stdout == os.Stdout && stderr == os.Stderr {
		err = syscall.Exec(path, argv, os.Environ()) // only returns on failure
	} else {
		cmd := exec.Command(path, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
		err = cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "vmm bench:", err)
		return 1
	}
	return 0
}

func benchBinary() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "vmm-bench")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("vmm-bench"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("vmm-bench is not installed beside vmm or on PATH (make build puts it in bin/)")
}
