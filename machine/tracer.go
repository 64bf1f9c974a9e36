package machine

import "time"

// Tracer records a timeline of the run (chrometrace.Recorder is one):
// each vCPU's time in the guest and in vmm's exit handling, virtio
// notifications, and the boot phases. Nil in Config: no timeline.
type Tracer interface {
	Thread(tid int, name string)
	Span(tid int, cat, name string, from, to time.Time)
	Instant(tid int, cat, name string, at time.Time)
	Mark(cat, name string, at time.Time)
}

// doorbellThread is the timeline thread of virtio notifications that
// bypass vmm's exits (ioeventfd).
const doorbellThread = 1000

// traceExit records one KVM_RUN and the handling of its exit.
func (m *Machine) traceExit(id int, entered, exited, handled time.Time, key exitKey) {
	m.tr.Span(id, "guest", "KVM_RUN", entered, exited)
	m.tr.Span(id, "exit", key.String(), exited, handled)
}
