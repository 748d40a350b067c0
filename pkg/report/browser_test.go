package report

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/rules"
)

// screenshotFile is the picture of the sample tenant's report in the docs.
const screenshotFile = "../../docs/report.png"

// pageFacts is what the test reads off the rendered page.
type pageFacts struct {
	Title  string `json:"title"`
	Cards  int    `json:"cards"`
	Charts []struct {
		ID    string  `json:"id"`
		Title string  `json:"title"`
		Left  float64 `json:"left"`
		Right float64 `json:"right"`
		Bars  []struct {
			Value int     `json:"value"`
			Width float64 `json:"width"`
			Right float64 `json:"right"`
		} `json:"bars"`
		// TextLeft and TextRight are the extremes of the chart's labels.
		TextLeft  float64 `json:"textLeft"`
		TextRight float64 `json:"textRight"`
	} `json:"charts"`
	Details int `json:"details"`
	Height  int `json:"height"`
}

const readPage = `JSON.stringify({
  title: document.title,
  cards: document.querySelectorAll('.card').length,
  details: document.querySelectorAll('details').length,
  height: Math.ceil(document.documentElement.scrollHeight),
  charts: Array.from(document.querySelectorAll('svg.chart')).map(svg => {
    const box = svg.getBoundingClientRect();
    const texts = Array.from(svg.querySelectorAll('text')).map(t => t.getBoundingClientRect());
    return {
      id: svg.id,
      title: (svg.querySelector(':scope > title') || {}).textContent || '',
      left: box.left, right: box.right,
      textLeft: Math.min(...texts.map(r => r.left)),
      textRight: Math.max(...texts.map(r => r.right)),
      bars: Array.from(svg.querySelectorAll('rect.bar')).map(r => {
        const b = r.getBoundingClientRect();
        return {value: Number(r.dataset.value), width: b.width, right: b.right};
      }),
    };
  }),
})`

// TestHTMLInChromium opens the sample tenant's report in headless Chromium:
// it must load without a script error, a console error, a blocked resource or
// any request beyond the file itself; every chart must have its bars, drawn
// to scale and inside the chart; and the screenshot for the docs is taken
// (written to docs/report.png with -update, to the test's artifact directory
// always).
func TestHTMLInChromium(t *testing.T) {
	exe := chromiumPath(t)
	r := Build(loadSample(t), rules.New(nil))
	file := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: file}).String()

	b := startBrowser(t, exe)
	const width = 1100
	s := b.openPage(width, 900)
	b.call(s, "Page.navigate", map[string]any{"url": pageURL}, nil)
	b.waitEvent(s, "Page.loadEventFired", 30*time.Second)

	var eval struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	b.call(s, "Runtime.evaluate", map[string]any{"expression": readPage, "returnByValue": true}, &eval)
	if eval.ExceptionDetails != nil {
		t.Fatalf("reading the page: %s", eval.ExceptionDetails)
	}
	var got pageFacts
	if err := json.Unmarshal([]byte(eval.Result.Value), &got); err != nil {
		t.Fatalf("%v: %s", err, eval.Result.Value)
	}

	if got.Title == "" || got.Cards < 5 {
		t.Errorf("title %q, %d headline cards", got.Title, got.Cards)
	}
	want := expectedBars(r)
	if len(got.Charts) != len(want) {
		t.Errorf("%d charts rendered, want %d", len(got.Charts), len(want))
	}
	for _, c := range got.Charts {
		if len(c.Bars) != want[c.ID] {
			t.Errorf("chart %s: %d bars, want %d", c.ID, len(c.Bars), want[c.ID])
		}
		if c.Title == "" {
			t.Errorf("chart %s has no title", c.ID)
		}
		if c.TextLeft < c.Left-0.5 || c.TextRight > c.Right+0.5 {
			t.Errorf("chart %s: labels run from %.0f to %.0f, outside the chart (%.0f to %.0f)", c.ID, c.TextLeft, c.TextRight, c.Left, c.Right)
		}
		for i, bar := range c.Bars {
			if (bar.Value > 0) != (bar.Width > 0) {
				t.Errorf("chart %s bar %d: value %d drawn %.1fpx wide", c.ID, i, bar.Value, bar.Width)
			}
			if bar.Right > c.Right {
				t.Errorf("chart %s bar %d ends outside the chart", c.ID, i)
			}
			for _, other := range c.Bars {
				if other.Value > bar.Value && other.Width < bar.Width {
					t.Errorf("chart %s: %d is drawn shorter than %d", c.ID, other.Value, bar.Value)
				}
			}
		}
	}
	if got.Details == 0 {
		t.Errorf("no user lists")
	}

	var shot struct {
		Data string `json:"data"`
	}
	b.call(s, "Page.captureScreenshot", map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": width, "height": got.Height, "scale": 1},
	}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "report.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if golden.Updating() {
		if err := os.WriteFile(screenshotFile, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Everything the page did is in by now; give late log entries a moment.
	time.Sleep(200 * time.Millisecond)
	for _, p := range b.problems(s, pageURL) {
		t.Errorf("page problem: %s", p)
	}
}
