package guestinit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// configureNetwork gives ifname its address and brings it (and lo) up,
// and routes everything through gw when it is valid: with ioctls and
// one netlink request, so that it works in an image with no ip command.
func configureNetwork(ifname string, addr netip.Prefix, gw netip.Addr) error {
	if !addr.Addr().Is4() || gw.IsValid() && !gw.Is4() {
		return fmt.Errorf("network: %v via %v: only IPv4", addr, gw)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	defer unix.Close(fd)
	linkUp(fd, "lo") // best effort: only local services need it
	mask := netip.AddrFrom4([4]byte(maskBytes(addr.Bits())))
	steps := []struct {
		what string
		err  func() error
	}{
		{"address", func() error { return ifAddr(fd, ifname, unix.SIOCSIFADDR, addr.Addr()) }},
		{"netmask", func() error { return ifAddr(fd, ifname, unix.SIOCSIFNETMASK, mask) }},
		{"up", func() error { return linkUp(fd, ifname) }},
	}
	for _, s := range steps {
		if err := s.err(); err != nil {
			return fmt.Errorf("network: %s %s: %w", ifname, s.what, err)
		}
	}
	if gw.IsValid() {
		if err := addDefaultRoute(gw); err != nil {
			return fmt.Errorf("network: default route via %v: %w", gw, err)
		}
	}
	return nil
}

func maskBytes(bits int) []byte {
	m := uint32(0xffffffff) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return binary.BigEndian.AppendUint32(nil, m)
}

// ifAddr sets one of ifname's IPv4 addresses (SIOCSIFADDR, SIOCSIFNETMASK).
func ifAddr(fd int, ifname string, req uint, a netip.Addr) error {
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return err
	}
	b := a.As4()
	if err := ifr.SetInet4Addr(b[:]); err != nil {
		return err
	}
	return unix.IoctlIfreq(fd, req, ifr)
}

// linkUp sets IFF_UP on ifname.
func linkUp(fd int, ifname string) error {
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// addDefaultRoute asks the kernel over netlink (RTM_NEWROUTE) for a
// default route through gw, and reads its answer.
func addDefaultRoute(gw netip.Addr) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, routeRequest(gw, 1), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	return netlinkAck(buf[:n])
}

// routeRequest is an RTM_NEWROUTE message for a default IPv4 route via gw.
func routeRequest(gw netip.Addr, seq uint32) []byte {
	var body bytes.Buffer
	binary.Write(&body, binary.NativeEndian, unix.RtMsg{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN,
		Protocol: unix.RTPROT_BOOT, Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST})
	binary.Write(&body, binary.NativeEndian, unix.RtAttr{Len: unix.SizeofRtAttr + 4, Type: unix.RTA_GATEWAY})
	a := gw.As4()
	body.Write(a[:])
	var msg bytes.Buffer
	binary.Write(&msg, binary.NativeEndian, unix.NlMsghdr{Len: uint32(unix.SizeofNlMsghdr + body.Len()), Type: unix.RTM_NEWROUTE,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK | unix.NLM_F_CREATE | unix.NLM_F_EXCL, Seq: seq})
	msg.Write(body.Bytes())
	return msg.Bytes()
}

// netlinkAck reads the kernel's answer to a request: an NLMSG_ERROR
// whose error is 0 for success or a negative errno.
func netlinkAck(b []byte) error {
	var h unix.NlMsghdr
	if len(b) < unix.SizeofNlMsghdr+4 {
		return fmt.Errorf("netlink: a %d-byte answer", len(b))
	}
	binary.Read(bytes.NewReader(b), binary.NativeEndian, &h)
	if h.Type != unix.NLMSG_ERROR {
		return fmt.Errorf("netlink: answer of type %d", h.Type)
	}
	if e := int32(binary.NativeEndian.Uint32(b[unix.SizeofNlMsghdr:])); e != 0 {
		return syscall.Errno(-e)
	}
	return nil
}
