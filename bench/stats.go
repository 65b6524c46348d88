package main

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// sample is a set of measurements of one quantity.
type sample []float64

func (s sample) sorted() []float64 {
	c := append([]float64(nil), s...)
	sort.Float64s(c)
	return c
}

func (s sample) median() float64 {
	c := s.sorted()
	if len(c) == 0 {
		return math.NaN()
	}
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// pct is the nearest-rank percentile (p in 0..100).
func (s sample) pct(p float64) float64 {
	c := s.sorted()
	if len(c) == 0 {
		return math.NaN()
	}
	r := int(math.Ceil(p / 100 * float64(len(c))))
	if r < 1 {
		r = 1
	}
	return c[r-1]
}

func (s sample) min() float64 { return s.pct(0) }

func (s sample) mean() float64 {
	if len(s) == 0 {
		return 0
	}
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t / float64(len(s))
}
func (s sample) max() float64 { return s.pct(100) }

func secs(d time.Duration) float64 { return d.Seconds() }
func ms(d time.Duration) float64   { return float64(d) / float64(time.Millisecond) }

// summary formats median (min–max) with a unit and format.
func (s sample) summary(f, unit string) string {
	if len(s) == 0 {
		return "—"
	}
	if len(s) == 1 {
		return fmt.Sprintf(f+" %s", s[0], unit)
	}
	return fmt.Sprintf(f+" %s ("+f+"–"+f+")", s.median(), unit, s.min(), s.max())
}
