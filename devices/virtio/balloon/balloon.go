// Package balloon owns the virtio-balloon device model: the host sets a
// target of pages the guest should give up; the guest's driver inflates
// the balloon (hands those pages' frame numbers over, and the device
// gives the host the memory back), deflates it, sends memory statistics,
// and, with free page reporting, hands over ranges of memory it has
// freed so that the host reclaims them too. Guest memory never touched
// again costs the host nothing; without reporting, memory a guest once
// touched stays with it until the VM ends.
package balloon

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// Feature bits of virtio-balloon.
const (
	FeatureStatsVQ    = uint64(1) << 1 // a statistics queue
	FeatureDeflateOOM = uint64(1) << 2 // the guest deflates rather than OOM-kill
	FeatureReporting  = uint64(1) << 5 // a free page reporting queue
)

// Queue indexes: with both features offered and taken, as Linux numbers
// the queues it sets up.
const (
	inflateQ = iota
	deflateQ
	statsQ
	reportQ

	queueSize = 128
	// PageSize is the unit of the balloon's frame numbers and target.
	PageSize = 4096
	// maxPFNs bounds the frame numbers read from one inflate buffer.
	maxPFNs = 256
)

// Discarder gives the host back guest memory (memory.Guest does this).
type Discarder interface {
	Discard(addr, n uint64) error
}

// Stats are what the guest last reported, by tag (VIRTIO_BALLOON_S_*):
// 0 swap in, 1 swap out, 2 major faults, 3 minor faults, 4 free memory,
// 5 total memory, 6 available memory, 7 disk caches, ...
type Stats map[uint16]uint64

// Counts say what the device did.
type Counts struct {
	InflatedPages, DeflatedPages uint64 // frame numbers received
	ReportedBytes                uint64 // free memory the guest reported
	DiscardedBytes               uint64 // memory given back to the host
}

// Device is one virtio-balloon device.
type Device struct {
	ram            Discarder
	wantStats      atomic.Bool
	virtio.Workers              // Notify, Reset, Failed: the device goroutines of the current activation
	mem            queue.Memory // of the current activation; set while no worker runs
	queues         []*queue.Queue
	irq            virtio.Interrupts

	statsEvery time.Duration // how often the guest is asked for statistics; 0: never on its own

	mu     sync.Mutex
	target uint32 // num_pages: pages the host asks for
	actual uint32 // what the driver says the balloon holds
	stats  Stats
	counts Counts
}

// New makes a balloon over guest RAM ram that asks for targetPages pages
// from the start, and for the guest's memory statistics every statsEvery
// (0: only when RequestStats asks).
func New(ram Discarder, targetPages uint32, statsEvery time.Duration) *Device {
	return &Device{ram: ram, target: targetPages, statsEvery: statsEvery}
}

// ID is virtio.IDBalloon.
func (d *Device) ID() uint32 { return virtio.IDBalloon }

// Features offers the statistics queue, deflate on OOM and free page
// reporting.
func (d *Device) Features() uint64 {
	return virtio.FeatureVersion1 | FeatureStatsVQ | FeatureDeflateOOM | FeatureReporting
}

// QueueSizes: inflate, deflate, statistics and reporting. A driver that
// does not take both features does not set up all four, and the device
// then stays inactive.
func (d *Device) QueueSizes() []uint16 { return []uint16{queueSize, queueSize, queueSize, queueSize} }

// ReadConfig serves struct virtio_balloon_config: num_pages, actual,
// free_page_hint_cmd_id (0) and poison_val (0).
func (d *Device) ReadConfig(offset uint64, data []byte) {
	var cfg [16]byte
	d.mu.Lock()
	binary.LittleEndian.PutUint32(cfg[0:], d.target)
	binary.LittleEndian.PutUint32(cfg[4:], d.actual)
	d.mu.Unlock()
	virtio.CopyConfig(cfg[:], offset, data)
}

