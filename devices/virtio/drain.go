package virtio

import "github.com/vmmlab/vmm/devices/virtio/queue"

// Interrupt tells the driver about the used buffers just pushed on
// queue i, if it asked to hear (the used ring's event index or the
// available ring's NO_INTERRUPT flag).
func Interrupt(mem queue.Memory, q *queue.Queue, irq Interrupts, i int) error {
	need, err := q.NeedsInterrupt(mem)
	if err != nil || !need {
		return err
	}
	return irq.Queue(i)
}

// Drain serves every chain the driver has made available on queue i:
// handle deals with one and says how many bytes it wrote into it; each
// chain goes back used, in order, and once the queue is empty the driver
// is interrupted if it asked (one interrupt per round, not per chain). A
// closed stop (nil: never) ends the round between chains. An error, a
// malformed ring or handle's, ends it too, for the device's goroutine
// to return.
func Drain(mem queue.Memory, q *queue.Queue, irq Interrupts, i int, stop <-chan struct{}, handle func(queue.Chain) (uint32, error)) error {
	served := false
	for {
		if Stopping(stop) {
			return nil
		}
		c, ok, err := q.Next(mem)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		n, err := handle(c)
		if err != nil {
			return err
		}
		if err := q.PushUsed(mem, c.Head, n); err != nil {
			return err
		}
		served = true
	}
	if !served {
		return nil
	}
	return Interrupt(mem, q, irq, i)
}

// Stopping reports whether stop is closed, without waiting: a device
// goroutine asks between two chains, so that a guest that keeps its
// queue full cannot keep the device from stopping.
func Stopping(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
