package rng

import "time"

// bucket is a token bucket of bytes: it refills at rate bytes per second
// up to one second's worth.
type bucket struct {
	rate   uint64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate uint64, now func() time.Time) *bucket {
	return &bucket{rate: rate, tokens: float64(rate), last: now(), now: now}
}

// take grants up to n bytes now; when it grants none, wait is how long
// until one more byte is there.
func (b *bucket) take(n uint64) (granted uint64, wait time.Duration) {
	t := b.now()
	if dt := t.Sub(b.last); dt > 0 {
		b.tokens = min(float64(b.rate), b.tokens+dt.Seconds()*float64(b.rate))
	}
	b.last = t
	granted = min(n, uint64(b.tokens))
	if granted == 0 {
		return 0, max(time.Millisecond, time.Duration((1-b.tokens)/float64(b.rate)*float64(time.Second)))
	}
	b.tokens -= float64(granted)
	return granted, 0
}
