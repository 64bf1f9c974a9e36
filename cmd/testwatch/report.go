package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmmlab/vmm/lab/labproto"
)

// stamped passes writes through and remembers when the last one came
// and which test the last "=== RUN" line named.
type stamped struct {
	mu      sync.Mutex
	w       io.Writer
	last    time.Time
	partial []byte
	test    string
}

func newStamped(w io.Writer) *stamped { return &stamped{w: w, last: time.Now()} }

func (s *stamped) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = time.Now()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		for _, p := range []string{"=== RUN", "=== CONT", "=== NAME"} {
			if rest, ok := strings.CutPrefix(line, p); ok {
				s.test = strings.TrimSpace(rest)
			}
		}
	}
	if len(s.partial) > 4096 { // a line this long names no test
		s.partial = s.partial[:0]
	}
	return s.w.Write(p)
}

// printf writes testwatch's own lines, which do not count as output.
func (s *stamped) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, args...)
}

func (s *stamped) silent() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Since(s.last)
}

func (s *stamped) lastTest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.test == "" {
		return "-"
	}
	return s.test
}

// maxStackThreads bounds the kernel stacks a report prints.
const maxStackThreads = 40

// report prints every user process with each thread's state and where it
// sleeps in the kernel, and the kernel stack of each thread in
// uninterruptible sleep (D), which no signal ends. Then it asks the
// kernel for its own report of blocked tasks and CPUs (sysrq w and l;
// the outer init copies those from the kernel log to the console).
func (w watch) report(out *stamped) {
	pids := numbered(w.procs)
	stacks := 0
	for _, pid := range pids {
		dir := filepath.Join(w.procs, strconv.Itoa(pid))
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a kernel thread
		}
		args := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		out.printf("%s pid %d: %s\n", labproto.Stall, pid, clip(args, 160))
		for _, tid := range numbered(filepath.Join(dir, "task")) {
			tdir := filepath.Join(dir, "task", strconv.Itoa(tid))
			state := threadState(tdir)
			wchan, _ := os.ReadFile(filepath.Join(tdir, "wchan"))
			out.printf("%s   tid %d %s wchan=%s\n", labproto.Stall, tid, state, orDash(string(wchan)))
			if state == "D" && stacks < maxStackThreads {
				stacks++
				if st, err := os.ReadFile(filepath.Join(tdir, "stack")); err == nil {
					for _, l := range strings.Split(strings.TrimSpace(string(st)), "\n") {
						out.printf("%s     %s\n", labproto.Stall, l)
					}
				}
			}
		}
	}
	if w.sysrq == "" {
		return
	}
	for _, key := range []string{"w", "l"} {
		if err := os.WriteFile(w.sysrq, []byte(key), 0); err != nil {
			out.printf("%s sysrq %s: %v\n", labproto.Stall, key, err)
		}
	}
	time.Sleep(2 * time.Second) // the kernel's reports reach the console
}

// threadState is the one-letter state in a task's stat file ("?" when it
// cannot be read).
func threadState(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return "?"
	}
	// pid (comm) S ...: comm may hold spaces and parentheses
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return "?"
	}
	return string(b[i+2])
}

// numbered returns the numeric names in dir, sorted.
func numbered(dir string) []int {
	ents, _ := os.ReadDir(dir)
	var ns []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			ns = append(ns, n)
		}
	}
	sort.Ints(ns)
	return ns
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func orDash(s string) string {
	if s = strings.TrimSpace(s); s == "" || s == "0" {
		return "-"
	}
	return s
}
