package money

import (
	"errors"
	"math"
	"math/big"
)

// MaxSum bounds every sum the engine computes (an MRR, a movement, a
// cash-flow figure): ±2^59, about ±5.8×10^17 cents, or 57,600 amounts at
// MaxAmount. Keeping sums this far inside int64 means the difference of two
// of them, or twelve times one (ARR), cannot wrap either.
const MaxSum = math.MaxInt64 / 16

// ErrOverflow is a sum beyond ±MaxSum: the inputs are refused, never
// wrapped into a wrong (often negative) number.
var ErrOverflow = errors.New("amounts add up beyond ±2^59 minor units")

// Checked does int64 arithmetic on amounts and remembers an overflow, so
// that a loop of sums can be checked once at its end. After an overflow the
// results are meaningless and Err reports it.
type Checked struct{ overflow bool }

func (c *Checked) fit(v int64, wrapped bool) int64 {
	if wrapped || v > MaxSum || v < -MaxSum {
		c.overflow = true
	}
	return v
}

// Add returns a+b.
func (c *Checked) Add(a, b int64) int64 {
	s := a + b
	return c.fit(s, (b > 0 && s < a) || (b < 0 && s > a))
}

// Sub returns a-b.
func (c *Checked) Sub(a, b int64) int64 {
	s := a - b
	return c.fit(s, (b < 0 && s < a) || (b > 0 && s > a))
}

// Int returns r as an int64.
func (c *Checked) Int(r *big.Int) int64 {
	if !r.IsInt64() {
		c.overflow = true
		return 0
	}
	return c.fit(r.Int64(), false)
}

// Err is ErrOverflow once any operation overflowed.
func (c *Checked) Err() error {
	if c.overflow {
		return ErrOverflow
	}
	return nil
}
