// Package devices is the root of the device models. Each device lives in a
// sub-package, sees only its own register offsets on the bus, and never
// imports the kvm package: interrupts and guest memory reach it through
// small interfaces defined where they are used.
package devices
