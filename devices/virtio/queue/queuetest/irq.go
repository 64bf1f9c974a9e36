package queuetest

// IRQ is a device's interrupts (virtio.Interrupts) for tests: each one,
// for a queue or the configuration, leaves a token on the channel unless
// one is already waiting there.
type IRQ chan struct{}

// NewIRQ makes an IRQ that holds one token.
func NewIRQ() IRQ { return make(IRQ, 1) }

// Queue signals the token.
func (c IRQ) Queue(int) error {
	select {
	case c <- struct{}{}:
	default:
	}
	return nil
}

// Config signals the token too.
func (c IRQ) Config() error { return c.Queue(0) }
