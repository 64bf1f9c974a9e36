package virtiopci

import (
	"encoding/binary"

	"github.com/vmmlab/vmm/devices/virtio"
)

// Read serves a guest read of BAR0 (offset from the BAR's base).
func (t *Transport) Read(offset uint64, data []byte) {
	clear(data)
	switch {
	case offset < offCommon+commonSize:
		putLE(data, t.readCommon(offset)>>(8*(offset%4)))
	case offset == offISR:
		t.mu.Lock()
		data[0] = t.core.TakeISR() // reading ISR acknowledges it
		t.updateINTxLocked()       // best effort: a failed ioctl leaves the line as it was
		t.mu.Unlock()
	case offset >= offDevice && offset < offDevice+deviceCfgSize:
		t.core.Device().ReadConfig(offset-offDevice, data)
	case offset >= offMSIXTable && offset < offMSIXTable+16*uint64(len(t.table)):
		t.mu.Lock()
		e := t.table[(offset-offMSIXTable)/16]
		t.mu.Unlock()
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], e.addr)
		binary.LittleEndian.PutUint32(b[8:], e.data)
		if e.masked {
			b[12] = 1
		}
		copy(data, b[(offset-offMSIXTable)%16:])
	case offset >= offMSIXPBA && offset < offMSIXPBA+8:
		t.mu.Lock()
		var bits uint64
		for i, e := range t.table {
			if e.pending {
				bits |= 1 << i
			}
		}
		t.mu.Unlock()
		putLE(data, bits>>(8*(offset-offMSIXPBA)))
	}
}

// Write serves a guest write of BAR0.
func (t *Transport) Write(offset uint64, data []byte) {
	v := getLE(data)
	switch {
	case offset < offCommon+commonSize:
		t.writeCommon(offset, v, len(data))
	case offset >= offDevice && offset < offDevice+deviceCfgSize:
		t.core.Device().WriteConfig(offset-offDevice, data)
	case offset >= offNotify && offset < offNotify+notifyMult*uint64(t.core.NumQueues()):
		t.core.Notify(int((offset - offNotify) / notifyMult))
	case offset >= offMSIXTable && offset < offMSIXTable+16*uint64(len(t.table)):
		t.mu.Lock()
		e := &t.table[(offset-offMSIXTable)/16]
		switch (offset - offMSIXTable) % 16 {
		case 0:
			if len(data) == 8 {
				e.addr = v
			} else {
				e.addr = e.addr&^0xffffffff | v&0xffffffff
			}
		case 4:
			e.addr = e.addr&0xffffffff | v<<32
		case 8:
			e.data = uint32(v)
		case 12:
			e.masked = v&1 != 0
		}
		t.deliverPendingLocked()
		t.mu.Unlock()
	}
}

func (t *Transport) readCommon(offset uint64) uint64 {
	c := t.core
	switch offset &^ 3 {
	case 0x00:
		return uint64(c.DeviceFeatureSelect())
	case 0x04:
		return uint64(c.DeviceFeatureWord())
	case 0x08:
		return uint64(c.DriverFeatureSelect())
	case 0x0c:
		return uint64(c.DriverFeatureWord())
	case 0x10: // msix_config, num_queues
		t.mu.Lock()
		v := t.configVector
		t.mu.Unlock()
		return uint64(v) | uint64(c.NumQueues())<<16
	case 0x14: // device_status, config_generation, queue_select
		return uint64(c.Status()) | uint64(c.Generation())<<8 | uint64(uint16(c.QueueSelect()))<<16
	case 0x18: // queue_size, queue_msix_vector
		if _, size, _, vector, ok := c.Selected(); ok {
			return uint64(size) | uint64(vector)<<16
		}
		return uint64(noVector) << 16
	case 0x1c: // queue_enable, queue_notify_off
		if _, _, ready, _, ok := c.Selected(); ok {
			en := uint64(0)
			if ready {
				en = 1
			}
			return en | uint64(uint16(c.QueueSelect()))<<16
		}
	case 0x20, 0x24, 0x28, 0x2c, 0x30, 0x34:
		return uint64(c.QueueAddr(int(offset-0x20)/8, int(offset&4)/4))
	}
	return 0
}

func (t *Transport) writeCommon(offset, v uint64, size int) {
	c := t.core
	switch {
	case offset == 0x14 && size == 1:
		c.SetStatus(uint8(v), interrupts{t}) // calls into the device: holding no lock
	case offset == 0x00:
		c.SetDeviceFeatureSelect(uint32(v))
	case offset == 0x08:
		c.SetDriverFeatureSelect(uint32(v))
	case offset == 0x0c:
		c.SetDriverFeatureWord(uint32(v))
	case offset == 0x10:
		t.mu.Lock()
		t.configVector = uint16(v)
		t.mu.Unlock()
	case offset == 0x16:
		c.SelectQueue(uint32(uint16(v)))
	case offset == 0x18:
		c.SetQueueSize(uint16(v))
	case offset == 0x1a:
		c.SetQueueVector(uint16(v))
	case offset == 0x1c:
		c.SetQueueReady(v&1 != 0)
	case offset >= 0x20 && offset < 0x38:
		ring, half := int(offset-0x20)/8, int(offset&4)/4
		c.SetQueueAddr(ring, half, uint32(v))
		if size == 8 && half == 0 {
			c.SetQueueAddr(ring, 1, uint32(v>>32))
		}
	}
}

func putLE(data []byte, v uint64) {
	for i := range data {
		data[i] = byte(v >> (8 * i))
	}
}

func getLE(data []byte) uint64 {
	var v uint64
	for i := len(data) - 1; i >= 0; i-- {
		v = v<<8 | uint64(data[i])
	}
	return v
}

// Doorbells lists the queues' notify addresses with BAR0 at base: each
// queue has its own (notify_off_multiplier 4), written with 2 bytes.
func (t *Transport) Doorbells(base uint64) []virtio.Doorbell {
	d := make([]virtio.Doorbell, t.core.NumQueues())
	for q := range d {
		d[q] = virtio.Doorbell{Addr: base + offNotify + notifyMult*uint64(q), Len: 2, Queue: q}
	}
	return d
}

// Notify passes a notification of queue q (from a doorbell eventfd).
func (t *Transport) Notify(q int) { t.core.Notify(q) }
