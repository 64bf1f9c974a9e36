package queue_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
	"github.com/vmmlab/vmm/memory"
)

func pop(t *testing.T, d *queuetest.Driver) queue.Chain {
	t.Helper()
	c, ok, err := d.Queue.Pop(d.Mem)
	if err != nil || !ok {
		t.Fatalf("Pop: ok %v err %v (%v)", ok, err, d)
	}
	return c
}

func TestDirectChain(t *testing.T) {
	d := queuetest.New(8, 1<<20)
	head, bufs := d.Add([][]byte{[]byte("header"), []byte("data")}, []uint32{512, 1})
	c := pop(t, d)
	if c.Head != head || len(c.Readable) != 2 || len(c.Writable) != 2 || c.Writable[0].Len != 512 {
		t.Fatalf("chain %+v", c)
	}
	got := make([]byte, c.Readable[1].Len)
	if err := d.Mem.Read(c.Readable[1].Addr, got); err != nil || string(got) != "data" {
		t.Fatalf("readable buffer %q %v", got, err)
	}
	if err := d.Mem.Write(c.Writable[0].Addr, []byte("reply")); err != nil {
		t.Fatal(err)
	}
	if err := d.Queue.PushUsed(d.Mem, c.Head, 5); err != nil {
		t.Fatal(err)
	}
	if h, n, ok := d.Used(); !ok || h != head || n != 5 || !bytes.HasPrefix(d.Bytes(bufs[2]), []byte("reply")) {
		t.Fatalf("used %d %d %v", h, n, ok)
	}
	if _, ok, err := d.Queue.Pop(d.Mem); ok || err != nil {
		t.Fatalf("empty queue popped: %v %v", ok, err)
	}
}

func TestIndirectChain(t *testing.T) {
	d := queuetest.New(4, 1<<20)
	head, _ := d.AddIndirect([][]byte{[]byte("a"), []byte("bc")}, []uint32{16})
	c := pop(t, d)
	if c.Head != head || len(c.Readable) != 2 || c.Readable[1].Len != 2 || len(c.Writable) != 1 {
		t.Fatalf("chain %+v", c)
	}
}

func TestWrapAround(t *testing.T) {
	d := queuetest.New(4, 1<<20)
	for i := 0; i < 70000; i++ { // past the 16-bit index wrap
		head, _ := d.Add([][]byte{{byte(i)}}, nil)
		c := pop(t, d)
		if c.Head != head {
			t.Fatalf("round %d: head %d, want %d", i, c.Head, head)
		}
		if err := d.Queue.PushUsed(d.Mem, c.Head, 0); err != nil {
			t.Fatal(err)
		}
		if h, _, ok := d.Used(); !ok || h != head {
			t.Fatalf("round %d: used %d %v", i, h, ok)
		}
	}
}

