// Package boot owns the Linux x86-64 boot protocol as pure functions: it
// parses and validates bzImage setup headers and lays out the zero page,
// e820 map, command line, GDT, identity page tables and entry registers
// into byte slices and register values, without touching KVM.
package boot