// WriteConfig takes the driver's actual (bytes 4-7); the rest is the
// device's.
func (d *Device) WriteConfig(offset uint64, data []byte) {
	if offset < 4 || offset >= 8 || offset+uint64(len(data)) > 8 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], d.actual)
	copy(b[offset-4:], data)
	d.actual = binary.LittleEndian.Uint32(b[:])
}

// SetTarget asks the guest to hold pages pages in the balloon; the
// transport must then raise a configuration interrupt (the caller's
// Interrupts.Config) for the driver to notice.
func (d *Device) SetTarget(pages uint32) {
	d.mu.Lock()
	d.target = pages
	d.mu.Unlock()
}

// Actual is how many pages the driver says the balloon holds.
func (d *Device) Actual() uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.actual
}

// Stats returns the guest's last memory statistics.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := Stats{}
	for k, v := range d.stats {
		out[k] = v
	}
	return out
}

// Counts returns what the device did so far.
func (d *Device) Counts() Counts {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts
}

// Counters is Counts by name, as vmm reports them.
func (d *Device) Counters() map[string]uint64 {
	c := d.Counts()
	out := map[string]uint64{"inflated_pages": c.InflatedPages, "deflated_pages": c.DeflatedPages,
		"reported_bytes": c.ReportedBytes, "discarded_bytes": c.DiscardedBytes, "pages_held": uint64(d.Actual())}
	stats := d.Stats() // the guest's last statistics, by tag
	for _, s := range []struct {
		tag  uint16
		name string
	}{{4, "guest_free_bytes"}, {5, "guest_total_bytes"}, {6, "guest_available_bytes"}, {7, "guest_cache_bytes"}} {
		if v, ok := stats[s.tag]; ok {
			out[s.name] = v
		}
	}
	return out
}

// Activate starts one goroutine per queue.
func (d *Device) Activate(mem queue.Memory, features uint64, queues []*queue.Queue, irq virtio.Interrupts) error {
	if features&(FeatureStatsVQ|FeatureReporting) != FeatureStatsVQ|FeatureReporting {
		return fmt.Errorf("virtio-balloon: features %#x, want statistics and reporting", features)
	}
	if err := virtio.TakeQueues("virtio-balloon", 4, features, queues); err != nil {
		return err
	}
	d.Workers.Stop()
	d.mem, d.queues, d.irq = mem, queues, irq
	d.Workers.Start(irq,
		d.serve(inflateQ, d.handled(inflateQ, d.inflate), nothing),
		d.serve(deflateQ, d.handled(deflateQ, d.deflate), nothing),
		d.statsWork(),
		d.serve(reportQ, d.handled(reportQ, d.report), nothing),
		d.pollStats)
	return nil
}

// pollStats asks the guest for its statistics every d.statsEvery.
func (d *Device) pollStats(_, stop <-chan struct{}) error {
	if d.statsEvery <= 0 {
		<-stop
		return nil
	}
	t := time.NewTicker(d.statsEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-t.C:
			d.RequestStats()
		}
	}
}

// Close stops the device.
func (d *Device) Close() error {
	d.Reset()
	return nil
}

// serve is a queue's goroutine: at each kick, every available chain
// goes to handle; after each round, after may act (and fail).
func (d *Device) serve(qi int, handle func(queue.Chain) error, after func() error) virtio.Work {
	return func(kick, stop <-chan struct{}) error {
		q := d.queues[qi]
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
				c, ok, err := q.Next(d.mem)
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				if err := handle(c); err != nil {
					return err
				}
			}
			if err := after(); err != nil {
				return err
			}
		}
	}
}

// handled makes a chain handler that gives each chain back once fn has
// dealt with it.
func (d *Device) handled(qi int, fn func(queue.Chain) error) func(queue.Chain) error {
	return func(c queue.Chain) error {
		if err := fn(c); err != nil {
			return err
		}
		return d.giveBack(qi, c.Head)
	}
}

func nothing() error { return nil }

// giveBack returns chain head of queue qi to the guest, with an
// interrupt if it asked for one.
func (d *Device) giveBack(qi int, head uint16) error {
	q := d.queues[qi]
	if err := q.PushUsed(d.mem, head, 0); err != nil {
		return err
	}
	return virtio.Interrupt(d.mem, q, d.irq, qi)
}

