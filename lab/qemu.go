package lab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// QEMU describes one boot of the outer guest.
type QEMU struct {
	Binary  string // default qemu-system-x86_64
	Kernel  string
	Initrd  string
	Append  string
	Memory  string // e.g. "3G"
	SMP     int
	CPU     string // default "max": emulated AMD with SVM and NPT
	Timeout time.Duration
	// Idle stops QEMU when the console has been silent this long (0: never):
	// a hung outer guest then fails the run early instead of at Timeout.
	Idle time.Duration
}

// Boot runs QEMU under software emulation until the outer guest powers off
// or Timeout passes. Every console line is written to console prefixed with
// the host seconds since QEMU started, and returned (without prefix) for
// parsing. timedOut reports that QEMU was killed at the deadline or after
// Idle without output.
func (q QEMU) Boot(ctx context.Context, console io.Writer) (lines []string, timedOut bool, err error) {
	bin := q.Binary
	if bin == "" {
		bin = "qemu-system-x86_64"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return nil, false, fmt.Errorf("%s not found: install qemu-system-x86 (apt-get install qemu-system-x86): %w", bin, err)
	}
	cpu := q.CPU
	if cpu == "" {
		cpu = "max"
	}
	ctx, cancel := context.WithTimeoutCause(ctx, q.Timeout, fmt.Errorf("the lab ran past its %v limit", q.Timeout))
	defer cancel()
	ctx, cancelIdle := context.WithCancelCause(ctx)
	defer cancelIdle(nil)
	cmd := exec.CommandContext(ctx, bin,
		"-accel", "tcg", "-cpu", cpu, "-smp", fmt.Sprint(q.SMP), "-m", q.Memory,
		"-nographic", "-nodefaults", "-no-reboot", "-serial", "stdio",
		"-kernel", q.Kernel, "-initrd", q.Initrd, "-append", q.Append)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, false, err
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start %s: %w", bin, err)
	}
	var idle *time.Timer
	if q.Idle > 0 {
		idle = time.AfterFunc(q.Idle, func() {
			cancelIdle(fmt.Errorf("no console output for %v: the outer guest hung", q.Idle))
		})
		defer idle.Stop()
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if idle != nil {
			idle.Reset(q.Idle)
		}
		line := strings.ReplaceAll(sc.Text(), "\r", "")
		lines = append(lines, line)
		fmt.Fprintf(console, "[%8.2f] %s\n", time.Since(start).Seconds(), line)
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		fmt.Fprintf(console, "lab: stopped QEMU: %v\n", context.Cause(ctx))
		return lines, true, nil
	}
	if werr != nil {
		return lines, false, fmt.Errorf("%s: %w", bin, werr)
	}
	return lines, false, nil
}
