package main

import (
	"errors"
	"fmt"

	"github.com/vmmlab/vmm/api"
	"github.com/vmmlab/vmm/internal/unixsock"
	"github.com/vmmlab/vmm/machine"
	"github.com/vmmlab/vmm/snapshot"
)

// controlled is the running machine as the control API sees it.
type controlled struct {
	m    *machine.Machine
	stop func()
}

func (c controlled) Status() api.Status {
	i := c.m.Info()
	state := "running"
	if i.Paused {
		state = "paused"
	}
	return api.Status{State: state, VCPUs: i.CPUs, MemoryBytes: i.MemSize, UptimeMS: ms(i.Uptime),
		Booted: i.Booted, BootMS: ms(i.BootTime), Restored: i.Restored, Exits: i.Exits}
}

func (c controlled) Pause() error  { return conflict(c.m.Pause()) }
func (c controlled) Resume() error { return conflict(c.m.Resume()) }
func (c controlled) Stop()         { c.stop() }

func (c controlled) Snapshot(dir string) (api.SnapshotInfo, error) {
	t, err := c.m.Snapshot(dir, false)
	return api.SnapshotInfo{PauseMS: ms(t.Pause), StateMS: ms(t.State), MemoryMS: ms(t.Memory), TotalMS: ms(t.Total), MemoryBytes: t.MemoryBytes}, conflict(err)
}

func (c controlled) RecordWorkingSet() (api.WorkingSetInfo, error) {
	n, err := c.m.RecordWorkingSet()
	if errors.Is(err, machine.ErrNotRecording) || errors.Is(err, snapshot.ErrWorkingSetExists) {
		return api.WorkingSetInfo{}, api.Conflict{Err: err}
	}
	return api.WorkingSetInfo{Pages: n}, conflict(err)
}

// conflict marks the machine's state errors as the API's conflicts (409).
func conflict(err error) error {
	for _, state := range []error{machine.ErrPaused, machine.ErrNotPaused, machine.ErrNotRunning, machine.ErrBusy} {
		if errors.Is(err, state) {
			return api.Conflict{Err: err}
		}
	}
	return err
}

// serveAPI starts the control API on path for m; stop ends the run. The
// socket is made now, before the seccomp filter forbids it; its
// descriptor is the one the filter lets vmm accept on.
func serveAPI(path string, m *machine.Machine, stop func()) (*api.Server, int, error) {
	ln, err := api.Listen(path)
	if err != nil {
		return nil, 0, fmt.Errorf("--api-sock: %w", err)
	}
	fd, err := unixsock.FD(ln)
	if err != nil {
		ln.Close()
		return nil, 0, fmt.Errorf("--api-sock: %w", err)
	}
	return api.Serve(ln, controlled{m: m, stop: stop}), fd, nil
}
