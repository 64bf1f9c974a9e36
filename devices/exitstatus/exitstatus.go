// Package exitstatus owns the workload-status port: the guest init writes
// its workload's exit status (one byte) there before powering off, so the
// host can report it and vmm can exit with it.
package exitstatus

import "sync"

// Port is the I/O port vmm places the device at (next to the boot timer).
const Port = 0x441

// Status records the last byte the guest wrote.
type Status struct {
	mu   sync.Mutex
	code int
	set  bool
}

// Read returns 0.
func (s *Status) Read(offset uint64, data []byte) {
	clear(data)
}

// Write records data[0] as the workload's exit status.
func (s *Status) Write(offset uint64, data []byte) {
	if offset != 0 || len(data) == 0 {
		return
	}
	s.mu.Lock()
	s.code, s.set = int(data[0]), true
	s.mu.Unlock()
}

// Get returns the status and whether the guest reported one.
func (s *Status) Get() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code, s.set
}