func TestMalformed(t *testing.T) {
	cases := map[string]func(d *queuetest.Driver){
		"head out of range": func(d *queuetest.Driver) { d.Publish(9) },
		"next out of range": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 0x10000, Len: 1, Flags: queue.DescNext, Next: 8})
			d.Publish(0)
		},
		"loop": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 0x10000, Len: 1, Flags: queue.DescNext, Next: 1})
			d.SetDesc(d.Queue.DescTable, 1, queue.Descriptor{Addr: 0x10000, Len: 1, Flags: queue.DescNext, Next: 0})
			d.Publish(0)
		},
		"readable after writable": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 0x10000, Len: 1, Flags: queue.DescNext | queue.DescWrite, Next: 1})
			d.SetDesc(d.Queue.DescTable, 1, queue.Descriptor{Addr: 0x10000, Len: 1})
			d.Publish(0)
		},
		"indirect with next": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 0x20000, Len: 16, Flags: queue.DescIndirect | queue.DescNext, Next: 1})
			d.Publish(0)
		},
		"indirect odd length": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 0x20000, Len: 17, Flags: queue.DescIndirect})
			d.Publish(0)
		},
		"nested indirect": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 0x20000, Len: 16, Flags: queue.DescIndirect})
			d.SetDesc(0x20000, 0, queue.Descriptor{Addr: 0x30000, Len: 16, Flags: queue.DescIndirect})
			d.Publish(0)
		},
		"indirect loop": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 0x20000, Len: 32, Flags: queue.DescIndirect})
			d.SetDesc(0x20000, 0, queue.Descriptor{Addr: 0x10000, Len: 1, Flags: queue.DescNext, Next: 1})
			d.SetDesc(0x20000, 1, queue.Descriptor{Addr: 0x10000, Len: 1, Flags: queue.DescNext, Next: 0})
			d.Publish(0)
		},
		"indirect table outside memory": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 1 << 40, Len: 16, Flags: queue.DescIndirect})
			d.Publish(0)
		},
		"buffer wrapping past 2^64": func(d *queuetest.Driver) { // defect: the address + offset wrapped
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: ^uint64(0) - 0xfff, Len: 0x2000})
			d.Publish(0)
		},
		"chain over 4 GiB": func(d *queuetest.Driver) {
			d.SetDesc(d.Queue.DescTable, 0, queue.Descriptor{Addr: 0x10000, Len: 0xffffffff, Flags: queue.DescNext, Next: 1})
			d.SetDesc(d.Queue.DescTable, 1, queue.Descriptor{Addr: 0x10000, Len: 0xffffffff})
			d.Publish(0)
		},
		"available index too far ahead": func(d *queuetest.Driver) {
			for i := 0; i < 9; i++ {
				d.Publish(0)
			}
		},
		"rings outside memory": func(d *queuetest.Driver) { d.Queue.AvailRing = 1 << 40 },
	}
	for name, mutate := range cases {
		d := queuetest.New(8, 1<<20)
		mutate(d)
		if _, _, err := d.Queue.Pop(d.Mem); !errors.Is(err, queue.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	d := queuetest.New(8, 1<<20)
	if err := d.Queue.PushUsed(d.Mem, 8, 0); err == nil {
		t.Error("PushUsed of an out-of-range head accepted")
	}
}

func TestCheck(t *testing.T) {
	good := queue.Queue{Size: 256, DescTable: 0x1000, AvailRing: 0x2000, UsedRing: 0x3000}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []queue.Queue{
		{Size: 0}, {Size: 3}, {Size: 65535},
		{Size: 8, DescTable: 8}, {Size: 8, AvailRing: 1}, {Size: 8, UsedRing: 2},
	} {
		if err := q.Check(); !errors.Is(err, queue.ErrMalformed) {
			t.Errorf("%+v accepted", q)
		}
	}
}

func TestInterruptSuppression(t *testing.T) {
	d := queuetest.New(8, 1<<20)
	if need, err := d.Queue.NeedsInterrupt(d.Mem); err != nil || !need {
		t.Fatalf("default: %v %v", need, err)
	}
	d.SetAvailFlags(1) // NO_INTERRUPT
	if need, _ := d.Queue.NeedsInterrupt(d.Mem); need {
		t.Fatal("NO_INTERRUPT ignored")
	}

	e := queuetest.New(8, 1<<20)
	e.Queue.EventIdx = true
	e.SetUsedEvent(1) // interrupt me once the used index passes 1
	push := func() {
		e.Add([][]byte{{1}}, nil)
		c := pop(t, e)
		e.Queue.PushUsed(e.Mem, c.Head, 0)
	}
	push() // used idx 1: event 1 not passed yet... but the first one always signals
	if need, _ := e.Queue.NeedsInterrupt(e.Mem); !need {
		t.Fatal("first interrupt suppressed")
	}
	push() // used idx 2: passes used_event 1
	if need, _ := e.Queue.NeedsInterrupt(e.Mem); !need {
		t.Fatal("interrupt at used_event not raised")
	}
	push() // used idx 3: the driver asked for none until it moves used_event
	if need, _ := e.Queue.NeedsInterrupt(e.Mem); need {
		t.Fatal("interrupt raised before used_event moved")
	}
	if err := e.Queue.SetNotify(e.Mem, true); err != nil {
		t.Fatal(err)
	}
}

// Next publishes avail_event when the queue runs dry (event idx), and
// still returns a buffer that was already waiting.
func TestNextPublishesAvailEvent(t *testing.T) {
	d := queuetest.New(8, 1<<20)
	d.Queue.EventIdx = true
	d.Add([][]byte{{1}}, nil)
	d.Add([][]byte{{2}}, nil)
	for i := 0; i < 2; i++ {
		if _, ok, err := d.Queue.Next(d.Mem); !ok || err != nil {
			t.Fatalf("Next %d: %v %v", i, ok, err)
		}
	}
	if _, ok, err := d.Queue.Next(d.Mem); ok || err != nil {
		t.Fatalf("Next on an empty queue: %v %v", ok, err)
	}
	q := d.Queue
	if got := mustRead(d.Mem, q.UsedRing+4+8*uint64(q.Size), 2); got[0] != 2 || got[1] != 0 {
		t.Fatalf("avail_event %v after two buffers, want 2", got)
	}
}

// Any ring contents: Pop and PushUsed end, with an error or a chain, and
// never panic.
func FuzzPop(f *testing.F) {
	d := queuetest.New(8, 1<<17)
	d.Add([][]byte{[]byte("x")}, []uint32{4})
	d.AddIndirect([][]byte{[]byte("y")}, nil)
	f.Add(append([]byte(nil), mustRead(d.Mem, 0x1000, 0x400)...), uint16(8), false)
	f.Fuzz(func(t *testing.T, rings []byte, size uint16, eventIdx bool) {
		raw := make([]byte, 1<<17)
		copy(raw[0x1000:], rings)
		mem, _ := memory.Wrap(memory.Region{Base: 0, Data: raw})
		q := queue.Queue{Size: size, DescTable: 0x1000, AvailRing: 0x1000 + 16*uint64(size), UsedRing: 0x1800, EventIdx: eventIdx}
		if q.Check() != nil {
			return
		}
		for i := 0; i < 2*int(size)+2; i++ {
			c, ok, err := q.Pop(mem)
			if err != nil || !ok {
				return
			}
			if len(c.Readable)+len(c.Writable) > 2*queue.MaxSize {
				t.Fatalf("chain of %d buffers", len(c.Readable)+len(c.Writable))
			}
			q.PushUsed(mem, c.Head, 0)
			q.NeedsInterrupt(mem)
		}
	})
}

func mustRead(m queue.Memory, addr, n uint64) []byte {
	b := make([]byte, n)
	if err := m.Read(addr, b); err != nil {
		panic(err)
	}
	return b
}
