package virtio

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// fakeDevice records the queues it was activated with, and whether an
// activation and a reset ever ran at the same time.
type fakeDevice struct {
	mu      sync.Mutex
	queues  []*queue.Queue
	busy    atomic.Int32
	overlap atomic.Bool
}

func (f *fakeDevice) ID() uint32                 { return 99 }
func (f *fakeDevice) Features() uint64           { return FeatureVersion1 }
func (f *fakeDevice) QueueSizes() []uint16       { return []uint16{16} }
func (f *fakeDevice) ReadConfig(uint64, []byte)  {}
func (f *fakeDevice) WriteConfig(uint64, []byte) {}
func (f *fakeDevice) Notify(int)                 {}
func (f *fakeDevice) Failed() error              { return nil }
func (f *fakeDevice) Reset()                     { f.enter(); f.leave() }
func (f *fakeDevice) enter() {
	f.overlap.CompareAndSwap(false, f.busy.Add(1) > 1)
	time.Sleep(50 * time.Microsecond)
}
func (f *fakeDevice) leave()                      { f.busy.Add(-1) }
func (f *fakeDevice) live() []*queue.Queue        { f.mu.Lock(); defer f.mu.Unlock(); return f.queues }
func (f *fakeDevice) setQueues(qs []*queue.Queue) { f.mu.Lock(); f.queues = qs; f.mu.Unlock() }
func (f *fakeDevice) Activate(_ queue.Memory, _ uint64, qs []*queue.Queue, _ Interrupts) error {
	f.enter()
	f.setQueues(qs)
	f.leave()
	return nil
}

type noInterrupts struct{}

func (noInterrupts) Queue(int) error { return nil }
func (noInterrupts) Config() error   { return nil }

// bringUp does what a driver does before DRIVER_OK: queue 0 of 16
// entries at fixed addresses, VERSION_1, FEATURES_OK.
func bringUp(c *Core) {
	c.SelectQueue(0)
	c.SetQueueSize(16)
	c.SetQueueAddr(RingDesc, 0, 0x1000)
	c.SetQueueAddr(RingAvail, 0, 0x2000)
	c.SetQueueAddr(RingUsed, 0, 0x3000)
	c.SetQueueReady(true)
	c.SetDriverFeatureSelect(1)
	c.SetDriverFeatureWord(1) // VERSION_1
	c.SetStatus(StatusAcknowledge|StatusDriver|StatusFeaturesOK, noInterrupts{})
}

// Defect: after DRIVER_OK a guest wrote queue_enable=0, then queue_size
// and ring addresses, while the device worked on the same queue (an
// integer divide by zero in the used-ring push took vmm down). Those
// writes are ignored now, and the device works on its own copy.
func TestLiveQueueConfigurationIsFixed(t *testing.T) {
	dev := &fakeDevice{}
	c := NewCore(dev, nil, nil)
	bringUp(c)
	c.SetStatus(StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK, noInterrupts{})
	qs := dev.live()
	if len(qs) != 1 {
		t.Fatalf("device activated with %d queues", len(qs))
	}
	c.SetQueueReady(false)
	c.SetQueueSize(0)
	c.SetQueueSize(8)
	c.SetQueueAddr(RingUsed, 0, 0)
	c.SetQueueAddr(RingDesc, 1, 0xdead)
	_, size, ready, _, _ := c.Selected()
	if q := qs[0]; q.Size != 16 || q.UsedRing != 0x3000 || q.DescTable != 0x1000 {
		t.Errorf("the live device's queue changed: %+v", *q)
	}
	if !ready || size != 16 {
		t.Errorf("the transport's view changed while live: ready %v size %d", ready, size)
	}
	c.SetStatus(0, noInterrupts{}) // after a reset the driver may set it up again
	c.SetQueueSize(8)
	_, got, _, _, _ := c.Selected()
	if got != 8 {
		t.Errorf("after reset the queue size is %d, want 8", got)
	}
}

// Defect: status writes from two vCPUs interleaved so that an activation
// and a reset ran at the same time. They are serialised now.
func TestStatusChangesAreSerialised(t *testing.T) {
	dev := &fakeDevice{}
	c := NewCore(dev, nil, nil)
	var wg sync.WaitGroup
	for vcpu := 0; vcpu < 2; vcpu++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if vcpu == 0 {
					bringUp(c)
					c.SetStatus(StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK, noInterrupts{})
				} else {
					c.SetStatus(0, noInterrupts{})
				}
			}
		}()
	}
	wg.Wait()
	if dev.overlap.Load() {
		t.Error("an activation and a reset of the device ran at the same time")
	}
}

type refusingDevice struct{ fakeDevice }

func (*refusingDevice) Activate(queue.Memory, uint64, []*queue.Queue, Interrupts) error {
	return errors.New("no backend")
}

type configCounter struct{ n atomic.Int32 }

func (c *configCounter) Queue(int) error { return nil }
func (c *configCounter) Config() error   { c.n.Add(1); return nil }

// Defect: an activation error was discarded. The device now gives up
// visibly: NEEDS_RESET, a configuration interrupt, and the reason for vmm
// to report, kept across the driver's reset.
func TestActivationFailureIsReported(t *testing.T) {
	c := NewCore(&refusingDevice{}, nil, nil)
	bringUp(c)
	irq := &configCounter{}
	c.SetStatus(StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK, irq)
	status := c.Status()
	if status&StatusNeedsReset == 0 || irq.n.Load() != 1 {
		t.Errorf("status %#x, %d config interrupts; want NEEDS_RESET and one", status, irq.n.Load())
	}
	if err := c.Failure(); err == nil || !strings.Contains(err.Error(), "no backend") {
		t.Errorf("Failure() = %v", err)
	}
	c.SetStatus(0, irq)
	status = c.Status()
	if status != 0 || c.Failure() == nil {
		t.Errorf("after reset: status %#x, failure %v (want 0 and still reported)", status, c.Failure())
	}
}
