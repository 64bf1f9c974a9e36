package virtio

import (
	"encoding/json"
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// A live device's state survives a snapshot: a fresh transport restored
// from it activates its device with the same settings and ring positions;
// a state that does not fit the device is refused.
func TestCoreStateRoundTrip(t *testing.T) {
	dev := &fakeDevice{}
	c := NewCore(dev, nil, nil)
	bringUp(c)
	c.SetStatus(StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK, noInterrupts{})
	dev.live()[0].SetPosition(queue.Position{NextAvail: 7, NextUsed: 5, SignalledUsed: 4, Signalled: true})
	c.Raise(false)
	c.Quiesce()
	s := c.State()
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s) // snapshots keep it as JSON
	if err != nil {
		t.Fatal(err)
	}
	var back CoreState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	dev2 := &fakeDevice{}
	c2 := NewCore(dev2, nil, nil)
	if err := c2.Restore(back, noInterrupts{}); err != nil {
		t.Fatal(err)
	}
	qs := dev2.live()
	if len(qs) != 1 || qs[0].DescTable != 0x1000 || qs[0].UsedRing != 0x3000 || qs[0].Position().NextAvail != 7 || qs[0].Position().NextUsed != 5 {
		t.Fatalf("restored device got queues %+v", qs)
	}
	if c2.Status()&StatusDriverOK == 0 || c2.ISR() != 1 || c2.Generation() != c.Generation() {
		t.Fatalf("restored status %#x isr %d generation %d", c2.Status(), c2.ISR(), c2.Generation())
	}
	bad := back
	bad.Queues = append(bad.Queues, bad.Queues[0])
	if err := NewCore(&fakeDevice{}, nil, nil).Restore(bad, noInterrupts{}); err == nil {
		t.Error("a state with a queue too many was restored")
	}
	bad = back
	bad.DrvFeatures |= 1 << 40
	if err := NewCore(&fakeDevice{}, nil, nil).Restore(bad, noInterrupts{}); err == nil {
		t.Error("a state with features the device does not offer was restored")
	}
	bad = back
	bad.Queues = []QueueState{{Size: 16, Ready: true, Desc: 3}}
	if err := NewCore(&fakeDevice{}, nil, nil).Restore(bad, noInterrupts{}); err == nil {
		t.Error("a live state with a misaligned ring was restored")
	}
}
