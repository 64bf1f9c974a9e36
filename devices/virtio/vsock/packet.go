package vsock

import (
	"encoding/binary"
	"fmt"
)

// hdrSize is the size of struct virtio_vsock_hdr: every packet on the
// rx and tx queues starts with it, the payload follows.
const hdrSize = 44

// maxPayload bounds one packet's payload, as Linux does
// (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE); a larger one from the guest is
// malformed.
const maxPayload = 64 << 10

// Packet types and operations (virtio spec 5.10.6).
const (
	typeStream = 1

	opRequest       = 1
	opResponse      = 2
	opRst           = 3
	opShutdown      = 4
	opRW            = 5
	opCreditUpdate  = 6
	opCreditRequest = 7

	shutdownRcv  = 1 // the sender will receive no more
	shutdownSend = 2 // the sender will send no more
)

// HostCID is the host's context ID: the guest reaches vmm's host side at
// CID 2, port P.
const HostCID = 2

// header is struct virtio_vsock_hdr (all fields little-endian).
type header struct {
	SrcCID, DstCID   uint64
	SrcPort, DstPort uint32
	Len              uint32
	Type, Op         uint16
	Flags            uint32
	BufAlloc, FwdCnt uint32
}

func (h header) encode() [hdrSize]byte {
	var b [hdrSize]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], h.SrcCID)
	le.PutUint64(b[8:], h.DstCID)
	le.PutUint32(b[16:], h.SrcPort)
	le.PutUint32(b[20:], h.DstPort)
	le.PutUint32(b[24:], h.Len)
	le.PutUint16(b[28:], h.Type)
	le.PutUint16(b[30:], h.Op)
	le.PutUint32(b[32:], h.Flags)
	le.PutUint32(b[36:], h.BufAlloc)
	le.PutUint32(b[40:], h.FwdCnt)
	return b
}

func decodeHeader(b [hdrSize]byte) header {
	le := binary.LittleEndian
	return header{
		SrcCID: le.Uint64(b[0:]), DstCID: le.Uint64(b[8:]),
		SrcPort: le.Uint32(b[16:]), DstPort: le.Uint32(b[20:]), Len: le.Uint32(b[24:]),
		Type: le.Uint16(b[28:]), Op: le.Uint16(b[30:]), Flags: le.Uint32(b[32:]),
		BufAlloc: le.Uint32(b[36:]), FwdCnt: le.Uint32(b[40:]),
	}
}

// reply is a packet from the host side back to the sender of h, with no
// payload.
func (h header) reply(op uint16) header {
	return header{SrcCID: h.DstCID, DstCID: h.SrcCID, SrcPort: h.DstPort, DstPort: h.SrcPort, Type: typeStream, Op: op}
}

func (h header) String() string {
	return fmt.Sprintf("%d:%d -> %d:%d op %d len %d", h.SrcCID, h.SrcPort, h.DstCID, h.DstPort, h.Op, h.Len)
}
