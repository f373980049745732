package templates

import (
	"strconv"
	"time"

	"github.com/hearth-social/hearth/storage"
)

// chartHours is how many hours the delivery chart covers, the current one
// last.
const chartHours = 24

// The chart's geometry, in SVG user units; the SVG scales to its box.
const (
	chartLeft   = 44
	chartTop    = 12
	chartPlotH  = 160
	chartBarW   = 24
	chartGap    = 4
	chartBottom = 28
)

// chart is the delivery chart, drawn on the server as SVG: stacked bars of
// delivered and failed attempts per hour.
type chart struct {
	Width, Height   int
	Left, Top, Base int
	Right           int
	Bars            []chartBar
	Ticks           []chartTick
	Delivered       int
	Failed          int
}

type chartBar struct {
	Hour       time.Time
	Label      string // every few hours, under the bar
	X, W       int
	Delivered  int
	Failed     int
	DeliveredY int
	DeliveredH int
	FailedY    int
	FailedH    int
}

type chartTick struct {
	Y     int
	Label string
}

// deliveryChart lays out the counts of the chartHours hours up to now.
func deliveryChart(counts []storage.HourCount, now time.Time) chart {
	byHour := map[int64]storage.HourCount{}
	for _, c := range counts {
		byHour[c.Hour.Unix()] = c
	}
	first := now.UTC().Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour)
	c := chart{Left: chartLeft, Top: chartTop, Base: chartTop + chartPlotH}
	c.Right = chartLeft + chartHours*(chartBarW+chartGap)
	c.Width, c.Height = c.Right+chartGap, c.Base+chartBottom
	peak := 0
	for i := range chartHours {
		hour := first.Add(time.Duration(i) * time.Hour)
		n := byHour[hour.Unix()]
		c.Bars = append(c.Bars, chartBar{Hour: hour, Delivered: n.Delivered, Failed: n.Failed,
			X: chartLeft + chartGap + i*(chartBarW+chartGap), W: chartBarW})
		c.Delivered += n.Delivered
		c.Failed += n.Failed
		peak = max(peak, n.Delivered+n.Failed)
	}
	scale := niceCeiling(peak)
	height := func(n int) int { return n * chartPlotH / scale }
	for i := range c.Bars {
		b := &c.Bars[i]
		b.DeliveredH = height(b.Delivered)
		b.FailedH = height(b.Delivered+b.Failed) - b.DeliveredH
		b.DeliveredY = c.Base - b.DeliveredH
		b.FailedY = b.DeliveredY - b.FailedH
		if b.Hour.Hour()%6 == 0 {
			b.Label = b.Hour.Format("15:00")
		}
	}
	for _, n := range []int{0, scale / 2, scale} {
		c.Ticks = append(c.Ticks, chartTick{Y: c.Base - height(n), Label: strconv.Itoa(n)})
	}
	return c
}

// niceCeiling is the smallest of 2, 4, 10, 20, 40, 100… at or above n:
// an axis whose middle tick is a round number too.
func niceCeiling(n int) int {
	for step := 1; ; step *= 10 {
		for _, m := range []int{2, 4, 10} {
			if m*step >= n {
				return m * step
			}
		}
	}
}
