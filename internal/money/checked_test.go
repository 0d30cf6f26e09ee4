package money

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestChecked(t *testing.T) {
	cases := []struct {
		name string
		op   func(c *Checked) int64
		want int64 // when it fits
		over bool
	}{
		{"add", func(c *Checked) int64 { return c.Add(2, 3) }, 5, false},
		{"add to the bound", func(c *Checked) int64 { return c.Add(MaxSum-1, 1) }, MaxSum, false},
		{"add past the bound", func(c *Checked) int64 { return c.Add(MaxSum, 1) }, 0, true},
		{"add past int64", func(c *Checked) int64 { return c.Add(math.MaxInt64, 1) }, 0, true},
		{"two 9e18", func(c *Checked) int64 { return c.Add(9e18, 9e18) }, 0, true},
		{"add below the bound", func(c *Checked) int64 { return c.Add(-MaxSum, -1) }, 0, true},
		{"add below int64", func(c *Checked) int64 { return c.Add(math.MinInt64, -1) }, 0, true},
		{"sub", func(c *Checked) int64 { return c.Sub(-5, 3) }, -8, false},
		{"sub to the bound", func(c *Checked) int64 { return c.Sub(-MaxSum+1, 1) }, -MaxSum, false},
		{"sub of min int64", func(c *Checked) int64 { return c.Sub(0, math.MinInt64) }, 0, true},
		{"sub past int64", func(c *Checked) int64 { return c.Sub(math.MaxInt64, -1) }, 0, true},
		{"big int", func(c *Checked) int64 { return c.Int(big.NewInt(-7)) }, -7, false},
		{"big int past the bound", func(c *Checked) int64 { return c.Int(big.NewInt(MaxSum + 1)) }, 0, true},
		{"big int past int64", func(c *Checked) int64 { return c.Int(new(big.Int).Lsh(big.NewInt(1), 63)) }, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Checked
			got := tc.op(&c)
			if err := c.Err(); tc.over != errors.Is(err, ErrOverflow) {
				t.Fatalf("err %v, want overflow %v", err, tc.over)
			}
			if !tc.over && got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
	// The bound leaves room: a difference of two sums and twelve times one
	// fit in int64.
	diff := new(big.Int).Sub(big.NewInt(MaxSum), big.NewInt(-MaxSum))
	arr := new(big.Int).Mul(big.NewInt(MaxSum), big.NewInt(12))
	if !diff.IsInt64() || !arr.IsInt64() {
		t.Fatalf("MaxSum leaves no room: the difference of two sums is %v, twelve times one %v", diff, arr)
	}
}
