package virtio

import "sync"

// Work is one goroutine of a device: it serves its queue each time kick
// fires, returns nil once stop is closed, and returns an error (a
// malformed ring) to stop the device.
type Work func(kick, stop <-chan struct{}) error

// Workers runs the goroutines of a device's current activation: Start
// begins an activation (after ending the previous one), Kick wakes one
// goroutine, Stop ends the activation and waits for exactly its
// goroutines. The first error a goroutine returns is the device's
// failure: Failed reports it and a configuration interrupt tells the
// transport, which sets DEVICE_NEEDS_RESET. The zero value is ready.
type Workers struct {
	mu     sync.Mutex
	kicks  []chan struct{}
	stop   chan struct{}
	done   *sync.WaitGroup // this activation's goroutines only
	failed error
}

// Start ends any previous activation, then runs each work on its own
// goroutine, kicked once so that it serves what the driver queued before
// DRIVER_OK. Kick(i) wakes works[i].
func (w *Workers) Start(irq Interrupts, works ...Work) {
	w.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failed = nil
	w.stop, w.done = make(chan struct{}), new(sync.WaitGroup)
	w.kicks = make([]chan struct{}, len(works))
	for i, work := range works {
		kick := make(chan struct{}, 1)
		kick <- struct{}{}
		w.kicks[i] = kick
		w.done.Add(1)
		go w.run(work, irq, kick, w.stop, w.done)
	}
}

func (w *Workers) run(work Work, irq Interrupts, kick, stop chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	if err := work(kick, stop); err != nil {
		w.mu.Lock()
		first := w.failed == nil
		if first {
			w.failed = err
		}
		w.mu.Unlock()
		if first {
			irq.Config() // best effort: the device is stopped either way
		}
	}
}

// Kick wakes goroutine i of the current activation; it never blocks (a
// wake-up already pending covers this one) and ignores an i it does not
// have.
func (w *Workers) Kick(i int) {
	w.mu.Lock()
	var kick chan struct{}
	if i >= 0 && i < len(w.kicks) {
		kick = w.kicks[i]
	}
	w.mu.Unlock()
	if kick != nil {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
}

// Stop ends the current activation, if any, and waits for its goroutines.
func (w *Workers) Stop() {
	w.mu.Lock()
	stop, done := w.stop, w.done
	w.stop, w.done, w.kicks = nil, nil, nil
	w.mu.Unlock()
	if stop != nil {
		close(stop)
		done.Wait()
	}
}

// Failed is the error that stopped the device since the last Start.
func (w *Workers) Failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// Stopping reports whether no activation is current: none was started,
// or Stop has taken it (its goroutines may still be ending). Tests use it
// to act while a Stop is under way.
func (w *Workers) Stopping() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stop == nil
}

// Notify and Reset, with Failed, are the part of virtio.Device a device
// gets by embedding Workers: a notification kicks queue i's goroutine, a
// reset stops the activation.
func (w *Workers) Notify(i int) { w.Kick(i) }

// Reset stops the current activation (see Notify).
func (w *Workers) Reset() { w.Stop() }
