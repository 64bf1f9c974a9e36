package snapshot

import (
	"fmt"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/transport/virtiopci"
)

// The virtio transports in the format: a device is named by its kind and
// its index among the devices of that kind, never by a display name
// (which holds a disk's path, and a clone's disk may be elsewhere).

type wireVirtio struct {
	Kind  string   `json:"kind"`
	Index int      `json:"index"`
	Core  wireCore `json:"core"`
	PCI   *wirePCI `json:"pci"` // null for virtio-mmio
}

type wireCore struct {
	DevFeatSel  uint32      `json:"device_feature_select"`
	DrvFeatSel  uint32      `json:"driver_feature_select"`
	DrvFeatures uint64      `json:"driver_features"`
	Status      uint8       `json:"status"`
	Generation  uint8       `json:"config_generation"`
	QueueSel    uint32      `json:"queue_select"`
	ISR         uint8       `json:"isr"`
	Active      bool        `json:"active"`
	Queues      []wireQueue `json:"queues"`
}

type wireQueue struct {
	Size          uint16 `json:"size"`
	Desc          uint64 `json:"desc"`
	Avail         uint64 `json:"avail"`
	Used          uint64 `json:"used"`
	Ready         bool   `json:"ready"`
	Vector        uint16 `json:"msix_vector"`
	NextAvail     uint16 `json:"next_avail"`
	NextUsed      uint16 `json:"next_used"`
	SignalledUsed uint16 `json:"signalled_used"`
	Signalled     bool   `json:"signalled"`
	// DevicePositions: the positions are the device's (it was live).
	DevicePositions bool `json:"device_positions"`
}

type wirePCI struct {
	Config       []byte     `json:"config"` // the 256-byte configuration space
	ConfigVector uint16     `json:"config_msix_vector"`
	MSIX         []wireMSIX `json:"msix"`
}

type wireMSIX struct {
	Addr    uint64 `json:"addr"`
	Data    uint32 `json:"data"`
	Masked  bool   `json:"masked"`
	Pending bool   `json:"pending"`
}

func virtioToWire(v VirtioTransport) wireVirtio {
	c := v.Core
	w := wireVirtio{Kind: v.Device.Kind, Index: v.Device.Index, Core: wireCore{DevFeatSel: c.DevFeatSel, DrvFeatSel: c.DrvFeatSel,
		DrvFeatures: c.DrvFeatures, Status: c.Status, Generation: c.Generation, QueueSel: c.QueueSel, ISR: c.ISR, Active: c.Active,
		Queues: []wireQueue{}}}
	for _, q := range c.Queues {
		w.Core.Queues = append(w.Core.Queues, wireQueue{Size: q.Size, Desc: q.Desc, Avail: q.Avail, Used: q.Used, Ready: q.Ready,
			Vector: q.Vector, NextAvail: q.Position.NextAvail, NextUsed: q.Position.NextUsed, SignalledUsed: q.Position.SignalledUsed,
			Signalled: q.Position.Signalled, DevicePositions: q.DeviceHasPositions})
	}
	if p := v.PCI; p != nil {
		w.PCI = &wirePCI{Config: p.Config[:], ConfigVector: p.ConfigVector, MSIX: []wireMSIX{}}
		for _, e := range p.Table {
			w.PCI.MSIX = append(w.PCI.MSIX, wireMSIX(e))
		}
	}
	return w
}

func (w wireVirtio) runtime() (VirtioTransport, error) {
	c := w.Core
	v := VirtioTransport{Device: Device{w.Kind, w.Index}, Core: virtio.CoreState{DevFeatSel: c.DevFeatSel, DrvFeatSel: c.DrvFeatSel,
		DrvFeatures: c.DrvFeatures, Status: c.Status, Generation: c.Generation, QueueSel: c.QueueSel, ISR: c.ISR, Active: c.Active}}
	for _, q := range c.Queues {
		v.Core.Queues = append(v.Core.Queues, virtio.QueueState{Size: q.Size, Desc: q.Desc, Avail: q.Avail, Used: q.Used,
			Ready: q.Ready, Vector: q.Vector, DeviceHasPositions: q.DevicePositions,
			Position: queue.Position{NextAvail: q.NextAvail, NextUsed: q.NextUsed, SignalledUsed: q.SignalledUsed, Signalled: q.Signalled}})
	}
	if w.PCI != nil {
		p := &virtiopci.State{ConfigVector: w.PCI.ConfigVector}
		if err := fromBytes(p.Config[:], w.PCI.Config, "pci config"); err != nil {
			return v, fmt.Errorf("%s: %w", v.Device, err)
		}
		for _, e := range w.PCI.MSIX {
			p.Table = append(p.Table, virtiopci.MSIXEntry(e))
		}
		v.PCI = p
	}
	return v, nil
}