// statsWork serves the statistics queue. The driver keeps one buffer
// there; the device records its numbers and holds it, because giving it
// back is how a device asks for new numbers (returned at once, the driver
// would refill it at once, forever). RequestStats gives it back.
func (d *Device) statsWork() virtio.Work {
	var head uint16
	held := false
	keep := func(c queue.Chain) error {
		if err := d.stat(c); err != nil {
			return err
		}
		head, held = c.Head, true
		return nil
	}
	answer := func() error {
		if !held || !d.wantStats.Swap(false) {
			return nil
		}
		held = false
		return d.giveBack(statsQ, head)
	}
	return d.serve(statsQ, keep, answer)
}

// RequestStats asks the guest for new statistics (Stats has them once it
// answered).
func (d *Device) RequestStats() {
	d.wantStats.Store(true)
	d.Workers.Kick(statsQ)
}

// pfns reads the 32-bit page frame numbers a chain holds (at most
// maxPFNs: a larger buffer is malformed).
func (d *Device) pfns(c queue.Chain) ([]uint32, error) {
	n := queue.Len(c.Readable)
	if n%4 != 0 || n > 4*maxPFNs || len(c.Writable) > 0 {
		return nil, fmt.Errorf("%w: virtio-balloon page list of %d bytes (%d device-writable buffers)", queue.ErrMalformed, n, len(c.Writable))
	}
	b := make([]byte, n)
	if err := c.ReadAt(d.mem, b, 0); err != nil {
		return nil, err
	}
	out := make([]uint32, n/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out, nil
}

// inflate gives the host back each page the guest put into the balloon.
// A frame number outside guest RAM is skipped: the guest only hurts
// itself.
func (d *Device) inflate(c queue.Chain) error {
	pfns, err := d.pfns(c)
	if err != nil {
		return err
	}
	var discarded uint64
	for _, pfn := range pfns {
		if d.ram.Discard(uint64(pfn)*PageSize, PageSize) == nil {
			discarded += PageSize
		}
	}
	d.mu.Lock()
	d.counts.InflatedPages += uint64(len(pfns))
	d.counts.DiscardedBytes += discarded
	d.mu.Unlock()
	return nil
}

// deflate: the guest takes pages back; they fault in again on first use.
func (d *Device) deflate(c queue.Chain) error {
	pfns, err := d.pfns(c)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.counts.DeflatedPages += uint64(len(pfns))
	d.mu.Unlock()
	return nil
}

// stat records the guest's statistics (10-byte entries: tag, value).
func (d *Device) stat(c queue.Chain) error {
	n := queue.Len(c.Readable)
	if n > 64*10 || len(c.Writable) > 0 {
		return fmt.Errorf("%w: virtio-balloon statistics of %d bytes", queue.ErrMalformed, n)
	}
	b := make([]byte, n)
	if err := c.ReadAt(d.mem, b, 0); err != nil {
		return err
	}
	stats := Stats{}
	for i := 0; i+10 <= len(b); i += 10 {
		stats[binary.LittleEndian.Uint16(b[i:])] = binary.LittleEndian.Uint64(b[i+2:])
	}
	d.mu.Lock()
	d.stats = stats
	d.mu.Unlock()
	return nil
}

// report gives the host back the free memory the guest reported: each
// buffer of the chain is a free range of guest memory. Linux posts them
// device-writable (the host may change what they hold); either kind is
// taken.
func (d *Device) report(c queue.Chain) error {
	var reported, discarded uint64
	for _, r := range append(append([]queue.Descriptor(nil), c.Readable...), c.Writable...) {
		reported += uint64(r.Len)
		if d.ram.Discard(r.Addr, uint64(r.Len)) == nil {
			discarded += uint64(r.Len)
		}
	}
	d.mu.Lock()
	d.counts.ReportedBytes += reported
	d.counts.DiscardedBytes += discarded
	d.mu.Unlock()
	return nil
}
