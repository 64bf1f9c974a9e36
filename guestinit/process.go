package guestinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ProcessFile is where the host puts the process of an OCI image (a
// runtime-spec Process, as JSON) in a cpio segment appended to the
// initramfs; its presence makes the init run it as vmm run asks.
const ProcessFile = "/vmm/process.json"

// maxProcessFile bounds what the init reads of ProcessFile.
const maxProcessFile = 1 << 20

// The vsock ports (on the host, CID 2) that carry an image process's
// streams; the host listens on them before the VM starts. Control
// carries signals to the process, one byte each (the signal number).
const (
	PortControl uint32 = 1024
	PortStdin   uint32 = 1025
	PortStdout  uint32 = 1026
	PortStderr  uint32 = 1027
)

// Exit statuses the init reports for an image process that did not run,
// as docker run does.
const (
	StatusOwnFailure    = 125 // the init failed before the process ran
	StatusNotExecutable = 126
	StatusNotFound      = 127
)

// errProcess marks a process file the init could not read or use.
var errProcess = errors.New("the image process")

// Process is the part of a runtime-spec Process (its JSON) the init
// uses. The host writes the whole of it (specs-go's type); the init
// reads this much, so that vmm, which links this package, does not link
// the runtime spec.
type Process struct {
	Terminal bool     `json:"terminal,omitempty"`
	User     User     `json:"user"`
	Args     []string `json:"args,omitempty"`
	Env      []string `json:"env,omitempty"`
	Cwd      string   `json:"cwd"`
}

// User is a runtime-spec User: who the process runs as.
type User struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGids []uint32 `json:"additionalGids,omitempty"`
}

// readProcess reads the image process from path; nil when there is none.
func readProcess(path string) (*Process, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errProcess, err)
	}
	defer f.Close()
	p, err := ParseProcess(io.LimitReader(f, maxProcessFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errProcess, err)
	}
	return p, nil
}

// ParseProcess decodes and checks a process: it has a program, an
// absolute working directory, and environment entries of KEY=VALUE.
func ParseProcess(r io.Reader) (*Process, error) {
	var p Process
	dec := json.NewDecoder(r)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", ProcessFile, err)
	}
	switch {
	case len(p.Args) == 0 || p.Args[0] == "":
		return nil, fmt.Errorf("%s: no program (args is empty)", ProcessFile)
	case len(p.Cwd) == 0 || p.Cwd[0] != '/':
		return nil, fmt.Errorf("%s: cwd %q is not absolute", ProcessFile, p.Cwd)
	}
	for _, e := range p.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, fmt.Errorf("%s: env entry %q is not KEY=VALUE", ProcessFile, e)
		}
	}
	return &p, nil
}
