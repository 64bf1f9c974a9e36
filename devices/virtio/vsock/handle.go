package vsock

import "fmt"

// handle acts on one packet from the guest. The caller holds d.mu.
// Nothing here trusts the packet: a packet for a connection vmm does not
// have, or that breaks the protocol, gets a RST.
func (d *Device) handle(h header, payload []byte) {
	if h.SrcCID != d.cfg.CID || h.DstCID != HostCID || h.Type != typeStream {
		d.malformed++
		if h.Op != opRst {
			d.control = append(d.control, control{h: h.reply(opRst)})
		}
		return
	}
	k := connKey{host: h.DstPort, guest: h.SrcPort}
	c := d.conns[k]
	if c == nil {
		switch h.Op {
		case opRequest:
			d.openFromGuest(k, h)
		case opRst:
		default:
			d.control = append(d.control, control{h: h.reply(opRst)})
		}
		return
	}
	c.peerBufAlloc, c.peerFwdCnt = h.BufAlloc, h.FwdCnt // every packet carries the guest's credit
	switch h.Op {
	case opResponse:
		if c.state != stateConnecting {
			d.drop(c, true)
			return
		}
		c.state = stateOpen
		c.greeting = fmt.Appendf(nil, "OK %d\n", c.key.host)
		c.cond.Broadcast()
		go d.readHost(c)
	case opRW:
		if c.state != stateOpen || c.peerShut&shutdownSend != 0 {
			d.drop(c, true)
			return
		}
		// More than its credit (the fifo holds at most what is unwritten
		// of the credit, so it refuses the same).
		if h.Len > d.cfg.BufSize-(c.rxCnt-c.fwdCnt) || !c.in.Write(payload) {
			d.overruns++
			d.drop(c, true)
			return
		}
		if h.Len > 0 {
			c.rxCnt += h.Len
			c.cond.Broadcast()
		}
	case opCreditUpdate: // the credit above is all it says
	case opCreditRequest:
		d.sendControl(c, opCreditUpdate, 0)
	case opShutdown:
		c.peerShut |= h.Flags & (shutdownRcv | shutdownSend)
		if c.state != stateOpen && c.peerShut != 0 {
			d.drop(c, true)
			return
		}
		c.cond.Broadcast() // the writer shuts the host's side once all is written
	case opRst:
		d.drop(c, false)
	default: // a second REQUEST, an unknown operation
		d.drop(c, true)
	}
}

// openFromGuest starts a guest-initiated connection to the host's
// listener for port k.host. The caller holds d.mu.
func (d *Device) openFromGuest(k connKey, h header) {
	c, err := d.newConn(k, stateDialing, nil)
	if err != nil {
		d.refused++
		d.control = append(d.control, control{h: h.reply(opRst)})
		return
	}
	c.peerBufAlloc, c.peerFwdCnt = h.BufAlloc, h.FwdCnt
	d.guestConnects++
	go d.guestConnect(c)
}
