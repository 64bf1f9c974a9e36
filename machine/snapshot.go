package machine

import "errors"

// Snapshot writes the paused machine's state and memory into dir.
func (m *Machine) Snapshot(dir string) error {
	return errors.New("snapshots are not implemented yet")
}
