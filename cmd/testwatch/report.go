package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stamped passes writes through and remembers when the last one came
// and which test the last "=== RUN" line named.
type stamped struct {
	mu      sync.Mutex
	w       io.Writer
	last    time.Time
	partial []byte
	test    string
	// collect is set once the binary is asked for its goroutines; the
	// lines of the dump that point into its tests go to testFrames.
	collect    bool
	testFrames []string
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
		s.noteFrame(line)
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

// lastTest is the test the last "=== RUN" line named ("" before one).
func (s *stamped) lastTest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.test
}

// collectFrames makes the lines written from now on that point into a
// test file (a goroutine dump's frames) count for frames.
func (s *stamped) collectFrames() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collect = true
}

// frames returns the test-file frames collected, each once.
func (s *stamped) frames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.testFrames)
}

// reTestFrame matches a goroutine dump's line that points into a test
// file (the frame a hung test waits in).
var reTestFrame = regexp.MustCompile(`\S+_test\.go:\d+`)

// maxFrames bounds the frames a stall event carries.
const maxFrames = 20

// noteFrame keeps line's test-file frame while collecting.
func (s *stamped) noteFrame(line string) {
	if !s.collect || len(s.testFrames) >= maxFrames {
		return
	}
	if m := reTestFrame.FindString(line); m != "" {
		if f := "in the test binary's goroutines: " + m; !slices.Contains(s.testFrames, f) {
			s.testFrames = append(s.testFrames, f)
		}
	}
}

// maxStackThreads bounds the kernel stacks a report prints.
const maxStackThreads = 40

// report prints every user process with each thread's state and where it
// sleeps in the kernel, and the kernel stack of each thread in
// uninterruptible sleep (D), which no signal ends. Then it asks the
// kernel for its own report of blocked tasks and CPUs (sysrq w and l;
// the outer init copies those from the kernel log to the console). It
// returns the gist: each process with a thread in D, and those threads.
func (w watch) report(out *stamped) []string {
	var gist []string
	stacks := 0
	for _, pid := range numbered(w.procs) {
		dir := filepath.Join(w.procs, strconv.Itoa(pid))
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a kernel thread
		}
		proc := fmt.Sprintf("pid %d: %s", pid, clip(strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")), 160))
		out.printf("testwatch: %s\n", proc)
		for _, tid := range numbered(filepath.Join(dir, "task")) {
			tdir := filepath.Join(dir, "task", strconv.Itoa(tid))
			state := threadState(tdir)
			wchan, _ := os.ReadFile(filepath.Join(tdir, "wchan"))
			thread := fmt.Sprintf("tid %d %s wchan=%s", tid, state, orDash(string(wchan)))
			out.printf("testwatch:   %s\n", thread)
			if state != "D" {
				continue
			}
			if !slices.Contains(gist, proc) {
				gist = append(gist, proc)
			}
			gist = append(gist, "  "+thread)
			if stacks < maxStackThreads {
				stacks++
				if st, err := os.ReadFile(filepath.Join(tdir, "stack")); err == nil {
					for _, l := range strings.Split(strings.TrimSpace(string(st)), "\n") {
						out.printf("testwatch:     %s\n", l)
					}
				}
			}
		}
	}
	if w.sysrq != "" {
		for _, key := range []string{"w", "l"} {
			if err := os.WriteFile(w.sysrq, []byte(key), 0); err != nil {
				out.printf("testwatch: sysrq %s: %v\n", key, err)
			}
		}
		time.Sleep(2 * time.Second) // the kernel's reports reach the console
	}
	return gist
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
