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
		t.mu.Lock()
		v := t.readCommonLocked(offset)
		t.mu.Unlock()
		putLE(data, v>>(8*(offset%4)))
	case offset == offISR:
		t.mu.Lock()
		data[0], t.isr = t.isr, 0 // reading ISR acknowledges it
		t.mu.Unlock()
	case offset >= offDevice && offset < offDevice+deviceCfgSize:
		t.dev.ReadConfig(offset-offDevice, data)
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
		t.dev.WriteConfig(offset-offDevice, data)
	case offset >= offNotify && offset < offNotify+notifyMult*uint64(len(t.queues)):
		t.mu.Lock()
		active := t.active
		t.mu.Unlock()
		if active {
			t.dev.Notify(int((offset - offNotify) / notifyMult))
		}
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

func (t *Transport) readCommonLocked(offset uint64) uint64 {
	q := t.selected()
	switch offset &^ 3 {
	case 0x00:
		return uint64(t.devFeatSel)
	case 0x04:
		if t.devFeatSel < 2 {
			return (t.dev.Features() >> (32 * t.devFeatSel)) & 0xffffffff
		}
	case 0x08:
		return uint64(t.drvFeatSel)
	case 0x0c:
		if t.drvFeatSel < 2 {
			return (t.drvFeatures >> (32 * t.drvFeatSel)) & 0xffffffff
		}
	case 0x10: // msix_config, num_queues
		return uint64(t.configVector) | uint64(len(t.queues))<<16
	case 0x14: // device_status, config_generation, queue_select
		return uint64(t.status) | uint64(t.generation)<<8 | uint64(t.queueSel)<<16
	case 0x18: // queue_size, queue_msix_vector
		if q != nil {
			return uint64(q.q.Size) | uint64(q.vector)<<16
		}
		return uint64(noVector) << 16
	case 0x1c: // queue_enable, queue_notify_off
		if q != nil {
			en := uint64(0)
			if q.enable {
				en = 1
			}
			return en | uint64(t.queueSel)<<16
		}
	case 0x20, 0x24, 0x28, 0x2c, 0x30, 0x34:
		if q != nil {
			a := [3]uint64{q.q.DescTable, q.q.AvailRing, q.q.UsedRing}[(offset-0x20)/8]
			return a >> (32 * ((offset & 4) / 4))
		}
	}
	return 0
}

func (t *Transport) selected() *queueState {
	if int(t.queueSel) < len(t.queues) {
		return &t.queues[t.queueSel]
	}
	return nil
}

func (t *Transport) writeCommon(offset, v uint64, size int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.selected()
	switch {
	case offset == 0x00:
		t.devFeatSel = uint32(v)
	case offset == 0x08:
		t.drvFeatSel = uint32(v)
	case offset == 0x0c:
		if t.drvFeatSel < 2 && t.status&virtio.StatusFeaturesOK == 0 {
			sh := 32 * uint64(t.drvFeatSel)
			t.drvFeatures = t.drvFeatures&^(0xffffffff<<sh) | (v&0xffffffff)<<sh
		}
	case offset == 0x10:
		t.configVector = uint16(v)
	case offset == 0x14 && size == 1:
		t.mu.Unlock()
		t.setStatus(uint8(v)) // calls into the device: not under t.mu
		t.mu.Lock()
	case offset == 0x16:
		t.queueSel = uint16(v)
	case offset == 0x18 && q != nil && !q.enable:
		if n := uint16(v); n <= q.max {
			q.q.Size = n
		}
	case offset == 0x1a && q != nil:
		q.vector = uint16(v)
	case offset == 0x1c && q != nil:
		q.enable = v&1 != 0
	case offset >= 0x20 && offset < 0x38 && q != nil && !q.enable:
		ptr := [3]*uint64{&q.q.DescTable, &q.q.AvailRing, &q.q.UsedRing}[(offset-0x20)/8]
		if size == 8 {
			*ptr = v
		} else {
			sh := 32 * ((offset & 4) / 4)
			*ptr = *ptr&^(0xffffffff<<sh) | (v&0xffffffff)<<sh
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
