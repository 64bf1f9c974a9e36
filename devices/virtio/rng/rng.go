// Package rng owns the virtio-rng (entropy) device model: the guest posts
// writable buffers on its one queue and the device fills them from the
// host's getrandom(2), on a goroutine of the device, at no more than a
// set rate per VM. A guest kernel seeds its random number generator from
// it early, so nothing in the guest blocks waiting for entropy at boot.
package rng

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

const (
	queueSize = 64
	// chunk bounds the bytes read from the source per step: the device
	// holds no more than this, however large the guest's buffers are.
	chunk = 4096
	// maxRequest bounds the bytes given for one chain: a larger buffer
	// is filled this far and returned.
	maxRequest = 64 << 10
)

// Source fills p with random bytes, as getrandom(2) does.
type Source func(p []byte) (int, error)

// Device is one virtio-rng device.
type Device struct {
	source Source
	limit  *bucket // nil: no limit

	virtio.Workers              // Notify, Reset, Failed: the device goroutines of the current activation
	mem            queue.Memory // of the current activation; set while no worker runs
	q              *queue.Queue
	irq            virtio.Interrupts
	buf            [chunk]byte
	served         atomic.Uint64 // bytes given to the guest
}

// New makes a device that takes its bytes from source, at most rate bytes
// per second (0: no limit), in bursts of up to one second's worth.
func New(source Source, rate uint64) *Device {
	d := &Device{source: source}
	if rate > 0 {
		d.limit = newBucket(rate, time.Now)
	}
	return d
}

// ID is virtio.IDEntropy.
func (d *Device) ID() uint32 { return virtio.IDEntropy }

// Features offers indirect descriptors and event idx; the device has no
// features of its own.
func (d *Device) Features() uint64 {
	return virtio.FeatureVersion1 | virtio.FeatureIndirect | virtio.FeatureEventIdx
}

// QueueSizes: one request queue.
func (d *Device) QueueSizes() []uint16 { return []uint16{queueSize} }

// ReadConfig reads zeros: the device has no configuration.
func (d *Device) ReadConfig(offset uint64, data []byte) { virtio.CopyConfig(nil, offset, data) }

// WriteConfig ignores writes.
func (d *Device) WriteConfig(offset uint64, data []byte) {}

// Activate starts serving the request queue.
func (d *Device) Activate(mem queue.Memory, features uint64, queues []*queue.Queue, irq virtio.Interrupts) error {
	if err := virtio.TakeQueues("virtio-rng", 1, features, queues); err != nil {
		return err
	}
	d.Workers.Stop()
	d.mem, d.q, d.irq = mem, queues[0], irq
	d.Workers.Start(irq, d.serve)
	return nil
}

// Close stops the device.
func (d *Device) Close() error {
	d.Reset()
	return nil
}

// errStopped ends a fill that the device's stop interrupted.
var errStopped = errors.New("stopped")

// serve is the device goroutine: at each kick it fills every available
// buffer, then interrupts the driver if it asked.
func (d *Device) serve(kick, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-kick:
		}
		for {
			if virtio.Stopping(stop) { // a guest that refills as fast as this serves must not hold up the stop
				return nil
			}
			c, ok, err := d.q.Next(d.mem)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			n, err := d.fill(c, stop)
			if errors.Is(err, errStopped) {
				return nil // the chain goes back with the reset
			}
			if err != nil {
				return err
			}
			if err := d.q.PushUsed(d.mem, c.Head, n); err != nil {
				return err
			}
			// Per chain, not per round (virtio.Drain): the next chain
			// may wait for the rate limit, and this one is ready now.
			if err := virtio.Interrupt(d.mem, d.q, d.irq, 0); err != nil {
				return err
			}
		}
	}
}

// fill writes random bytes into the chain's writable buffers, up to
// maxRequest, waiting for the rate limit as needed (but giving back what
// it has once it would wait with bytes already written: the driver asked
// for "up to" its buffer). A chain with device-readable buffers is a
// malformed request.
func (d *Device) fill(c queue.Chain, stop <-chan struct{}) (uint32, error) {
	if len(c.Readable) > 0 {
		return 0, fmt.Errorf("%w: virtio-rng request with %d device-readable buffers", queue.ErrMalformed, len(c.Readable))
	}
	want := min(queue.Len(c.Writable), maxRequest)
	var done uint64
	for done < want {
		n := min(want-done, chunk)
		if d.limit != nil {
			granted, wait := d.limit.take(n)
			if granted == 0 {
				if done > 0 {
					break
				}
				select {
				case <-stop:
					return 0, errStopped
				case <-time.After(wait):
				}
				continue
			}
			n = granted
		}
		got, err := d.source(d.buf[:n])
		if err != nil {
			return 0, fmt.Errorf("virtio-rng: host entropy: %w", err)
		}
		if err := c.WriteAt(d.mem, d.buf[:got], done); err != nil {
			return 0, err
		}
		done += uint64(got)
	}
	d.served.Add(done)
	return uint32(done), nil
}

// Counters says how many bytes the guest got, as vmm reports it.
func (d *Device) Counters() map[string]uint64 {
	return map[string]uint64{"bytes": d.served.Load()}
}
